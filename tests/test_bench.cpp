#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hfjit/bench.h"
#include "hfjit/error.h"
#include "hfjit/torchscript_file.h"
#include "hfjit/trace.h"
#include "test_util.h"

using namespace hfjit;
using hfjit::test::CliResult;
using hfjit::test::fixture;
using hfjit::test::run_cli;
using hfjit::test::TempFolder;

TEST_CASE("bench: latency statistics use nearest-rank percentiles", "[bench]") {
  std::vector<double> ms;
  for (int i = 100; i >= 1; --i) ms.push_back(i);
  LatencyStats s = latency_stats(ms);
  CHECK(s.min == 1);
  CHECK(s.mean == Approx(50.5));
  CHECK(s.p50 == 50);
  CHECK(s.p90 == 90);
  CHECK(s.p99 == 99);
  CHECK(latency_stats({7}).p99 == 7);
}

TEST_CASE("bench: a traced artifact and a folder, eager vs traced", "[bench]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 16;
  t.lengths = {8};
  t.batch_size = 2;
  trace_model(fixture("models/bert-seqcls"), tmp / "m.pt", t);
  BenchOptions o;
  o.iterations = 3;
  o.warmup = 1;
  o.lengths = {5, 16};
  o.batch_sizes = {1, 2};
  auto points = run_bench(tmp / "m.pt", o);
  REQUIRE(points.size() == 4);
  CHECK(points[0].mode == "traced-onednn");  // --linear auto: oneDNN's kernels (cpu_kernels.h)
  CHECK(points[0].run_length == 8);          // the smallest traced length that fits 5
  CHECK(points[1].run_length == 16);
  CHECK(points[0].run_batch_size == 2);               // one real row padded to the traced batch
  CHECK(points[0].gflop == Approx(points[2].gflop));  // so each call computes as much as at batch 2
  for (const auto& p : points) {
    CHECK(p.iterations == 3);
    CHECK(p.min_ms <= p.p50_ms);
    CHECK(p.p50_ms <= p.p99_ms);
    CHECK(p.tokens_per_s == Approx(p.seqs_per_s * p.length));
    CHECK(p.peak_rss_mb > 0);
    CHECK(p.gflop > 0);
  }
  o.linear = LinearKernel::Aten;
  o.lengths = {8};
  CHECK(run_bench(tmp / "m.pt", o).at(0).mode == "traced");
  o.linear = LinearKernel::Auto;
  o.compare = true;
  o.batch_sizes = {2};
  auto cmp = run_bench(fixture("models/bert-seqcls"), o);
  // traced-bf16 only where the CPU has native bf16 (what trace refuses elsewhere).
  std::vector<std::string> modes{"eager", "traced", "traced-onednn", "traced-bf16", "traced-int8"};
  if (!cpu_has_native_bf16()) modes.erase(modes.begin() + 3);
  REQUIRE(cmp.size() == modes.size());
  for (size_t i = 0; i < modes.size(); ++i) CHECK(cmp[i].mode == modes[i]);
  for (const auto& p : cmp) CHECK(p.gflop == Approx(cmp[0].gflop));
}

TEST_CASE("bench: a --dynamic artifact runs at the shape asked, unpadded", "[bench]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 16;
  t.batch_size = 2;
  t.dynamic = true;
  trace_model(fixture("models/bert-seqcls"), tmp / "d.pt", t);
  BenchOptions o;
  o.iterations = 2;
  o.warmup = 1;
  o.lengths = {5, 16};
  o.batch_sizes = {3};  // more than the batch it was traced at: a dynamic forward takes any
  auto points = run_bench(tmp / "d.pt", o);
  REQUIRE(points.size() == 2);
  CHECK(points[0].batch_size == 3);
  CHECK(points[0].run_batch_size == 3);
  CHECK(points[0].run_length == 5);
  CHECK(points[1].run_length == 16);
  CHECK(points[0].gflop < points[1].gflop);
  o.lengths = {17};
  CHECK_THROWS_WITH(run_bench(tmp / "d.pt", o),
                    "length 17 exceeds the longest traced length 16 of " + tmp / "d.pt");
  auto d = run_cli({"run", tmp / "d.pt", "--describe"});
  CHECK(d.code == 0);
  CHECK_THAT(d.out, Catch::Contains("forward [any batch, any length up to 16] (--dynamic)"));
}

TEST_CASE("bench: a lever's artifact is labelled by its precision", "[bench][levers]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 8;
  t.quantize = "int8";
  trace_model(fixture("models/bert-seqcls"), tmp / "q.pt", t);
  t.quantize = "none";
  t.dtype = "bfloat16";
  t.allow_slow_bf16 = true;  // any CPU: a tiny model
  trace_model(fixture("models/bert-seqcls"), tmp / "b.pt", t);
  BenchOptions o;
  o.iterations = 2;
  o.warmup = 1;
  CHECK(run_bench(tmp / "q.pt", o).at(0).mode == "traced-int8");
  CHECK(run_bench(tmp / "b.pt", o).at(0).mode == "traced-bf16");
}

TEST_CASE("bench: bad requests", "[bench][errors]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 8;
  trace_model(fixture("models/bert-seqcls"), tmp / "m.pt", t);
  BenchOptions o;
  o.iterations = 1;
  o.lengths = {9};
  CHECK_THROWS_WITH(run_bench(tmp / "m.pt", o),
                    "length 9 exceeds the longest traced length 8 of " + tmp / "m.pt");
  o.lengths = {8};
  o.batch_sizes = {4};
  CHECK_THROWS_WITH(run_bench(tmp / "m.pt", o), "batch size 4 exceeds the traced batch size 1 of " +
                                                    tmp / "m.pt" + " (trace with --batch-size)");
  o.batch_sizes = {0};
  CHECK_THROWS_WITH(run_bench(tmp / "m.pt", o), "--batch-sizes must be positive (got 0)");
  o.batch_sizes = {};
  o.compare = true;
  CHECK_THROWS_WITH(
      run_bench(tmp / "m.pt", o),
      "--compare needs a model folder or hub id (eager and traced from the same weights)");
}

TEST_CASE("cli: bench --json and --csv carry the documented columns", "[bench][cli]") {
  TempFolder tmp;
  REQUIRE(run_cli({"-q", "trace", fixture("models/distilbert-seqcls"), "-o", tmp / "d.pt",
                   "--max-length", "8"})
              .code == 0);
  auto j = run_cli({"bench", tmp / "d.pt", "--iterations", "2", "--warmup", "0", "--json"});
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  for (const char* k : {"mode", "batch_size", "length", "threads", "min_ms", "mean_ms", "p50_ms",
                        "p90_ms", "p99_ms", "seqs_per_s", "tokens_per_s", "peak_rss_mb"})
    CHECK(doc.contains(k));
  auto c = run_cli({"--threads", "1", "bench", tmp / "d.pt", "--iterations", "2", "--csv"});
  REQUIRE(c.code == 0);
  std::istringstream lines(c.out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  CHECK(header ==
        "mode,batch_size,length,threads,min_ms,mean_ms,p50_ms,p90_ms,p99_ms,seqs_per_s,tokens_per_"
        "s,peak_rss_mb");
  CHECK_THAT(row, Catch::StartsWith("traced-onednn,1,8,1,"));
  auto table = run_cli({"bench", tmp / "d.pt", "--iterations", "2"});
  REQUIRE(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("GFLOP per call"));
  auto bad = run_cli({"bench", tmp / "d.pt", "--json", "--csv"});
  CHECK(bad.code == 1);
  CHECK(bad.err == "hfjit: error: --json and --csv are exclusive\n");
}

TEST_CASE("engine: MKL picks its kernels by the CPU's ISA, whatever the vendor", "[bench][cli]") {
#if !defined(__x86_64__)
  WARN("MKL's vendor test is answered on x86-64 only: nothing to check");
  return;
#endif
  // MKL names the code path it took in its verbose banner (cmd/mkl_cpu.cpp):
  // left to itself on an AMD CPU it says "Intel(R) Architecture processors".
  const std::string flags = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("flags", 0) == 0) return line + " ";
    return std::string();
  }();
  const char* isa = flags.find(" avx512f ") != std::string::npos ? "AVX-512"
                    : flags.find(" avx2 ") != std::string::npos  ? "AVX2"
                                                                 : nullptr;
  if (!isa) {
    WARN("no AVX2 on this CPU: nothing to check");
    return;
  }
  TempFolder tmp;
  REQUIRE(run_cli({"-q", "trace", fixture("models/distilbert-seqcls"), "-o", tmp / "d.pt",
                   "--max-length", "8"})
              .code == 0);
  // --linear aten: the Linear layers on MKL's sgemm.
  auto r = run_cli(
      {"bench", tmp / "d.pt", "--linear", "aten", "--iterations", "1", "--warmup", "0", "--json"},
      "MKL_VERBOSE=1");
  REQUIRE(r.code == 0);
  const auto banner = r.out.find("MKL_VERBOSE oneMKL");
  REQUIRE(banner != std::string::npos);
  CHECK_THAT(r.out.substr(banner, r.out.find('\n', banner) - banner), Catch::Contains(isa));
}

namespace {

// tmp/<name>: a copy of the artifact tmp/<from> with one bundled JSON file
// (hfjit/meta.json, config.json, ...) edited, or added when absent.
std::string tampered_copy(const TempFolder& tmp, const std::string& from, const std::string& name,
                          const std::string& file,
                          const std::function<void(nlohmann::json&)>& edit) {
  TorchScriptFile ts = TorchScriptFile::load(tmp / from);
  nlohmann::json j = ts.extra_files.count(file) ? nlohmann::json::parse(ts.extra_files.at(file))
                                                : nlohmann::json();
  edit(j);
  ts.extra_files[file] = j.dump();
  ts.save(tmp / name);
  return tmp / name;
}

}  // namespace

TEST_CASE("bench and describe: an artifact whose metadata was tampered with", "[bench][errors]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 8;
  trace_model(fixture("models/bert-seqcls"), tmp / "m.pt", t);
  // The same module with its hfjit/meta.json edited.
  auto tampered = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    return tampered_copy(tmp, "m.pt", name, "hfjit/meta.json", edit);
  };
  BenchOptions o;
  o.iterations = 1;
  const std::string none =
      tampered("none.pt", [](nlohmann::json& m) { m["methods"] = nlohmann::json::array(); });
  CHECK_THROWS_WITH(run_bench(none, o), none + ": hfjit/meta.json lists no traced methods");
  const std::string ghost =
      tampered("ghost.pt", [](nlohmann::json& m) { m["methods"][0]["name"] = "forward_99"; });
  CHECK_THROWS_WITH(run_bench(ghost, o),
                    ghost + ": has no method 'forward_99' that its metadata lists");
  const std::string foreign =
      tampered("foreign.pt", [](nlohmann::json& m) { m["format"] = "other"; });
  CHECK_THROWS_WITH(run_bench(foreign, o),
                    foreign + ": hfjit/meta.json does not say \"format\": \"hfjit\"");
  const std::string bad = tampered("bad.pt", [](nlohmann::json& m) { m["batch_size"] = "two"; });
  CHECK_THROWS_WITH(run_bench(bad, o),
                    bad + ": hfjit/meta.json: \"batch_size\" must be an integer from 1 to 1048576");
  auto d = run_cli({"run", bad, "--describe"});
  CHECK(d.code == 1);
  CHECK_THAT(d.err,
             Catch::Contains(
                 "bad.pt: hfjit/meta.json: \"batch_size\" must be an integer from 1 to 1048576"));
  auto r = run_cli({"run", bad, "some text"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("\"batch_size\" must be an integer"));
}

TEST_CASE("run and bench: an artifact whose bundled files were tampered with",
          "[run][bench][errors]") {
  TempFolder tmp;
  TraceOptions t;
  t.max_length = 8;
  trace_model(fixture("models/bert-seqcls"), tmp / "cls.pt", t);
  trace_model(fixture("models/bert-base"), tmp / "base.pt", t);
  auto tampered = [&](const std::string& from, const std::string& name, const std::string& file,
                      const std::function<void(nlohmann::json&)>& edit) {
    return tampered_copy(tmp, from, name, file, edit);
  };
  // One line naming the artifact and the culprit, exit 1.
  auto run_error = [&](const std::vector<std::string>& args) {
    CliResult r = run_cli(args);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    return r.err;
  };
  const std::string labels = tampered("cls.pt", "labels.pt", "config.json", [](nlohmann::json& c) {
    c["id2label"] = {{"0", "NEG"}, {"1x", "POS"}};
  });
  CHECK(run_error({"run", labels, "good"}) ==
        "hfjit: error: " + labels +
            ": config.json: \"id2label\" should be a map of integer ids to label names\n");
  const std::string nconf = tampered("cls.pt", "nconf.pt", "config.json", [](nlohmann::json& c) {
    c = {1, 2};
  });
  CHECK(run_error({"run", nconf, "good"}) ==
        "hfjit: error: " + nconf + ": config.json is not a JSON object\n");
  CHECK(run_error({"bench", nconf, "--iterations", "1"}) ==
        "hfjit: error: " + nconf + ": config.json is not a JSON object\n");
  const std::string inputs =
      tampered("cls.pt", "inputs.pt", "hfjit/meta.json",
               [](nlohmann::json& m) { m["inputs"][0]["name"] = "pixel_values"; });
  CHECK(run_error({"run", inputs, "good"}) ==
        "hfjit: error: " + inputs +
            ": forward takes an input 'pixel_values' that hfjit run cannot make\n");
  CHECK(run_error({"bench", inputs, "--iterations", "1"}) ==
        "hfjit: error: " + inputs +
            ": forward takes an input 'pixel_values' that hfjit bench cannot make\n");

  // sentence-transformers files on a feature-extraction artifact.
  const std::string lnorm = tampered("base.pt", "lnorm.pt", "modules.json", [](nlohmann::json& m) {
    m = nlohmann::json::parse(
        R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"1_LayerNorm","type":"sentence_transformers.models.LayerNorm"}])");
  });
  CHECK(run_error({"run", lnorm, "good"}) ==
        "hfjit: error: " + lnorm +
            ": modules.json: sentence-transformers module sentence_transformers.models.LayerNorm "
            "is not supported (hfjit runs Transformer, Pooling, Dense, Normalize, Dropout)\n");
  const std::string notlist =
      tampered("base.pt", "notlist.pt", "modules.json", [](nlohmann::json& m) {
        m = {{"type", "sentence_transformers.models.Pooling"}};
      });
  CHECK(run_error({"run", notlist, "good"}) ==
        "hfjit: error: " + notlist +
            ": modules.json should be a list of sentence-transformers modules\n");
  const std::string untyped = tampered(
      "base.pt", "untyped.pt", "modules.json",
      [](nlohmann::json& m) { m = nlohmann::json::parse(R"([{"idx":0,"path":"","type":7}])"); });
  CHECK_THAT(
      run_error({"run", untyped, "good"}),
      Catch::Contains("modules.json: each module should be an object with a string \"type\""));
  const std::string pooled =
      tampered("base.pt", "pooled.pt", "modules.json", [](nlohmann::json& m) {
        m = nlohmann::json::parse(
            R"([{"idx":0,"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}])");
      });
  const std::string pool_bad =
      tampered("pooled.pt", "pool_bad.pt", "1_Pooling/config.json", [](nlohmann::json& p) {
        p = {{"word_embedding_dimension", 32}, {"pooling_mode_mean_tokens", "yes"}};
      });
  CHECK(run_error({"run", pool_bad, "good"}) ==
        "hfjit: error: " + pool_bad +
            ": 1_Pooling/config.json: \"pooling_mode_mean_tokens\" should be true or false\n");
  // The same artifact with a well-formed pooling config runs (the check is not over-eager).
  const std::string pool_ok =
      tampered("pooled.pt", "pool_ok.pt", "1_Pooling/config.json", [](nlohmann::json& p) {
        p = {{"word_embedding_dimension", 32}, {"pooling_mode_mean_tokens", true}};
      });
  CliResult ok = run_cli({"run", pool_ok, "good", "--json"});
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("embedding"));
  const std::string pool_arr =
      tampered("pooled.pt", "pool_arr.pt", "1_Pooling/config.json", [](nlohmann::json& p) {
        p = {1, 2};
      });
  CHECK(run_error({"run", pool_arr, "good"}) ==
        "hfjit: error: " + pool_arr + ": 1_Pooling/config.json is not a JSON object\n");
  const std::string seq =
      tampered("pool_ok.pt", "seq.pt", "sentence_bert_config.json", [](nlohmann::json& b) {
        b = {{"max_seq_length", -1}};
      });
  CHECK(run_error({"run", seq, "good"}) ==
        "hfjit: error: " + seq +
            ": sentence_bert_config.json: \"max_seq_length\" should be a non-negative integer\n");
  const std::string sb_arr = tampered("pool_ok.pt", "sb_arr.pt", "sentence_bert_config.json",
                                      [](nlohmann::json& b) { b = {128}; });
  CHECK(run_error({"run", sb_arr, "good"}) ==
        "hfjit: error: " + sb_arr + ": sentence_bert_config.json is not a JSON object\n");

  // The tokenizer and generation configs, and num_labels when there is no id2label.
  const std::string clean =
      tampered("cls.pt", "clean.pt", "tokenizer_config.json",
               [](nlohmann::json& c) { c["clean_up_tokenization_spaces"] = "yes"; });
  CHECK(run_error({"run", clean, "good"}) ==
        "hfjit: error: " + clean +
            ": tokenizer_config.json: \"clean_up_tokenization_spaces\" should be true or false\n");
  const std::string gen =
      tampered("cls.pt", "gen.pt", "generation_config.json", [](nlohmann::json& g) { g = {1}; });
  CHECK(run_error({"run", gen, "good"}) ==
        "hfjit: error: " + gen + ": generation_config.json is not a JSON object\n");
  const std::string nlab = tampered("cls.pt", "nlab.pt", "config.json", [](nlohmann::json& c) {
    c.erase("id2label");
    c["num_labels"] = 0;
  });
  CHECK(run_error({"run", nlab, "good"}) ==
        "hfjit: error: " + nlab + ": config.json: \"num_labels\" should be a positive integer\n");
}
