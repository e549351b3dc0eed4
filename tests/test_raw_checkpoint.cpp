// The libtorch-free checkpoint layer and the writer's file-to-file copy.

#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "hfjit/io/file.h"
#include "hfjit/io/raw_checkpoint.h"
#include "hfjit/io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace hfjit;
using hfjit::test::fixture;

namespace {

// Every tensor of a checkpoint as TensorBytes, with or without its file source.
std::vector<TensorBytes> bytes_of(const RawCheckpoint& c, bool with_source) {
  std::vector<TensorBytes> out;
  for (const auto& [name, t] : c.tensors()) {
    REQUIRE(t.is_contiguous());
    TensorBytes b{name, t.dtype, t.shape, t.data(), t.nbytes()};
    if (with_source) {
      b.source = t.file.get();
      b.source_offset =
          t.storage_file_offset + static_cast<uint64_t>(t.offset) * dtype_size(t.dtype);
    }
    out.push_back(b);
  }
  return out;
}

}  // namespace

TEST_CASE("raw checkpoint: safetensors, .bin and shards hold the same bytes", "[checkpoint]") {
  RawCheckpoint st = RawCheckpoint::load(fixture("models/bert-mlm"));
  REQUIRE(st.tensors().size() > 20);
  for (const char* other :
       {"models/bert-mlm-bin", "models/bert-mlm-sharded", "models/bert-mlm-sharded-bin"}) {
    RawCheckpoint o = RawCheckpoint::load(fixture(other));
    CHECK(o.tensors().size() >= st.tensors().size());  // a .bin also stores the tied decoder
    for (const auto& [name, t] : st.tensors()) {
      INFO(other << ": " << name);
      REQUIRE(o.contains(name));
      CHECK(equal_bytes(o.at(name), t));
      CHECK(contiguous_bytes(o.at(name)) == contiguous_bytes(t));
    }
  }
  CHECK(st.total_bytes() > 100000);
}

TEST_CASE("raw checkpoint: a .bin's shared storage is one storage", "[checkpoint]") {
  RawCheckpoint bin = RawCheckpoint::load(fixture("models/gpt2-lm-bin"));
  const RawTensor& wte = bin.at("transformer.wte.weight");
  const RawTensor& head = bin.at("lm_head.weight");
  CHECK(wte.same_view(head));
  CHECK(wte.storage == head.storage);
  CHECK_FALSE(wte.same_view(bin.at("transformer.wpe.weight")));
}

TEST_CASE("safetensors: tensors with a file source are copied file to file, same bytes",
          "[safetensors]") {
  hfjit::test::TempFolder tmp;
  for (const char* model : {"models/bert-mlm", "models/gpt2-lm-bin"}) {
    INFO(model);
    RawCheckpoint c = RawCheckpoint::load(fixture(model));
    write_safetensors(tmp / "memory.safetensors", bytes_of(c, false), c.metadata());
    write_safetensors(tmp / "kernel.safetensors", bytes_of(c, true), c.metadata());
    CHECK(hfjit::test::read_bytes(tmp / "kernel.safetensors") ==
          hfjit::test::read_bytes(tmp / "memory.safetensors"));
  }
}

TEST_CASE("safetensors: a source file replaced after mapping is not copied from", "[safetensors]") {
  hfjit::test::TempFolder tmp;
  fs::copy_file(fixture("models/bert-mlm/model.safetensors"), tmp / "in.safetensors");
  RawCheckpoint c = RawCheckpoint::load_file(tmp / "in.safetensors");
  const auto original = hfjit::test::read_bytes(tmp / "in.safetensors");
  write_safetensors(tmp / "expected.safetensors", bytes_of(c, false), c.metadata());
  // Another file of the same size now has the name: the mapping still holds the old bytes.
  std::string other(original.size(), '\x7f');
  hfjit::test::write_bytes(tmp / "other", other);
  fs::rename(tmp / "other", tmp / "in.safetensors");
  CHECK(c.tensors().begin()->second.file->reopen() == -1);
  write_safetensors(tmp / "out.safetensors", bytes_of(c, true), c.metadata());
  CHECK(hfjit::test::read_bytes(tmp / "out.safetensors") ==
        hfjit::test::read_bytes(tmp / "expected.safetensors"));
  int fd = RawCheckpoint::load_file(fixture("models/bert-mlm/model.safetensors"))
               .tensors()
               .begin()
               ->second.file->reopen();
  CHECK(fd >= 0);
  if (fd >= 0) ::close(fd);
}
