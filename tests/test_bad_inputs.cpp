// The bad-input catalog: every entry runs the real CLI (build/hfjit -q ...) and
// must exit with its code, print exactly one line on stderr ("hfjit: error:
// ...") naming the culprit, leave no file behind and leave its inputs as they
// were. docs/errors.md lists these messages with what to do about each.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/io/file.h"
#include "hfjit/io/safetensors.h"
#include "hfjit/trace.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace hfjit::test {
namespace {

struct Bad {
  std::string what;               // the situation, for the report
  std::vector<std::string> args;  // after "hfjit -q"
  std::string message;            // a part of the one error line
  int code = 1;
};

// A copy of a fixture model folder with one file replaced or removed.
std::string variant(const TempFolder& tmp, const std::string& name, const std::string& from,
                    const std::string& file = "",
                    const std::optional<std::string>& contents = std::nullopt) {
  const fs::path dir = tmp.path() / "in" / name;
  fs::create_directories(dir.parent_path());
  fs::copy(fixture("models/" + from), dir, fs::copy_options::recursive);
  if (!file.empty()) {
    if (contents)
      write_bytes((dir / file).string(), *contents);
    else
      fs::remove(dir / file);
  }
  return dir.string();
}

std::string edited_config(const std::string& from, const nlohmann::json& patch) {
  nlohmann::json c =
      nlohmann::json::parse(read_text_file(fixture("models/" + from + "/config.json")));
  c.merge_patch(patch);
  return c.dump(2);
}

// model.safetensors of `from` without tensor `drop`, or with `rename` -> new name.
std::string weights_without(const std::string& from, const std::string& drop) {
  const std::vector<uint8_t> bytes = read_bytes(fixture("models/" + from + "/model.safetensors"));
  const SafetensorsHeader h = parse_safetensors(bytes.data(), bytes.size(), from);
  std::vector<TensorBytes> kept;
  for (const auto& t : h.tensors) {
    if (t.name == drop) continue;
    TensorBytes tb;
    tb.name = t.name;
    tb.dtype = t.dtype;
    tb.shape = t.shape;
    tb.data = bytes.data() + h.data_start + t.begin;
    tb.nbytes = t.end - t.begin;
    kept.push_back(tb);
  }
  TempFolder tmp;
  write_safetensors(tmp / "w.safetensors", kept, {});
  const std::vector<uint8_t> out = read_bytes(tmp / "w.safetensors");
  return std::string(out.begin(), out.end());
}

}  // namespace

TEST_CASE("bad inputs: the catalog, through the real CLI", "[errors][catalog]") {
  TempFolder tmp;
  const fs::path in = tmp.path() / "in", out = tmp.path() / "out";
  fs::create_directories(in);
  fs::create_directories(out);
  auto o = [&](const std::string& name) { return (out / name).string(); };
  auto i = [&](const std::string& name) { return (in / name).string(); };

  // Inputs.
  const std::string mlm = variant(tmp, "bert-mlm", "bert-mlm");
  const std::string pt = i("bert-mlm.pt");
  TraceOptions to;
  to.max_length = 16;
  to.batch_size = 2;
  trace_model(mlm, pt, to);
  const std::string qa_pt = i("bert-qa.pt");
  trace_model(fixture("models/bert-qa"), qa_pt, to);
  const std::string cls_pt = i("bert-seqcls.pt");
  trace_model(fixture("models/bert-seqcls"), cls_pt, to);
  const std::string gpt_pt = i("gpt2-lm.pt");
  trace_model(fixture("models/gpt2-lm"), gpt_pt, to);
  write_bytes(i("empty_question.jsonl"), "{\"question\": \"\", \"context\": \"some context\"}\n");
  write_bytes(i("empty_context.jsonl"), "{\"question\": \"who?\", \"context\": \"\"}\n");
  write_bytes(i("context_only.jsonl"), "{\"context\": \"some context\"}\n");
  write_bytes(i("no_text.jsonl"), "{\"words\": \"hello\"}\n");
  write_bytes(i("qa.jsonl"), "{\"question\": \"who?\", \"context\": \"a context\"}\n");
  write_bytes(i("pair.jsonl"), "{\"text\": \"a prompt\", \"text_pair\": \"second\"}\n");
  write_bytes(i("text.txt"), "just some text\n");
  write_bytes(i("empty.txt"), "");
  write_bytes(i("broken.jsonl"), "{\"text\": \"the [MASK] sat\"}\n{\"text\": \"x\"\n");
  write_bytes(i("question_only.jsonl"), "{\"question\": \"who?\"}\n");
  write_bytes(i("number_text.jsonl"), "{\"text\": 42}\n");
  write_bytes(i("not_a_model.pt"), "PK\x03\x04 not really a zip");
  fs::create_directories(i("empty_dir"));
  const std::string no_config = variant(tmp, "no-config", "bert-mlm", "config.json");
  const std::string bad_json =
      variant(tmp, "bad-json", "bert-mlm", "config.json", "{\"model_type\": \"bert\",");
  const std::string falcon =
      variant(tmp, "falcon", "bert-mlm", "config.json",
              edited_config("bert-mlm",
                            {{"model_type", "falcon"}, {"architectures", {"FalconForCausalLM"}}}));
  const std::string unknown_arch =
      variant(tmp, "unknown-arch", "bert-mlm", "config.json",
              edited_config("bert-mlm", {{"architectures", {"BertForPreTrainingMagic"}}}));
  const std::string odd_heads = variant(tmp, "odd-heads", "bert-mlm", "config.json",
                                        edited_config("bert-mlm", {{"num_attention_heads", 5}}));
  const std::string no_weights = variant(tmp, "no-weights", "bert-mlm", "model.safetensors");
  const std::string truncated = variant(tmp, "truncated", "bert-mlm", "model.safetensors", "abc");
  const std::string missing_tensor =
      variant(tmp, "missing-tensor", "bert-mlm", "model.safetensors",
              weights_without("bert-mlm", "bert.encoder.layer.0.output.dense.weight"));
  const std::string wrong_vocab = variant(tmp, "wrong-vocab", "bert-mlm", "config.json",
                                          edited_config("bert-mlm", {{"vocab_size", 999}}));
  const std::string evil = variant(tmp, "evil", "bert-mlm", "model.safetensors");
  fs::copy_file(fixture("bad/os_system.bin"), fs::path(evil) / "pytorch_model.bin");
  const std::string shard_escape = variant(tmp, "shard-escape", "bert-mlm", "model.safetensors");
  write_bytes(
      (fs::path(shard_escape) / "model.safetensors.index.json").string(),
      R"({"weight_map": {"bert.embeddings.word_embeddings.weight": "../../outside.safetensors"}})");
  const std::string bad_tokenizer = variant(tmp, "bad-tokenizer", "bert-mlm", "tokenizer.json",
                                            "{\"model\": {\"type\": \"Nope\"}}");

  const std::vector<Bad> catalog = {
      // trace
      {"model path that does not exist",
       {"trace", i("nope"), "-o", o("m.pt")},
       "nope: no such folder, and not a hub id"},
      {"hub id not in the cache",
       {"trace", "someorg/never-downloaded", "-o", o("m.pt")},
       "hfjit never downloads"},
      {"folder without config.json",
       {"trace", no_config, "-o", o("m.pt")},
       "no-config: not a model folder (no config.json)"},
      {"empty folder", {"trace", i("empty_dir"), "-o", o("m.pt")}, "empty_dir: not a model folder"},
      {"config.json not JSON",
       {"trace", bad_json, "-o", o("m.pt")},
       "bad-json/config.json: is not valid JSON"},
      {"unsupported model type",
       {"trace", falcon, "-o", o("m.pt")},
       "model type \"falcon\" is not supported"},
      {"unsupported architecture",
       {"trace", unknown_arch, "-o", o("m.pt")},
       "BertForPreTrainingMagic"},
      {"heads do not divide the hidden size",
       {"trace", odd_heads, "-o", o("m.pt")},
       "is not a multiple of the number of attention heads"},
      {"no weights", {"trace", no_weights, "-o", o("m.pt")}, "no weights found"},
      {"truncated safetensors",
       {"trace", truncated, "-o", o("m.pt")},
       "truncated safetensors file"},
      {"a weight missing",
       {"trace", missing_tensor, "-o", o("m.pt")},
       "bert.encoder.layer.0.output.dense.weight"},
      {"weights of another shape than config.json says",
       {"trace", wrong_vocab, "-o", o("m.pt")},
       "word_embeddings.weight"},
      {"pickle that calls os.system",
       {"trace", evil, "-o", o("m.pt")},
       "global os.system is not allowed"},
      {"shard index pointing outside the folder",
       {"trace", shard_escape, "-o", o("m.pt")},
       "outside"},
      {"task the family lacks",
       {"trace", mlm, "-o", o("m.pt"), "--task", "text-generation"},
       "task \"text-generation\" is not supported for model type \"bert\""},
      {"length above max_position_embeddings",
       {"trace", mlm, "-o", o("m.pt"), "--max-length", "1000"},
       "exceeds the model's 64 positions"},
      {"length zero",
       {"trace", mlm, "-o", o("m.pt"), "--max-length", "0"},
       "--max-length must be positive (got 0)"},
      {"negative batch",
       {"trace", mlm, "-o", o("m.pt"), "--batch-size", "-2"},
       "--batch-size must be positive (got -2)"},
      {"negative extra length",
       {"trace", mlm, "-o", o("m.pt"), "--lengths", "8,-4"},
       "--lengths must be positive (got -4)"},
      {"zero tolerance", {"trace", mlm, "-o", o("m.pt"), "--atol", "0"}, "--atol must be positive"},
      {"--dynamic with --lengths",
       {"trace", mlm, "-o", o("m.pt"), "--dynamic", "--lengths", "8"},
       "--lengths is for static traces"},
      {"--dynamic with GPT-2's reorder_and_upcast_attn",
       {"trace", fixture("models/gpt2-options"), "-o", o("m.pt"), "--dynamic"},
       "--dynamic does not support GPT-2's reorder_and_upcast_attn"},
      {"--dtype outside float32/bfloat16",
       {"trace", mlm, "-o", o("m.pt"), "--dtype", "float16"},
       "--dtype must be float32 or bfloat16 (got \"float16\")"},
      {"--quantize outside none/int8",
       {"trace", mlm, "-o", o("m.pt"), "--quantize", "int4"},
       "--quantize must be none or int8 (got \"int4\")"},
      {"--quantize int8 with --dtype bfloat16",
       {"trace", mlm, "-o", o("m.pt"), "--quantize", "int8", "--dtype", "bfloat16"},
       "--quantize int8 works on float32 weights; drop --dtype bfloat16"},
      {"--min-cosine above 1",
       {"trace", mlm, "-o", o("m.pt"), "--quantize", "int8", "--min-cosine", "2"},
       "--min-cosine must be in (-1, 1]"},
      {"output folder missing", {"trace", mlm, "-o", o("missing/m.pt")}, "does not exist"},
      {"output is a folder", {"trace", mlm, "-o", out.string()}, "is a folder; give a file name"},
      {"output exists", {"trace", mlm, "-o", pt}, "already exists (use --force to replace it)"},
      {"no output", {"trace", mlm}, "--output is required", 2},
      // untie
      {"untie without output", {"untie", mlm}, "untie needs an output"},
      {"untie onto its input", {"untie", mlm, "-o", mlm}, "output is the input"},
      {"untie a .pt onto itself", {"untie", pt, "-o", pt}, "output is the input"},
      {"untie a file that is not TorchScript",
       {"untie", i("not_a_model.pt"), "-o", o("u.pt")},
       "not_a_model.pt"},
      {"untie an unsafe pickle", {"untie", evil, "-o", o("u")}, "global os.system is not allowed"},
      // run
      {"run a file that is not TorchScript",
       {"run", i("text.txt"), "x"},
       "text.txt: not a TorchScript file"},
      {"run a missing .pt", {"run", i("missing.pt"), "x"}, "missing.pt"},
      {"run without input", {"run", pt}, "no input: give TEXT arguments or --input FILE"},
      {"run an empty input file", {"run", pt, "--input", i("empty.txt")}, "empty.txt: empty input"},
      {"run a missing input file",
       {"run", pt, "--input", i("missing.txt")},
       "missing.txt: cannot open --input"},
      {"arguments and --input together", {"run", pt, "--input", i("text.txt"), "x"}, "not both"},
      {"malformed JSON line",
       {"run", pt, "--input", i("broken.jsonl")},
       "broken.jsonl:2: malformed JSON line"},
      {"JSON text that is not a string",
       {"run", pt, "--input", i("number_text.jsonl")},
       "number_text.jsonl:1: \"text\" must be a string"},
      {"question without context",
       {"run", qa_pt, "--input", i("question_only.jsonl")},
       "question_only.jsonl:1: a question without a context"},
      {"question-answering without a question",
       {"run", qa_pt, "a context"},
       "argument 1: question-answering needs a question and a context"},
      {"fill-mask without a mask", {"run", pt, "no mask here"}, "argument 1: no [MASK] token"},
      {"generation asked of an encoder",
       {"run", pt, "--task", "text-generation", "x"},
       "text-generation needs a causal language model"},
      {"a task the artifact cannot do",
       {"run", pt, "--task", "token-classification", "x"},
       "does not fit this artifact"},
      {"unknown task",
       {"run", pt, "--task", "speech-recognition", "x"},
       "unknown task 'speech-recognition'"},
      {"seq2seq task on an encoder",
       {"run", pt, "--task", "translation", "x"},
       "translation needs an encoder-decoder (MarianMT, T5)"},
      {"too long with --truncation error",
       {"run", pt, "--truncation", "error", "[MASK] a b c d e f g h i j k l m n o p q r s t u"},
       "longer than the traced length 16"},
      {"bad --top-k",
       {"run", cls_pt, "--top-k", "-3", "x"},
       "--top-k must be a positive number or 'all'"},
      {"bad --aggregation",
       {"run", cls_pt, "--aggregation", "mean", "x"},
       "unknown --aggregation 'mean'"},
      {"bad --top-p", {"run", cls_pt, "--top-p", "2", "x"}, "--top-p must be in (0, 1]"},
      {"--doc-stride not below the traced length",
       {"run", qa_pt, "--doc-stride", "16", "--question", "q?", "ctx"},
       "--doc-stride 16 must be smaller than the traced length 16"},
      {"--tokenizer that is not a folder",
       {"run", pt, "--tokenizer", i("text.txt"), "a [MASK]"},
       "--tokenizer is not a folder"},
      {"--tokenizer folder without tokenizer files",
       {"run", pt, "--tokenizer", i("empty_dir"), "a [MASK]"},
       "no tokenizer files"},
      {"broken tokenizer.json", {"run", "--tokenize", "--tokenizer", bad_tokenizer, "x"}, "Nope"},
      {".npy for a task without vectors",
       {"run", cls_pt, "--output", o("e.npy"), "x"},
       ".npy output holds one vector per input"},
      {"--output over the model",
       {"run", cls_pt, "--output", cls_pt, "x"},
       "would overwrite the model"},
      {"--output over the input",
       {"run", pt, "--input", i("text.txt"), "--output", i("text.txt")},
       "would overwrite the input"},
      {"--batch-size other than traced",
       {"run", cls_pt, "--batch-size", "3", "x"},
       "traced with batch size 2"},
      {"negative --max-new-tokens",
       {"run", gpt_pt, "--max-new-tokens", "-1", "x"},
       "--max-new-tokens must be >= 0"},
      {"negative --temperature",
       {"run", gpt_pt, "--temperature", "-1", "x"},
       "--temperature must be >= 0"},
      {"--max-answer-len zero",
       {"run", qa_pt, "--max-answer-len", "0", "--question", "q?", "ctx"},
       "--max-answer-len must be >= 1"},
      {"--max-length on an hfjit artifact",
       {"run", cls_pt, "--max-length", "8", "x"},
       "--max-length is for plain TorchScript files"},
      {"--top-k all for fill-mask",
       {"run", pt, "--top-k", "all", "a [MASK]"},
       "--top-k must be >= 1 for fill-mask"},
      {"empty question",
       {"run", qa_pt, "--input", i("empty_question.jsonl")},
       "empty_question.jsonl:1: the question is empty"},
      {"empty context",
       {"run", qa_pt, "--input", i("empty_context.jsonl")},
       "empty_context.jsonl:1: the context is empty"},
      {"context without question",
       {"run", qa_pt, "--input", i("context_only.jsonl")},
       "context_only.jsonl:1: a context without a question"},
      {"JSON line without text",
       {"run", cls_pt, "--input", i("no_text.jsonl")},
       "no_text.jsonl:1: a JSON line needs \"text\""},
      {"a question for another task",
       {"run", cls_pt, "--question", "q?", "x"},
       "a question is only for question-answering"},
      {"empty prompt", {"run", gpt_pt, ""}, "argument 1: the prompt is empty"},
      {"prompt as long as the traced length",
       {"run", gpt_pt, "a b c d e f g h i j k l m n o p q r s t"},
       "fills the traced length 16"},
      {"a text pair for generation",
       {"run", gpt_pt, "--input", i("pair.jsonl")},
       "pair.jsonl:1: text-generation takes one text"},
      {"--describe without a model", {"run", "--describe"}, "--describe needs a MODEL.pt"},
      {"--tokenize with a question",
       {"run", "--tokenize", pt, "--input", i("qa.jsonl")},
       "--tokenize takes \"text\" and \"text_pair\""},
      // bench
      {"bench a missing model",
       {"bench", i("nope.pt")},
       "nope.pt: no such folder, and not a hub id"},
      {"bench batch size zero",
       {"bench", pt, "--batch-sizes", "0"},
       "--batch-sizes must be positive (got 0)"},
      {"bench beyond the traced length",
       {"bench", pt, "--lengths", "100"},
       "exceeds the longest traced length 16"},
      {"bench --json and --csv",
       {"bench", pt, "--json", "--csv"},
       "--json and --csv are exclusive"},
      {"bench a broken folder", {"bench", bad_json}, "bad-json/config.json: is not valid JSON"},
  };

  const std::string inputs_before = tree_fingerprint(in.string());
  for (const Bad& b : catalog) {
    std::vector<std::string> args = {"-q"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    INFO(b.what);
    const CliResult r = run_cli(args);
    INFO("stderr: " << r.err);
    CHECK(r.code == b.code);
    CHECK(r.err.rfind("hfjit: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(b.message) != std::string::npos);
    CHECK(fs::is_empty(out));  // nothing written, not even a temporary file
  }
  CHECK(tree_fingerprint(in.string()) == inputs_before);  // no input touched
  CHECK(catalog.size() >= 40);
}

}  // namespace hfjit::test
