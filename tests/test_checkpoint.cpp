#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <map>

#include "hfjit/checkpoint.h"
#include "hfjit/error.h"
#include "hfjit/io/safetensors.h"
#include "test_util.h"

using namespace hfjit;
using hfjit::test::fixture;

TEST_CASE("checkpoint: safetensors, .bin and shards hold the same tensors", "[checkpoint]") {
  Checkpoint st = Checkpoint::load(fixture("models/bert-mlm"));
  Checkpoint bin = Checkpoint::load(fixture("models/bert-mlm-bin"));
  Checkpoint sharded = Checkpoint::load(fixture("models/bert-mlm-sharded"));
  Checkpoint sharded_bin = Checkpoint::load(fixture("models/bert-mlm-sharded-bin"));
  CHECK(sharded.files().files.size() >= 2);
  CHECK(sharded_bin.files().files.size() >= 2);
  REQUIRE(st.tensors().size() > 20);
  for (const auto& [name, t] : st.tensors()) {
    INFO(name);
    for (const Checkpoint* other : {&bin, &sharded, &sharded_bin}) {
      REQUIRE(other->contains(name));
      CHECK(at::equal(other->at(name), t));
    }
  }
  CHECK(st.metadata().at("format") == "pt");
  CHECK(st.total_bytes() > 100000);
}

TEST_CASE("checkpoint: a .bin keeps storage sharing, so ties stay visible", "[checkpoint]") {
  Checkpoint bin = Checkpoint::load(fixture("models/gpt2-lm-bin"));
  const at::Tensor& wte = bin.at("transformer.wte.weight");
  const at::Tensor& head = bin.at("lm_head.weight");
  CHECK(wte.data_ptr() == head.data_ptr());
  CHECK(wte.sizes() == head.sizes());
}

TEST_CASE("checkpoint: tensors are copy-on-write views of the file", "[checkpoint]") {
  hfjit::test::TempFolder tmp;
  std::filesystem::copy_file(fixture("models/bert-mlm/model.safetensors"), tmp / "m.safetensors");
  auto before = hfjit::test::read_bytes(tmp / "m.safetensors");
  {
    Checkpoint c = Checkpoint::load_file(tmp / "m.safetensors");
    at::Tensor t = c.at("bert.embeddings.word_embeddings.weight");
    t.fill_(42.0f);  // writes land in private pages, never in the file
    CHECK(t[0][0].item<float>() == 42.0f);
  }
  CHECK(hfjit::test::read_bytes(tmp / "m.safetensors") == before);
}

TEST_CASE("checkpoint: half precision and integer dtypes load as stored", "[checkpoint]") {
  hfjit::test::TempFolder tmp;
  std::vector<uint16_t> half = {0x3c00, 0xc000};  // 1.0, -2.0 in F16
  std::vector<uint16_t> bf16 = {0x3f80, 0x4040};  // 1.0, 3.0 in BF16
  std::vector<int32_t> ints = {5, -6};
  write_safetensors(tmp / "d.safetensors", {{"h", DType::F16, {2}, half.data(), 4},
                                            {"b", DType::BF16, {2}, bf16.data(), 4},
                                            {"i", DType::I32, {2}, ints.data(), 8}});
  Checkpoint c = Checkpoint::load_file(tmp / "d.safetensors");
  CHECK(c.at("h").scalar_type() == at::kHalf);
  CHECK(c.at("h").to(at::kFloat)[1].item<float>() == -2.0f);
  CHECK(c.at("b").to(at::kFloat)[1].item<float>() == 3.0f);
  CHECK(c.at("i")[1].item<int32_t>() == -6);
}

TEST_CASE("checkpoint: bad weight files", "[checkpoint][errors]") {
  CHECK_THROWS_WITH(Checkpoint::load_file(fixture("bad/legacy.bin")),
                    fixture("bad/legacy.bin") +
                        ": legacy (pre-1.6) torch.save format is not supported; re-save it with a "
                        "current torch.save or convert it to safetensors");
  CHECK_THROWS_WITH(
      Checkpoint::load_file(fixture("bad/not_a_zip.bin")),
      fixture("bad/not_a_zip.bin") + ": not a PyTorch checkpoint (not a torch.save zip archive)");
  CHECK_THROWS_WITH(Checkpoint::load_file(fixture("bad/os_system.bin")),
                    Catch::Contains("global os.system is not allowed in a state dict"));
  CHECK_THROWS_WITH(Checkpoint::load_file("/nonexistent.safetensors"),
                    "/nonexistent.safetensors: cannot open: No such file or directory");
  CHECK_THROWS_WITH(Checkpoint::load(fixture("models/bert-mlm")).at("nope"),
                    "checkpoint has no tensor \"nope\"");
}

TEST_CASE("checkpoint: release drops mapped pages; the values come back from the file",
          "[checkpoint]") {
  for (const char* dir : {"models/bert-mlm", "models/bert-mlm-bin"}) {
    INFO(dir);
    Checkpoint c = Checkpoint::load(fixture(dir));
    std::map<std::string, at::Tensor> saved;
    for (const auto& [name, t] : c.tensors()) saved[name] = t.clone();
    for (const auto& [name, t] : c.tensors()) c.release(name);
    c.release("no.such.tensor");  // ignored
    for (const auto& [name, t] : saved) CHECK(at::equal(c.at(name), t));
  }
  // A misaligned tensor is a heap copy, not a view: release must leave it alone
  // (dropping heap pages would zero them). 4096 floats span whole pages.
  hfjit::test::TempFolder tmp;
  std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("b":{"dtype":"F32","shape":[4096],"data_offsets":[1,16385]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += header;
  bytes += '\x07';
  std::vector<float> values(4096);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) + 0.5f;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  hfjit::test::write_bytes(tmp / "m.safetensors", bytes);
  Checkpoint c = Checkpoint::load_file(tmp / "m.safetensors");
  at::Tensor expected = at::from_blob(values.data(), {4096}, at::kFloat).clone();
  c.release("b");
  c.release("a");
  CHECK(at::equal(c.at("b"), expected));
  CHECK(c.at("a").item<uint8_t>() == 7);
}

TEST_CASE("raw checkpoint: strided views read in libtorch's element order", "[checkpoint]") {
  at::Tensor base = at::arange(2 * 3 * 5, at::kFloat).reshape({2, 3, 5});
  for (const at::Tensor& view :
       {base.permute({2, 0, 1}), base.slice(2, 1, 4), base.select(1, 2).t(),
        base.slice(0, 1, 2).slice(2, 0, 5, 2), base.expand({4, 2, 3, 5})[1]}) {
    INFO(view.sizes() << " " << view.strides() << " +" << view.storage_offset());
    RawTensor r;
    r.dtype = DType::F32;
    r.shape = view.sizes().vec();
    r.strides = view.strides().vec();
    r.offset = view.storage_offset();
    r.storage = static_cast<const uint8_t*>(view.storage().data());
    r.storage_nbytes = view.storage().nbytes();
    CHECK(r.is_contiguous() == view.is_contiguous());
    at::Tensor c = view.contiguous();
    std::vector<uint8_t> expected(static_cast<const uint8_t*>(c.data_ptr()),
                                  static_cast<const uint8_t*>(c.data_ptr()) + c.nbytes());
    CHECK(contiguous_bytes(r) == expected);
    RawTensor dense = r;
    dense.strides = contiguous_strides(r.shape);
    dense.offset = 0;
    dense.storage = expected.data();
    CHECK(equal_bytes(r, dense));
    if (view.numel() > 1) {
      std::vector<uint8_t> changed = expected;
      changed.back() ^= 1;
      dense.storage = changed.data();
      CHECK_FALSE(equal_bytes(r, dense));
    }
  }
}
