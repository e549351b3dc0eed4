#include <catch2/catch.hpp>
#include <filesystem>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/pickle.h"
#include "hfjit/io/zip.h"
#include "test_util.h"

using namespace hfjit;

namespace {

void put(std::string& s, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A stored (uncompressed) zip of (name, data) entries, as torch.save writes.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries,
                     int method = 0) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    uint64_t local = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, method, 2);
    put(out, 0, 4);
    put(out, 0, 4);
    put(out, data.size(), 4);
    put(out, data.size(), 4);
    put(out, name.size(), 2);
    put(out, 0, 2);
    out += name + data;
    put(cd, 0x02014b50, 4);
    put(cd, 20, 2);
    put(cd, 20, 2);
    put(cd, 0, 2);
    put(cd, method, 2);
    put(cd, 0, 4);
    put(cd, 0, 4);
    put(cd, data.size(), 4);
    put(cd, data.size(), 4);
    put(cd, name.size(), 2);
    put(cd, 0, 2);
    put(cd, 0, 2);
    put(cd, 0, 2);
    put(cd, 0, 2);
    put(cd, 0, 4);
    put(cd, local, 4);
    cd += name;
  }
  uint64_t cd_offset = out.size();
  out += cd;
  put(out, 0x06054b50, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, entries.size(), 2);
  put(out, entries.size(), 2);
  put(out, cd.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  return out;
}

std::vector<ZipEntry> zip_dir(const std::string& z) {
  return read_zip_directory(reinterpret_cast<const uint8_t*>(z.data()), z.size(), "x.bin");
}

std::vector<PickledTensor> unpickle(const std::string& p) {
  return unpickle_state_dict(reinterpret_cast<const uint8_t*>(p.data()), p.size(), "x.bin");
}

std::string str(const std::string& s) {  // BINUNICODE
  std::string o = "X";
  put(o, s.size(), 4);
  return o + s;
}

// {"w": _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, size, stride, False,
// OrderedDict())}
std::string state_dict_pickle(int numel, int offset, int rows, int cols, int stride0) {
  std::string p = "\x80\x02}(";
  p += str("w");
  p += "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(" + str("storage") + "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "K" +
       std::string(1, static_cast<char>(numel)) + "tQ";
  p += "K" + std::string(1, static_cast<char>(offset));
  p += "K" + std::string(1, static_cast<char>(rows)) + "K" +
       std::string(1, static_cast<char>(cols)) + "\x86";
  p += "K" + std::string(1, static_cast<char>(stride0)) + "K\x01\x86";
  p += "\x89"
       "ccollections\nOrderedDict\n)R";
  p += "tR";
  p += "u.";
  return p;
}

std::string pickle_error(const std::string& p) {
  try {
    unpickle(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("zip: reads stored entries", "[zip]") {
  std::string z = make_zip({{"archive/data.pkl", "abc"}, {"archive/data/0", std::string(16, 'x')}});
  auto entries = zip_dir(z);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "archive/data.pkl");
  CHECK(z.substr(entries[0].offset, entries[0].size) == "abc");
  CHECK(entries[1].size == 16);
  CHECK(looks_like_zip(reinterpret_cast<const uint8_t*>(z.data()), z.size()));
}

TEST_CASE("zip: bad archives give clear errors", "[zip][errors]") {
  CHECK_THROWS_WITH(zip_dir("short"), "x.bin: not a zip archive (too short)");
  CHECK_THROWS_WITH(zip_dir(std::string(100, 'a')),
                    "x.bin: not a zip archive (no end of central directory)");
  CHECK(zip_dir(make_zip({{"a", "b"}}, 8))[0].compressed);
  CHECK_THROWS_WITH(
      zip_dir(make_zip({{"a", "b"}}, 12)),
      "x.bin: zip entry \"a\" uses compression method 12 (only stored and deflated entries "
      "exist in PyTorch archives)");
  std::string z = make_zip({{"archive/data.pkl", "abcdef"}});
  std::string cut = z;
  cut.erase(30 + 16, 4);  // drop data bytes: the directory now points past its entry
  CHECK_THROWS(zip_dir(cut));
  std::string bad_cd = z;
  bad_cd[z.size() - 6] = static_cast<char>(0xff);  // central directory offset far away
  CHECK_THROWS_WITH(zip_dir(bad_cd), Catch::Contains("central directory is out of range"));
}

TEST_CASE("pickle: a hand-written state dict", "[pickle]") {
  auto ts = unpickle(state_dict_pickle(12, 2, 2, 3, 4));
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].name == "w");
  CHECK(ts[0].storage_key == "0");
  CHECK(ts[0].dtype == DType::F32);
  CHECK(ts[0].storage_numel == 12);
  CHECK(ts[0].offset == 2);
  CHECK(ts[0].shape == std::vector<int64_t>{2, 3});
  CHECK(ts[0].stride == std::vector<int64_t>{4, 1});
}

TEST_CASE("pickle: the state dict transformers saved", "[pickle]") {
  auto file = MappedFile::open(hfjit::test::fixture("models/bert-mlm-bin/pytorch_model.bin"));
  auto entries = read_zip_directory(file->data(), file->size(), "bin");
  const ZipEntry* pkl = nullptr;
  for (const auto& e : entries)
    if (e.name.size() > 9 && e.name.substr(e.name.size() - 9) == "/data.pkl") pkl = &e;
  REQUIRE(pkl != nullptr);
  auto ts = unpickle_state_dict(file->data() + pkl->offset, pkl->size, "bin");
  CHECK(ts.size() > 20);
  // The tied decoder shares its storage with the word embeddings.
  std::string emb, dec;
  for (const auto& t : ts) {
    if (t.name == "bert.embeddings.word_embeddings.weight") emb = t.storage_key;
    if (t.name == "cls.predictions.decoder.weight") dec = t.storage_key;
  }
  CHECK(!emb.empty());
  CHECK(emb == dec);
}

TEST_CASE("pickle: a global outside the allow-list is refused, never run", "[pickle][errors]") {
  std::filesystem::remove("/tmp/hfjit_pwned");
  auto file = MappedFile::open(hfjit::test::fixture("bad/os_system.bin"));
  auto entries = read_zip_directory(file->data(), file->size(), "os_system.bin");
  const ZipEntry* pkl = nullptr;
  for (const auto& e : entries)
    if (e.name == "archive/data.pkl") pkl = &e;
  REQUIRE(pkl != nullptr);
  CHECK_THROWS_WITH(
      unpickle_state_dict(file->data() + pkl->offset, pkl->size, "os_system.bin"),
      Catch::StartsWith("os_system.bin: pickle: global os.system is not allowed in a state dict"));
  CHECK_FALSE(std::filesystem::exists("/tmp/hfjit_pwned"));
  CHECK(pickle_error("\x80\x02"
                     "cbuiltins\neval\n.") ==
        "x.bin: pickle: global builtins.eval is not allowed in a state dict (refusing to load it) "
        "(at byte 2)");
}

TEST_CASE("pickle: malformed streams give clear errors", "[pickle][errors]") {
  CHECK(pickle_error("") == "x.bin: pickle: truncated data (at byte 0)");
  CHECK(pickle_error("\x80\x02}") == "x.bin: pickle: truncated data (at byte 3)");
  CHECK(pickle_error("\x80\x02\xff") == "x.bin: pickle: unsupported opcode 0xff (at byte 2)");
  CHECK(pickle_error("\x80\x02h\x05") == "x.bin: pickle: memo key 5 is not defined (at byte 2)");
  CHECK(pickle_error("\x80\x02.") == "x.bin: pickle: stack underflow (at byte 2)");
  CHECK(pickle_error("\x80\x02].") ==
        "x.bin: pickle: the pickle is not a state dict (top level is not a dict) (at byte 3)");
  CHECK(pickle_error("\x80\x02}" + str("k") + "K\x01s.") ==
        "x.bin: pickle: state dict entry \"k\" is not a tensor (at byte 12)");
  CHECK(pickle_error("\x80\x02X\xff\xff\xff\x7f") ==
        "x.bin: pickle: string of 2147483647 bytes is too long (at byte 2)");
  // A view reaching past its storage: 2x3 with stride 4 from offset 2 ends at element 8.
  CHECK(pickle_error(state_dict_pickle(9, 2, 2, 3, 4)) == "no error");
  CHECK_THAT(pickle_error(state_dict_pickle(8, 2, 2, 3, 4)),
             Catch::Contains("tensor view (last element 8) is outside its storage of 8 elements"));
  // Deep nesting costs nothing: 100k nested lists, then refused as not a dict.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 100000; ++i) deep += "]";
  for (int i = 0; i < 99999; ++i) deep += "a";
  deep += ".";
  CHECK_THAT(pickle_error(deep), Catch::Contains("top level is not a dict"));
  PickleLimits tight;
  tight.max_stack = 10;
  std::string many = "\x80\x02";
  for (int i = 0; i < 20; ++i) many += "N";
  CHECK_THROWS_WITH(unpickle_state_dict(reinterpret_cast<const uint8_t*>(many.data()), many.size(),
                                        "x.bin", tight),
                    "x.bin: pickle: stack too deep (at byte 12)");
}

TEST_CASE("pickle: the object count and tensor rank are bounded", "[pickle][errors][limits]") {
  // Every list object counts against max_values: 20 lists with a limit of 10.
  PickleLimits few;
  few.max_values = 10;
  std::string lists = "\x80\x02";
  for (int i = 0; i < 20; ++i) lists += "]0";  // EMPTY_LIST, POP
  lists += "}.";
  CHECK_THROWS_WITH(unpickle_state_dict(reinterpret_cast<const uint8_t*>(lists.data()),
                                        lists.size(), "x.bin", few),
                    Catch::Contains("x.bin: pickle: too many objects"));
  // With the default limits the same stream is just an empty state dict.
  CHECK(unpickle_state_dict(reinterpret_cast<const uint8_t*>(lists.data()), lists.size(), "x.bin")
            .empty());
  // A tensor of rank 2 against a limit of 1.
  PickleLimits flat;
  flat.max_dims = 1;
  const std::string rank2 = state_dict_pickle(6, 0, 2, 3, 3);
  CHECK(pickle_error(rank2) == "no error");
  CHECK_THROWS_WITH(unpickle_state_dict(reinterpret_cast<const uint8_t*>(rank2.data()),
                                        rank2.size(), "x.bin", flat),
                    Catch::Contains("has too many dimensions"));
}
