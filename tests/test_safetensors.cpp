#include <catch2/catch.hpp>
#include <cstring>

#include "hfjit/error.h"
#include "hfjit/io/safetensors.h"
#include "test_util.h"

using namespace hfjit;
using hfjit::test::safetensors_image;

namespace {

SafetensorsHeader parse(const std::string& image) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(image.data()), image.size(),
                           "t.safetensors");
}

}  // namespace

TEST_CASE("safetensors: a valid header parses with every dtype and metadata", "[safetensors]") {
  const char* dtypes[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
  const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1};
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}";
  size_t off = 0;
  for (int i = 0; i < 10; ++i) {
    size_t n = 3 * sizes[i];
    h += ",\"t" + std::to_string(i) + "\":{\"dtype\":\"" + dtypes[i] +
         "\",\"shape\":[3],\"data_offsets\":[" + std::to_string(off) + "," +
         std::to_string(off + n) + "]}";
    off += n;
  }
  h += "}";
  SafetensorsHeader hdr = parse(safetensors_image(h, off));
  REQUIRE(hdr.tensors.size() == 10);
  CHECK(hdr.metadata.at("format") == "pt");
  for (int i = 0; i < 10; ++i) {
    CHECK(hdr.tensors[i].name == "t" + std::to_string(i));
    CHECK(dtype_name(hdr.tensors[i].dtype) == std::string(dtypes[i]));
    CHECK(hdr.tensors[i].end - hdr.tensors[i].begin == 3 * sizes[i]);
  }
  CHECK(hdr.data_start == 8 + h.size());
}

TEST_CASE("safetensors: scalars and empty tensors", "[safetensors]") {
  auto hdr = parse(safetensors_image(
      R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}})",
      4));
  REQUIRE(hdr.tensors.size() == 2);
}

TEST_CASE("safetensors: bad layouts give one clear error each", "[safetensors][errors]") {
  auto error_of = [](const std::string& image) {
    try {
      parse(image);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("abc") ==
        "t.safetensors: truncated safetensors file (3 bytes, the header length alone needs 8)");
  std::string beyond = safetensors_image("{}", 0);
  beyond[0] = 100;
  CHECK(error_of(beyond) ==
        "t.safetensors: safetensors header length 100 is beyond the end of the file (10 bytes)");
  std::string huge(16, '\0');
  huge[5] = 0x10;  // 2^44
  CHECK_THAT(error_of(huge), Catch::Contains("exceeds the limit of 104857600"));
  CHECK_THAT(error_of(safetensors_image("{not json", 0)),
             Catch::StartsWith("t.safetensors: safetensors header is not valid JSON"));
  CHECK(error_of(safetensors_image("[1,2]", 0)) ==
        "t.safetensors: safetensors header is not a JSON object");
  CHECK(
      error_of(safetensors_image(R"({"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", 1)) ==
      "t.safetensors: tensor \"w\": unsupported dtype \"F8\" (supported: F64 F32 F16 BF16 I64 I32 "
      "I16 "
      "I8 U8 BOOL)");
  CHECK(error_of(safetensors_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                   12)) ==
        "t.safetensors: tensors \"a\" and \"b\" have overlapping data_offsets");
  CHECK(error_of(
            safetensors_image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)) ==
        "t.safetensors: tensor \"a\": data_offsets [0, 16] are out of range (data section is 8 "
        "bytes)");
  CHECK(
      error_of(safetensors_image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)) ==
      "t.safetensors: tensor \"a\": shape and byte length disagree (3 elements of F32 but 8 "
      "bytes)");
  CHECK(error_of(
            safetensors_image(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)) ==
        "t.safetensors: tensor \"a\": shape has a negative or non-integer size");
  CHECK(error_of(safetensors_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
                                   4)) == "t.safetensors: tensor \"a\": data_offsets begin > end");
  CHECK(error_of(safetensors_image(R"({"a":{"dtype":"F32","shape":[1]}})", 4)) ==
        "t.safetensors: tensor \"a\": entry needs dtype, shape and data_offsets");
  CHECK(
      error_of(safetensors_image(
          R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,1]}})",
          1)) == "t.safetensors: tensor \"a\": shape is too large");
  CHECK(error_of(safetensors_image(R"({"__metadata__":{"k":1}})", 0)) ==
        "t.safetensors: __metadata__ value for \"k\" is not a string");
}

TEST_CASE("safetensors: the writer round-trips, sorts by name and is deterministic",
          "[safetensors]") {
  hfjit::test::TempFolder tmp;
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> b = {7, -8};
  std::vector<uint8_t> c = {1, 0, 1};
  std::vector<TensorBytes> ts = {
      {"z.weight", DType::F32, {2, 3}, a.data(), a.size() * 4},
      {"a.ids", DType::I64, {2}, b.data(), b.size() * 8},
      {"m.flags", DType::BOOL, {3}, c.data(), c.size()},
  };
  std::vector<std::string> order;
  write_safetensors(tmp / "x.safetensors", ts, {{"format", "pt"}},
                    [&](const TensorBytes& t) { order.push_back(t.name); });
  write_safetensors(tmp / "y.safetensors", ts, {{"format", "pt"}});
  CHECK(order == std::vector<std::string>{"a.ids", "m.flags", "z.weight"});
  CHECK(hfjit::test::read_bytes(tmp / "x.safetensors") ==
        hfjit::test::read_bytes(tmp / "y.safetensors"));

  SafetensorsFile f = SafetensorsFile::open(tmp / "x.safetensors");
  CHECK(f.header().data_start % 8 == 0);
  CHECK(f.header().metadata.at("format") == "pt");
  REQUIRE(f.header().tensors.size() == 3);
  for (const auto& e : f.header().tensors) {
    if (e.name == "z.weight") {
      CHECK(e.shape == std::vector<int64_t>{2, 3});
      CHECK(std::memcmp(f.tensor_data(e), a.data(), 24) == 0);
    } else if (e.name == "a.ids") {
      CHECK(std::memcmp(f.tensor_data(e), b.data(), 16) == 0);
    } else {
      CHECK(e.dtype == DType::BOOL);
    }
  }
}

TEST_CASE("safetensors: the writer refuses inconsistent tensors and leaves nothing",
          "[safetensors][errors]") {
  hfjit::test::TempFolder tmp;
  float x[2] = {0, 0};
  REQUIRE_THROWS_WITH(write_safetensors(tmp / "bad.safetensors", {{"w", DType::F32, {3}, x, 8}}),
                      "tensor \"w\": shape and byte length disagree");
  REQUIRE_THROWS_WITH(write_safetensors(tmp / "bad.safetensors", {{"w", DType::F32, {2}, x, 8},
                                                                  {"w", DType::F32, {2}, x, 8}}),
                      "tensor \"w\" is listed twice");
  CHECK(std::filesystem::is_empty(tmp.path()));
  REQUIRE_THROWS_WITH(
      write_safetensors(tmp / "missing/x.safetensors", {{"w", DType::F32, {2}, x, 8}}),
      Catch::EndsWith("x.safetensors: output folder does not exist"));
}

TEST_CASE("safetensors: the fixtures written by Python's safetensors open", "[safetensors]") {
  SafetensorsFile f =
      SafetensorsFile::open(hfjit::test::fixture("models/bert-mlm/model.safetensors"));
  CHECK(f.header().tensors.size() > 10);
  CHECK(f.header().metadata.at("format") == "pt");
}
