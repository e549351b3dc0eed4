// parse_artifact_meta: hfjit/meta.json as run, bench and --describe read it.
#include <catch2/catch.hpp>
#include <string>

#include "hfjit/error.h"
#include "hfjit/io/artifact_meta.h"

using hfjit::ArtifactMeta;
using hfjit::parse_artifact_meta;

namespace {

const std::string kGood = R"({"format": "hfjit", "task": "fill-mask", "hf_class": "BertForMaskedLM",
  "model_type": "bert", "batch_size": 2, "max_length": 32,
  "methods": [{"name": "forward_16", "length": 16}, {"name": "forward", "length": 32}],
  "inputs": [{"name": "input_ids"}, {"name": "attention_mask"}], "outputs": [{"name": "logits"}],
  "dynamic": false, "pad_token_id": 0, "vocab_size": 480, "dtype": "float32", "quantization": "int8-per-token",
  "int8_weight_bits": 8})";

// kGood with `key`'s value replaced by `value` (raw JSON).
std::string with(const std::string& key, const std::string& value) {
  std::string s = kGood;
  const auto k = s.find("\"" + key + "\":");
  REQUIRE(k != std::string::npos);
  const auto begin = k + key.size() + 4;
  auto end = begin;
  int depth = 0;
  for (; end < s.size(); ++end) {
    const char c = s[end];
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') {
      if (depth == 0) break;
      --depth;
    }
    if (c == ',' && depth == 0) break;
  }
  return s.substr(0, begin) + value + s.substr(end);
}

std::string error_of(const std::string& text) {
  try {
    parse_artifact_meta(text, "m.pt");
  } catch (const hfjit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("artifact meta: the fields run and bench use", "[meta]") {
  const ArtifactMeta m = parse_artifact_meta(kGood, "m.pt");
  CHECK(m.hfjit);
  CHECK(m.task == "fill-mask");
  CHECK(m.hf_class == "BertForMaskedLM");
  CHECK(m.batch_size == 2);
  CHECK(m.max_length == 32);
  REQUIRE(m.methods.size() == 2);
  CHECK(m.methods[0].name == "forward_16");
  CHECK(m.methods[1].length == 32);
  CHECK(m.input_names == std::vector<std::string>{"input_ids", "attention_mask"});
  CHECK(m.output_names == std::vector<std::string>{"logits"});
  CHECK(m.pad_token_id == 0);
  CHECK(m.vocab_size == 480);
  CHECK(m.quantization == "int8-per-token");
  CHECK(m.int8_weight_bits == 8);
  // Not hfjit's: nothing else is read, and nothing else can fail.
  const ArtifactMeta other =
      parse_artifact_meta(R"({"format": "other", "batch_size": "x"})", "m.pt");
  CHECK(!other.hfjit);
  CHECK(other.methods.empty());
}

TEST_CASE("artifact meta: each malformed field is named", "[meta][errors]") {
  const std::string p = "m.pt: hfjit/meta.json";
  CHECK(error_of("{\"format\": ") == p + " is not valid JSON");
  CHECK(error_of("[1, 2]") == p + " is not a JSON object");
  CHECK(error_of(with("task", "5")) == p + ": \"task\" must be a string");
  CHECK(error_of(with("batch_size", "\"x\"")) ==
        p + ": \"batch_size\" must be an integer from 1 to 1048576");
  CHECK(error_of(with("batch_size", "0")) ==
        p + ": \"batch_size\" must be an integer from 1 to 1048576");
  CHECK(error_of(with("batch_size", "18446744073709551615")) ==
        p + ": \"batch_size\" must be an integer from 1 to 1048576");
  CHECK(error_of(with("int8_weight_bits", "9")) ==
        p + ": \"int8_weight_bits\" must be an integer from 7 to 8");
  CHECK(error_of(with("max_length", "1.5")) ==
        p + ": \"max_length\" must be an integer from 0 to 1048576");
  CHECK(error_of(with("methods", "{}")) == p + ": \"methods\" must be a list");
  CHECK(error_of(with("methods", "[\"forward\"]")) ==
        p + ": \"methods\" entry 0 must be an object");
  CHECK(error_of(with("methods", "[{\"length\": 8}]")) ==
        p + ": \"methods\" entry 0 needs a \"name\" string");
  CHECK(error_of(with("methods", "[{\"name\": \"forward\", \"length\": 0}]")) ==
        p + ": \"methods\" entry 0 needs a \"length\" from 1 to 1048576");
  CHECK(error_of(with("inputs", "[{\"name\": \"input_ids\"}, {\"name\": 3}]")) ==
        p + ": \"inputs\" entry 1 needs a \"name\" string");
  CHECK(error_of(with("outputs", "[\"logits\"]")) ==
        p + ": \"outputs\" entry 0 needs a \"name\" string");
  CHECK(error_of(with("dynamic", "\"yes\"")) == p + ": \"dynamic\" must be true or false");
  CHECK(error_of(with("pad_token_id", "4294967296")) ==
        p + ": \"pad_token_id\" must be an integer from -2147483648 to 2147483647");
  std::string many = "[";
  for (int i = 0; i < 1025; ++i) many += std::string(i ? "," : "") + "{\"name\": \"x\"}";
  CHECK(error_of(with("inputs", many + "]")) == p + ": \"inputs\" has more than 1024 entries");
}

TEST_CASE("artifact meta: a generation artifact's \"generation\" is checked whole",
          "[meta][errors]") {
  const std::string p = "m.pt: hfjit/meta.json";
  // kGood has batch_size 2.
  const std::string good = R"({"max_length": 48, "prefill": [{"name": "prefill_16", "length": 16}],
    "decode": "decode", "cache": {"shape": [3, 2, 2, 4, 48, 8], "dtype": "float32"}})";
  auto gen = [&](const std::string& g) {
    std::string s = kGood;
    s.insert(s.size() - 1, ", \"generation\": " + g);
    return s;
  };
  const ArtifactMeta m = parse_artifact_meta(gen(good), "m.pt");
  REQUIRE(m.generation);
  CHECK(m.generation->max_length == 48);
  REQUIRE(m.generation->prefill.size() == 1);
  CHECK(m.generation->prefill[0].name == "prefill_16");
  CHECK(m.generation->decode == "decode");
  CHECK(m.generation->cache_shape == std::vector<int64_t>{3, 2, 2, 4, 48, 8});
  CHECK(m.generation->cache_dtype == "float32");
  CHECK(!parse_artifact_meta(kGood, "m.pt").generation);

  CHECK(error_of(gen("[]")) == p + ": \"generation\" must be an object");
  CHECK(error_of(gen(R"({"prefill": []})")) == p + ": \"generation\" needs a \"max_length\"");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": []})")) ==
        p + ": \"generation\" needs \"prefill\" methods");
  CHECK(error_of(gen(R"({"max_length": 16, "prefill": [{"name": "prefill_16", "length": 16}]})")) ==
        p + ": \"generation\": prefill prefill_16 is not shorter than max_length");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 0}]})")) ==
        p + ": \"generation\".\"prefill\" entry 0 needs a \"length\" from 1 to 1048576");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}]})")) ==
        p + ": \"generation\" needs a \"decode\" method name");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}],
                         "decode": "decode"})")) ==
        p + ": \"generation\" needs a \"cache\" object");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}],
                         "decode": "decode", "cache": {"shape": [3, 2, 2]}})")) ==
        p + ": \"generation\".\"cache\" needs a \"shape\" of 6 sizes");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}],
                         "decode": "decode", "cache": {"shape": [3, 2, 2, 4, 48, -8]}})")) ==
        p + ": \"generation\".\"cache\".\"shape\" must hold sizes from 1 to 1048576");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}],
                         "decode": "decode", "cache": {"shape": [3, 3, 2, 4, 48, 8]}})")) ==
        p + ": \"generation\".\"cache\".\"shape\" is not [layers, 2, batch, kv_heads, max_length, "
            "head_dim]");
  CHECK(error_of(gen(R"({"max_length": 48, "prefill": [{"name": "p", "length": 8}],
                         "decode": "decode", "cache": {"shape": [3, 2, 1, 4, 48, 8]}})")) ==
        p + ": \"generation\".\"cache\".\"shape\" has batch 1, not batch_size 2");
}

TEST_CASE("artifact meta: an encoder-decoder's \"seq2seq\" is checked whole", "[meta][errors]") {
  const std::string p = "m.pt: hfjit/meta.json";
  auto s2s = [&](const std::string& g) {
    std::string s = kGood;
    s.insert(s.size() - 1, ", \"seq2seq\": " + g);
    return s;
  };
  const std::string cache = R"("cache": {"layers": 2, "heads": 4, "head_dim": 8})";
  const ArtifactMeta m = parse_artifact_meta(
      s2s(R"({"encode": "encode", "decode": "decode", "max_length": 40, "target_length": 24, )" +
          cache + "}"),
      "m.pt");
  REQUIRE(m.seq2seq);
  CHECK(m.seq2seq->encode == "encode");
  CHECK(m.seq2seq->decode == "decode");
  CHECK(m.seq2seq->max_length == 40);
  CHECK(m.seq2seq->target_length == 24);
  CHECK(m.seq2seq->layers == 2);
  CHECK(m.seq2seq->heads == 4);
  CHECK(m.seq2seq->head_dim == 8);
  CHECK(m.seq2seq->cache_dtype == "float32");
  CHECK(!parse_artifact_meta(kGood, "m.pt").seq2seq);

  CHECK(error_of(s2s("7")) == p + ": \"seq2seq\" must be an object");
  CHECK(error_of(s2s(R"({"encode": "encode"})")) ==
        p + ": \"seq2seq\" needs \"encode\" and \"decode\" method names");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d"})")) ==
        p + ": \"seq2seq\" needs a \"max_length\"");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40})")) ==
        p + ": \"seq2seq\" needs a \"target_length\"");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40, "target_length": 1})")) ==
        p + ": \"seq2seq\".\"target_length\" must be at least 2 (the start token and one more)");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40, "target_length": 24})")) ==
        p + ": \"seq2seq\" needs a \"cache\" object");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40, "target_length": 24,
                         "cache": {"layers": 2, "heads": 4}})")) ==
        p + ": \"seq2seq\" needs \"cache\".\"head_dim\"");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40, "target_length": 24,
                         "cache": {"layers": -2, "heads": 4, "head_dim": 8}})")) ==
        p + ": \"layers\" must be an integer from 1 to 1048576");
  CHECK(error_of(s2s(R"({"encode": "e", "decode": "d", "max_length": 40, "target_length": 24, )" +
                     cache.substr(0, cache.size() - 1) + R"(, "dtype": "int8"}})")) ==
        p + ": \"seq2seq\".\"cache\".\"dtype\" must be float32 or bfloat16");
}
