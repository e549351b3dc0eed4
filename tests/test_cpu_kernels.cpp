// The oneDNN Linear rewrite (cpu_kernels.h): every family's trace, rewritten,
// still gives transformers' outputs; bf16, int8 and shared weights are left alone.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hfjit/checkpoint.h"
#include "hfjit/cpu_kernels.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/models/layers.h"
#include "hfjit/run/runner.h"
#include "hfjit/trace.h"
#include "test_util.h"

using namespace hfjit;
using hfjit::test::fixture;
using hfjit::test::TempFolder;

namespace {

struct KernelCase {
  std::string model;
  std::string reference;  // the fixture whose reference.json / reference.safetensors apply
};

// Runs `m`'s forward three times (the profiling executor's two profiling runs,
// then its optimized plan) on the fixture's reference inputs and checks the
// last call's outputs against transformers' at 1e-5.
void check_outputs(torch::jit::Module& m, const std::string& ref_model,
                   const std::vector<std::string>& input_names) {
  Checkpoint ref = Checkpoint::load_file(fixture("models/" + ref_model + "/reference.safetensors"));
  auto meta =
      nlohmann::json::parse(read_text_file(fixture("models/" + ref_model + "/reference.json")));
  std::vector<c10::IValue> args;
  for (const auto& name : input_names)
    args.push_back(ref.contains(name) ? ref.at(name).clone() : at::zeros({2, 12}, at::kLong));
  torch::NoGradGuard no_grad;
  c10::IValue out;
  for (int i = 0; i < 3; ++i) out = m.forward(args);
  const auto elements = out.toTupleRef().elements();
  REQUIRE(elements.size() == meta["outputs"].size());
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string name = meta["outputs"][i]["name"];
    INFO(name);
    const at::Tensor& want = ref.at(name);
    const at::Tensor got = elements[i].toTensor();
    REQUIRE(got.sizes() == want.sizes());
    CHECK((got - want).abs().max().item<double>() <= 1e-5);
  }
}

TraceOptions reference_shape() {
  TraceOptions o;
  o.batch_size = 2;
  o.max_length = 12;
  return o;
}

// A fixture model traced into tmp/<file>, and that file loaded (eval mode).
struct Traced {
  TraceReport report;
  torch::jit::Module module;
};

Traced trace_and_load(const TempFolder& tmp, const std::string& model, const std::string& file,
                      const TraceOptions& o = reference_shape()) {
  TraceReport r = trace_model(fixture("models/" + model), tmp / file, o);
  torch::jit::Module m = torch::jit::load(tmp / file);
  m.eval();
  return {std::move(r), std::move(m)};
}

}  // namespace

TEST_CASE("cpu kernels: oneDNN Linear on every family keeps transformers' outputs",
          "[cpu_kernels]") {
  // The PyPI wheel hfjit builds on has oneDNN on x86-64 and aarch64; without it
  // this test would check nothing, so it says so.
  REQUIRE(at::hasMKLDNN());
  TempFolder tmp;
  const std::vector<KernelCase> cases = {{"bert-mlm", "bert-mlm"},
                                         {"bert-qa", "bert-qa"},
                                         {"roberta-mlm", "roberta-mlm"},
                                         {"distilbert-seqcls", "distilbert-seqcls"},
                                         {"albert-mlm", "albert-mlm"},
                                         {"electra-generator", "electra-generator"},
                                         {"gpt2-lm", "gpt2-lm"},
                                         {"xlm-roberta-tokcls", "xlm-roberta-tokcls"},
                                         {"mpnet-mlm", "mpnet-mlm"},
                                         {"deberta-v2-mlm", "deberta-v2-mlm"},
                                         {"modernbert-mlm", "modernbert-mlm"}};
  for (const KernelCase& c : cases) {
    INFO(c.model);
    auto [r, m] = trace_and_load(tmp, c.model, c.model + ".pt");
    REQUIRE(r.verified);
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::OneDnn, 24);
    CHECK(k.chosen == LinearKernel::OneDnn);
    CHECK(k.linears > 0);
    CHECK(k.skipped == 0);
    // Each weight reordered once: ALBERT's layers share one set, DeBERTa's
    // relative-position projections reuse the key and query weights.
    CHECK(k.packed > 0);
    CHECK(k.packed <= k.linears);
    check_outputs(m, c.reference, r.input_names);
  }
}

TEST_CASE("cpu kernels: GELU is fused, weights shared with an embedding are not reordered",
          "[cpu_kernels]") {
  REQUIRE(at::hasMKLDNN());
  TempFolder tmp;
  {
    // BERT's intermediate dense is followed by GELU (erf): fused, one per layer.
    torch::jit::Module m = trace_and_load(tmp, "bert-mlm", "b.pt").module;
    auto config = nlohmann::json::parse(read_text_file(fixture("models/bert-mlm/config.json")));
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::Auto, 24);
    // each layer's intermediate dense, and the MLM head's transform dense
    CHECK(k.fused_gelu == config["num_hidden_layers"].get<int>() + 1);
    CHECK_THAT(describe(k), Catch::StartsWith("oneDNN ("));
  }
  {
    // A weight that another operator also reads is rewritten but not reordered:
    // here the tied word embeddings of BERT's MLM head under --keep-tied, read
    // by aten::embedding and by the decoder's Linear.
    TraceOptions o = reference_shape();
    o.keep_tied = true;
    auto [r, m] = trace_and_load(tmp, "bert-mlm", "t.pt", o);
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::OneDnn, 24);
    CHECK(k.linears > 0);
    CHECK(k.packed == k.linears - 1);
    check_outputs(m, "bert-mlm", r.input_names);
  }
}

TEST_CASE("cpu kernels: several traced lengths, frozen graphs, bf16 and int8", "[cpu_kernels]") {
  REQUIRE(at::hasMKLDNN());
  TempFolder tmp;
  {
    // --lengths: every method rewritten; a weight read by all of them reordered once.
    TraceOptions o = reference_shape();
    o.lengths = {8, 12};
    auto [r, m] = trace_and_load(tmp, "bert-seqcls", "l.pt", o);
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::OneDnn, 24);
    torch::jit::Module single = torch::jit::load(tmp / "l.pt");
    int per_method = 0;
    for (const auto& g : {single.get_method("forward_8").graph()})
      for (const auto* n : g->nodes())
        per_method += n->kind().toQualString() == std::string("aten::linear");
    CHECK(k.linears == 2 * per_method);
    CHECK(k.packed == per_method);
    check_outputs(m, "bert-seqcls", r.input_names);
  }
  {
    // --optimize: the weights are constants of the frozen graph; rewritten, not reordered.
    TraceOptions o = reference_shape();
    o.optimize = true;
    auto [r, m] = trace_and_load(tmp, "bert-seqcls", "o.pt", o);
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::OneDnn, 24);
    CHECK(k.packed == 0);
    check_outputs(m, "bert-seqcls", r.input_names);
  }
  for (const char* variant : {"bf16", "int8"}) {
    INFO(variant);
    TraceOptions o = reference_shape();
    o.allow_slow_bf16 = true;  // any CPU: a tiny model
    if (std::string(variant) == "bf16")
      o.dtype = "bfloat16";
    else
      o.quantize = "int8";
    torch::jit::Module m =
        trace_and_load(tmp, "bert-seqcls", std::string(variant) + ".pt", o).module;
    const CpuKernels k = select_cpu_kernels(m, LinearKernel::OneDnn, 24);
    CHECK(k.linears == 0);
    CHECK(k.packed == 0);
  }
  // aten: nothing touched.
  torch::jit::Module m = trace_and_load(tmp, "bert-seqcls", "a.pt").module;
  const CpuKernels k = select_cpu_kernels(m, LinearKernel::Aten, 24);
  CHECK(k.chosen == LinearKernel::Aten);
  CHECK(k.linears == 0);
}

// How many nodes of `kind` every method graph of `m` holds.
int count_nodes(const torch::jit::Module& m, const char* kind) {
  int n = 0;
  for (const torch::jit::Method& method : m.get_methods())
    for (const torch::jit::Node* node : method.graph()->nodes())
      n += node->kind().toQualString() == std::string(kind);
  return n;
}

TEST_CASE("cpu kernels: int8 Linears fused into hfjit's ops give the same bits",
          "[cpu_kernels][int8]") {
  TempFolder tmp;
  // BERT (aten::gelu after the intermediate dense, and in the MLM head: fused),
  // GPT-2 (Conv1D; gelu_new written out as transformers writes it: not
  // fused), DistilBERT (no token types), ModernBERT (gated GELU in its layers:
  // not fused; its MLM head's GELU is).
  // Each layer's two residual adds (after attention, after the feed-forward
  // block) go into the Linear before them.
  struct Int8Case {
    std::string model;
    const char* layers_key;  // the config's layer count
    bool gelu_per_layer;     // one fused GELU per layer
    int more_gelu;           // and these more (the MLM head's)
  };
  const std::vector<Int8Case> cases = {{"bert-mlm", "num_hidden_layers", true, 1},
                                       {"gpt2-lm", "n_layer", false, 0},
                                       {"distilbert-seqcls", "n_layers", true, 0},
                                       {"modernbert-mlm", "num_hidden_layers", false, 1}};
  for (const Int8Case& c : cases) {
    INFO(c.model);
    TraceOptions o = reference_shape();
    o.quantize = "int8";
    auto [r, plain] = trace_and_load(tmp, c.model, c.model + ".pt", o);
    REQUIRE(r.verified);
    torch::jit::Module fused = torch::jit::load(tmp / (c.model + ".pt"));
    const int products = count_nodes(plain, "aten::_int_mm");
    REQUIRE(products > 0);
    const CpuKernels k = select_cpu_kernels(fused, LinearKernel::Auto, 24);
    CHECK(k.int8_linears == products);
    auto config =
        nlohmann::json::parse(read_text_file(fixture("models/" + c.model + "/config.json")));
    const int layers = config[c.layers_key].get<int>();
    CHECK(k.int8_fused_gelu == (c.gelu_per_layer ? layers : 0) + c.more_gelu);
    CHECK(k.int8_fused_residual == 2 * layers);
    CHECK(count_nodes(fused, "aten::_int_mm") == 0);
    CHECK(count_nodes(fused, "hfjit::int8_linear") == products);
    CHECK_THAT(describe(k), Catch::Contains("int8: " + std::to_string(products) + " Linear fused"));
    CHECK(select_cpu_kernels(plain, LinearKernel::Aten, 24).int8_linears == 0);

    // The fixture's inputs through both, three calls each (the profiling executor's runs, then its
    // optimized plan).
    Checkpoint ref = Checkpoint::load_file(fixture("models/" + c.model + "/reference.safetensors"));
    std::vector<c10::IValue> args;
    for (const auto& name : r.input_names)
      args.push_back(ref.contains(name) ? ref.at(name).clone() : at::zeros({2, 12}, at::kLong));
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 3; ++i) {
      const auto a = plain.forward(args).toTupleRef().elements();
      const auto b = fused.forward(args).toTupleRef().elements();
      REQUIRE(a.size() == b.size());
      for (size_t j = 0; j < a.size(); ++j) CHECK(at::equal(a[j].toTensor(), b[j].toTensor()));
    }
  }
}

TEST_CASE("cpu kernels: hfjit's int8 ops on edge rows, and a residual they refuse",
          "[cpu_kernels][int8]") {
  // Linear::forward (the plain aten ops that trace records) against the two
  // ops the rewrite calls, on rows that stress the quantization: all zero
  // (the step's floor), all negative, one outlier, large values.
  torch::manual_seed(3);
  const int64_t in = 40, out = 24;
  models::Linear lin(at::randn({out, in}), at::randn({out}));
  lin.quantize_int8();
  at::Tensor x = at::randn({6, in});
  x[0].zero_();
  x[1] = -x[1].abs() - 1;
  x[2][7] = 1000;
  x[3] *= 1e6;
  x[4] = at::full({in}, 1e-9);
  auto& dispatcher = c10::Dispatcher::singleton();
  auto quantize = dispatcher.findSchemaOrThrow("hfjit::quantize_per_token", "")
                      .typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&)>();
  auto linear = dispatcher.findSchemaOrThrow("hfjit::int8_linear", "")
                    .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                      const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                      const std::optional<at::Tensor>&,
                                      const std::optional<at::Tensor>&, c10::string_view)>();
  auto [xq, step, shift] = quantize.call(x);
  auto fused = [&](const std::optional<at::Tensor>& bias, const std::optional<at::Tensor>& r,
                   c10::string_view act) {
    return linear.call(xq, step, shift, lin.weight_int8, lin.weight_scale, lin.weight_sum, bias, r,
                       act);
  };
  const at::Tensor want = lin.forward(x);
  CHECK(at::equal(fused(lin.bias, std::nullopt, ""), want));
  CHECK(at::equal(fused(lin.bias, std::nullopt, "none"), at::gelu(want)));
  CHECK(at::equal(fused(lin.bias, std::nullopt, "tanh"), at::gelu(want, "tanh")));
  const at::Tensor r = at::randn({6, out});
  CHECK(at::equal(fused(lin.bias, r, ""), want + r));
  CHECK(at::equal(fused(std::nullopt, std::nullopt, ""), lin.forward(x, at::Tensor())));
  // Inputs the rewrite never makes: each op says what is wrong.
  CHECK_THROWS_WITH(
      quantize.call(x.unsqueeze(0)),
      Catch::Contains("hfjit::quantize_per_token: expected a 2-D float32 CPU tensor"));
  CHECK_THROWS_WITH(
      linear.call(xq, step, shift, lin.weight_int8, lin.weight_scale.narrow(0, 0, 3),
                  lin.weight_sum, lin.bias, std::nullopt, ""),
      Catch::Contains("hfjit::int8_linear: weight_scale must hold 24 float32 values"));
  CHECK_THROWS_WITH(
      linear.call(xq, step.narrow(0, 0, 2), shift, lin.weight_int8, lin.weight_scale,
                  lin.weight_sum, lin.bias, std::nullopt, ""),
      Catch::Contains("hfjit::int8_linear: step and shift must hold one float32 per row"));
  // A residual that would broadcast: the rewrite cannot see shapes, so the op says so.
  CHECK_THROWS_WITH(fused(lin.bias, at::randn({out}), ""),
                    Catch::Contains("hfjit::int8_linear: a residual of") &&
                        Catch::Contains("run with --linear aten"));
}

TEST_CASE("cpu kernels: run gives the same answers on aten and oneDNN", "[cpu_kernels][run]") {
  REQUIRE(at::hasMKLDNN());
  TempFolder tmp;
  trace_model(fixture("models/bert-seqcls"), tmp / "c.pt", reference_shape());
  std::vector<std::vector<float>> logits;
  for (LinearKernel kernel : {LinearKernel::Aten, LinearKernel::OneDnn}) {
    RunOptions o;
    o.linear = kernel;
    o.top_k = 0;  // every label's score
    Runner runner(tmp / "c.pt", o);
    std::vector<RunInput> in{{"a short sentence", std::nullopt, std::nullopt, "argument 1"},
                             {"and a longer one, with a comma and more words", std::nullopt,
                              std::nullopt, "argument 2"}};
    auto results = runner.run(in);
    REQUIRE(results.size() == 2);
    std::vector<float> flat;
    for (const auto& r : results)
      for (const auto& l : std::get<ClassificationResult>(r).labels) flat.push_back(l.score);
    logits.push_back(flat);
  }
  REQUIRE(logits[0].size() == logits[1].size());
  for (size_t i = 0; i < logits[0].size(); ++i)
    CHECK(std::abs(logits[0][i] - logits[1][i]) <= 1e-5);
}

TEST_CASE("trace --dtype bfloat16 without native bf16: refused unless allowed",
          "[cpu_kernels][trace]") {
  TempFolder tmp;
  TraceOptions o = reference_shape();
  o.dtype = "bfloat16";
  o.native_bf16 = false;  // as on an AVX2-only CPU
  try {
    trace_model(fixture("models/bert-seqcls"), tmp / "b.pt", o);
    FAIL("trace should refuse");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::StartsWith("--dtype bfloat16: this CPU (" +
                                                        cpu_name() + ") has no native bf16") &&
                                          Catch::EndsWith("--allow-slow-bf16 traces it anyway"));
  }
  CHECK(!std::filesystem::exists(tmp / "b.pt"));
  o.allow_slow_bf16 = true;
  CHECK(trace_model(fixture("models/bert-seqcls"), tmp / "b.pt", o).verified);
  o.allow_slow_bf16 = false;
  o.native_bf16 = true;
  o.force = true;
  CHECK(trace_model(fixture("models/bert-seqcls"), tmp / "b.pt", o).verified);
}

TEST_CASE("int8 artifacts: 8-bit weights on a CPU without VNNI are warned about",
          "[cpu_kernels][int8]") {
  const std::string w = hfjit::int8_weight_bits_warning(8, 7, "q.pt");
  CHECK_THAT(
      w, Catch::StartsWith("q.pt: quantized with 8-bit weights on a CPU with VNNI; this CPU (") &&
             Catch::EndsWith(") has no VNNI, where its int8 products can saturate: trace it "
                             "again here"));
  // Nothing to say: 7-bit weights anywhere, 8-bit on VNNI, float artifacts (no field).
  CHECK(hfjit::int8_weight_bits_warning(7, 7, "q.pt").empty());
  CHECK(hfjit::int8_weight_bits_warning(8, 8, "q.pt").empty());
  CHECK(hfjit::int8_weight_bits_warning(0, 7, "q.pt").empty());
}
