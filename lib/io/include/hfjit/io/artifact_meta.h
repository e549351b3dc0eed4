#pragma once
// hfjit/meta.json of an artifact (docs/artifact.md), read for `run` and
// `bench`. No libtorch here: it is fuzzed on its own (fuzz/fuzz_meta.cpp).
// A .pt comes from strangers too, so every field `run` and `bench` rely on is
// type- and range-checked, and a bad one is an Error naming it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hfjit {

struct ArtifactMethod {
  std::string name;    // forward, forward_<L>
  int64_t length = 0;  // the traced length
};

// An input or output as the metadata lists it.
struct ArtifactTensor {
  std::string name;
  std::string dtype;           // "int64", "float32", ...; "" when absent
  std::vector<int64_t> shape;  // at forward's shape; empty when absent
};

// "generation": a causal LM traced with a static key/value cache (docs/artifact.md).
struct ArtifactGeneration {
  int64_t max_length = 0;               // the cache's slots
  std::vector<ArtifactMethod> prefill;  // ascending length
  std::string decode;                   // the one-token step
  std::vector<int64_t> cache_shape;     // [layers, 2, batch, kv_heads, max_length, head_dim]
  std::string cache_dtype;
};

// How a generation artifact takes prompts of up to `longest` tokens: the
// smallest prefill that holds them, else the longest prefill in chunks; the
// prompts are left-padded to `slots` (a multiple of the method's length).
struct PrefillPlan {
  const ArtifactMethod* method = nullptr;
  int64_t slots = 0;  // cache slots the padded prompts take; may exceed max_length
};
PrefillPlan plan_prefill(const ArtifactGeneration& g, int64_t longest);

// "seq2seq": an encoder-decoder (MarianMT, T5) traced as an encode method and a
// one-token decoder step over a static self-attention cache (docs/artifact.md).
// Batch and source length are free; the cache of R rows is [layers, 2, R,
// heads, target_length, head_dim], the cross keys/values [layers, 2, R, heads,
// source length, head_dim].
struct ArtifactSeq2Seq {
  std::string encode, decode;  // method names
  int64_t max_length = 0;      // the longest source, in tokens
  int64_t target_length = 0;   // decoder cache slots: the start token and the new tokens
  int64_t layers = 0, heads = 0, head_dim = 0;
  std::string cache_dtype;
};

struct ArtifactMeta {
  bool hfjit = false;  // "format": "hfjit"; when false nothing else was read
  std::string task, hf_class, model_type;
  int64_t batch_size = 1;
  int64_t max_length = 0;
  std::vector<ArtifactMethod> methods;
  std::vector<std::string> input_names, output_names;
  std::vector<ArtifactTensor> inputs, outputs;  // the same entries, with dtype and shape
  bool dynamic = false;
  std::optional<int64_t> pad_token_id;
  int64_t vocab_size = 0;
  std::string dtype = "float32", quantization = "none";
  int64_t int8_weight_bits = 0;  // int8 artifacts: 8 or 7 (0: absent)
  std::optional<ArtifactGeneration> generation;
  std::optional<ArtifactSeq2Seq> seq2seq;
};

// `text` is the file's contents; `where` prefixes every error (the .pt's path).
// Limits: batch size and lengths up to 2^20, at most 1024 methods, inputs and outputs.
ArtifactMeta parse_artifact_meta(const std::string& text, const std::string& where);

}  // namespace hfjit
