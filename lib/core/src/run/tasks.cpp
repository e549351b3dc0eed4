// Post-processing of each `hfjit run` task into its typed result (results.h),
// with the semantics (and the float32 arithmetic) of the transformers
// pipelines of the same name:
// transformers/pipelines/{fill_mask,text_classification,token_classification,
// question_answering,feature_extraction,text_generation}.py, and of
// sentence-transformers' modules (hfjit/sentence_transformers.h).

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hfjit/error.h"
#include "hfjit/tokenizers/unicode.h"
#include "runner_internal.h"

namespace hfjit::run {
namespace {

std::vector<const Encoding*> pointers(const std::vector<Encoding>& encodings) {
  std::vector<const Encoding*> out;
  for (const Encoding& e : encodings) out.push_back(&e);
  return out;
}

// numpy's float32 softmax as the pipelines write it: exp(x - max) / sum.
std::vector<float> softmax(const float* x, size_t n) {
  std::vector<float> out(n);
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += out[i] = std::exp(x[i] - m);
  for (float& v : out) v /= sum;
  return out;
}

size_t argmax(const std::vector<float>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

int64_t top_k_or(const Context& c, int64_t fallback) {
  if (!c.opt.top_k) return fallback;
  if (*c.opt.top_k == 0) throw Error("--top-k must be >= 1 for " + c.task);
  return *c.opt.top_k;
}

}  // namespace

// ---------------------------------------------------------------- fill-mask

std::vector<FillMaskResult> fill_mask(Context& c, const std::vector<RunInput>& inputs) {
  const int64_t mask_id = *c.tok->special_tokens().mask;
  const std::string mask_token = c.tok->id_to_token(mask_id).value_or("[MASK]");
  std::vector<Encoding> encs;
  std::vector<std::vector<int64_t>> positions;
  for (const RunInput& in : inputs) {
    encs.push_back(c.encode(in));
    std::vector<int64_t> pos;
    for (size_t t = 0; t < encs.back().size(); ++t)
      if (encs.back().ids[t] == mask_id) pos.push_back(static_cast<int64_t>(t));
    if (pos.empty())
      throw Error(in.where + ": no " + mask_token + " token in the text (fill-mask fills one)");
    positions.push_back(std::move(pos));
  }
  const at::Tensor logits = c.forward(pointers(encs), {c.output_index("logits", 0)})[0];
  const int64_t k = std::min<int64_t>(top_k_or(c, 5), logits.size(-1));
  const int64_t pad = c.tok->special_tokens().pad.value_or(c.cfg.pad_id);

  std::vector<FillMaskResult> results;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const at::Tensor rows = logits[static_cast<int64_t>(i)].index_select(
        0, at::tensor(positions[i], at::kLong));  // [masks, vocab]
    auto [values, predictions] = rows.softmax(-1).topk(k);
    values = values.contiguous();
    predictions = predictions.contiguous();
    const bool single = positions[i].size() == 1;
    FillMaskResult result;
    for (size_t m = 0; m < positions[i].size(); ++m) {
      std::vector<FillMaskCandidate> row;
      for (int64_t j = 0; j < k; ++j) {
        const float v = values[static_cast<int64_t>(m)][j].item<float>();
        const int64_t p = predictions[static_cast<int64_t>(m)][j].item<int64_t>();
        std::vector<int64_t> tokens;
        for (size_t t = 0; t < encs[i].size(); ++t) {
          const int64_t id = static_cast<int64_t>(t) == positions[i][m] ? p : encs[i].ids[t];
          if (id != pad) tokens.push_back(id);
        }
        row.push_back({v, p, c.decode({p}, false), c.decode(tokens, single)});
      }
      result.masks.push_back(std::move(row));
    }
    results.push_back(std::move(result));
  }
  return results;
}

// ------------------------------------------------------ text-classification

std::vector<ClassificationResult> text_classification(Context& c,
                                                      const std::vector<RunInput>& inputs) {
  std::vector<Encoding> encs;
  for (const RunInput& in : inputs) encs.push_back(c.encode(in));
  const at::Tensor logits =
      c.forward(pointers(encs), {c.output_index("logits", 0)})[0].contiguous();
  if (logits.dim() != 2)
    throw Error(context(c.path, "text-classification logits are not [batch, labels]"));
  const size_t n = static_cast<size_t>(logits.size(1));
  enum { None, Sigmoid, Softmax } fn = None;
  const TaskConfig& cfg = c.cfg;
  if (cfg.problem_type == "regression")
    fn = None;
  else if (cfg.problem_type == "multi_label_classification" || cfg.num_labels == 1)
    fn = Sigmoid;
  else if (cfg.problem_type == "single_label_classification" || cfg.num_labels > 1)
    fn = Softmax;

  std::vector<ClassificationResult> results;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const float* x = logits[static_cast<int64_t>(i)].data_ptr<float>();
    std::vector<float> scores(x, x + n);
    if (fn == Softmax) scores = softmax(x, n);
    if (fn == Sigmoid)
      for (float& s : scores) s = 1.0f / (1.0f + std::exp(-s));
    if (!c.opt.top_k) {  // the pipeline's default: the best label only
      const size_t best = argmax(scores);
      // A plain string gives [result]; a {text, text_pair} pair gives the result itself.
      results.push_back(
          {{{c.label(static_cast<int64_t>(best)), scores[best]}}, inputs[i].text_pair.has_value()});
      continue;
    }
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    const size_t k = *c.opt.top_k == 0 ? n : std::min<size_t>(n, static_cast<size_t>(*c.opt.top_k));
    ClassificationResult list;
    for (size_t j = 0; j < k; ++j)
      list.labels.push_back({c.label(static_cast<int64_t>(order[j])), scores[order[j]]});
    results.push_back(std::move(list));
  }
  return results;
}

// ----------------------------------------------------- token-classification

namespace {

struct PreEntity {
  std::string word;
  std::vector<float> scores;
  size_t start = 0, end = 0;
  int64_t index = 0;
  bool is_subword = false;
};

struct Entity {
  std::string entity;
  float score = 0;
  int64_t index = -1;
  std::string word;
  size_t start = 0, end = 0;
};

std::pair<std::string, std::string> bi_tag(const std::string& name) {
  if (name.rfind("B-", 0) == 0) return {"B", name.substr(2)};
  if (name.rfind("I-", 0) == 0) return {"I", name.substr(2)};
  return {"I", name};
}

bool is_ignored(const Context& c, const std::string& label) {
  return std::find(c.opt.ignore_labels.begin(), c.opt.ignore_labels.end(), label) !=
         c.opt.ignore_labels.end();
}

// The pipeline's pre-entities of one row: each non-special token with its
// label scores, text span and whether it continues the word before it.
std::vector<PreEntity> pre_entities(const Context& c, const Encoding& e, const std::string& text,
                                    const at::Tensor& row, size_t n_labels) {
  const std::u32string sentence = tokenizers::to_u32(tokenizers::sanitize_utf8(text));
  const bool word_aware = c.tok->has_continuing_subword_prefix();
  const std::optional<int64_t> unk = c.tok->special_tokens().unk;
  std::vector<PreEntity> pre;
  for (size_t t = 0; t < e.size(); ++t) {
    if (e.special_tokens_mask[t]) continue;
    PreEntity p;
    p.scores = softmax(row[static_cast<int64_t>(t)].data_ptr<float>(), n_labels);
    p.word = e.tokens[t];
    p.start = e.offsets[t].first;
    p.end = e.offsets[t].second;
    p.index = static_cast<int64_t>(t);
    const std::u32string word_ref =
        p.start < sentence.size()
            ? sentence.substr(p.start, std::min(p.end, sentence.size()) - p.start)
            : U"";
    if (word_aware) {
      p.is_subword = tokenizers::count_chars(p.word) != word_ref.size();
    } else {
      // transformers' fallback heuristic: no space just before or at the token.
      const bool space_before =
          p.start >= 1 && p.start - 1 < sentence.size() && sentence[p.start - 1] == U' ';
      const bool space_at = p.start < sentence.size() && sentence[p.start] == U' ';
      p.is_subword = p.start > 0 && !space_before && !space_at;
    }
    if (unk && e.ids[t] == *unk) {
      p.word = tokenizers::to_utf8(word_ref);
      p.is_subword = false;
    }
    pre.push_back(std::move(p));
  }
  return pre;
}

// One word's entity from its tokens, by --aggregation first, max or average.
Entity aggregate_word(const Context& c, const std::vector<const PreEntity*>& group,
                      const std::string& strategy, size_t n_labels) {
  std::vector<std::string> words;
  for (const PreEntity* p : group) words.push_back(p->word);
  Entity w;
  w.word = c.tok->convert_tokens_to_string(words);
  w.start = group.front()->start;
  w.end = group.back()->end;
  std::vector<float> scores;
  if (strategy == "first") {
    scores = group.front()->scores;
  } else if (strategy == "max") {
    const PreEntity* best = group.front();
    float best_max = *std::max_element(best->scores.begin(), best->scores.end());
    for (const PreEntity* p : group) {
      const float m = *std::max_element(p->scores.begin(), p->scores.end());
      if (m > best_max) best = p, best_max = m;
    }
    scores = best->scores;
  } else {  // average
    scores.assign(n_labels, 0.0f);
    for (const PreEntity* p : group)
      for (size_t l = 0; l < n_labels; ++l) scores[l] += p->scores[l];
    for (float& s : scores) s /= static_cast<float>(group.size());
  }
  const size_t best = argmax(scores);
  w.entity = c.label(static_cast<int64_t>(best));
  w.score = scores[best];
  return w;
}

// Token entities (--aggregation none, simple) or word entities (first, max, average).
std::vector<Entity> entities_of(const Context& c, const std::vector<PreEntity>& pre,
                                const std::string& strategy, size_t n_labels) {
  std::vector<Entity> entities;
  if (strategy == "none" || strategy == "simple") {
    for (const PreEntity& p : pre) {
      const size_t best = argmax(p.scores);
      entities.push_back(
          {c.label(static_cast<int64_t>(best)), p.scores[best], p.index, p.word, p.start, p.end});
    }
    return entities;
  }
  std::vector<const PreEntity*> group;
  for (const PreEntity& p : pre) {
    if (!group.empty() && !p.is_subword) {
      entities.push_back(aggregate_word(c, group, strategy, n_labels));
      group.clear();
    }
    group.push_back(&p);
  }
  if (!group.empty()) entities.push_back(aggregate_word(c, group, strategy, n_labels));
  return entities;
}

// Adjacent entities with the same tag grouped (B- starts a new group), the
// ignored labels left out.
TokenClassificationResult group_entities(const Context& c, const std::vector<Entity>& entities) {
  TokenClassificationResult out;
  auto emit = [&](const std::vector<const Entity*>& g) {
    const std::string& first = g.front()->entity;
    const auto dash = first.find('-');
    const std::string name = dash == std::string::npos ? first : first.substr(dash + 1);
    if (is_ignored(c, name)) return;
    float sum = 0;
    std::vector<std::string> words;
    for (const Entity* en : g) {
      sum += en->score;
      words.push_back(en->word);
    }
    out.entities.push_back({true, name, sum / static_cast<float>(g.size()), 0,
                            c.tok->convert_tokens_to_string(words), g.front()->start,
                            g.back()->end});
  };
  std::vector<const Entity*> g;
  for (const Entity& en : entities) {
    if (!g.empty()) {
      const auto [bi, tag] = bi_tag(en.entity);
      const auto [last_bi, last_tag] = bi_tag(g.back()->entity);
      if (!(tag == last_tag && bi != "B")) {
        emit(g);
        g.clear();
      }
    }
    g.push_back(&en);
  }
  if (!g.empty()) emit(g);
  return out;
}

}  // namespace

std::vector<TokenClassificationResult> token_classification(Context& c,
                                                            const std::vector<RunInput>& inputs) {
  const std::string& strategy = c.opt.aggregation;
  std::vector<Encoding> encs;
  for (const RunInput& in : inputs) encs.push_back(c.encode(in));
  const at::Tensor logits =
      c.forward(pointers(encs), {c.output_index("logits", 0)})[0].contiguous();
  const size_t n_labels = static_cast<size_t>(logits.size(-1));

  std::vector<TokenClassificationResult> results;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<PreEntity> pre =
        pre_entities(c, encs[i], inputs[i].text, logits[static_cast<int64_t>(i)], n_labels);
    const std::vector<Entity> entities = entities_of(c, pre, strategy, n_labels);
    if (strategy != "none") {
      results.push_back(group_entities(c, entities));
      continue;
    }
    TokenClassificationResult out;
    for (const Entity& en : entities)
      if (!is_ignored(c, en.entity))
        out.entities.push_back({false, en.entity, en.score, en.index, en.word, en.start, en.end});
    results.push_back(std::move(out));
  }
  return results;
}

// ------------------------------------------------------- question-answering

namespace {

// One answer text of a question, with its summed score.
struct Candidate {
  double score;  // a Python float: scores of one answer text add up in double
  size_t start, end;
  std::u32string lower;  // the answer's text, lowercased
};

// A start/end token pair and its probability.
struct Span {
  float score;
  size_t s, e;
};

// The windows (question + context chunk, --doc-stride apart) of one input.
std::vector<Encoding> qa_windows(Context& c, const RunInput& in, int64_t length, int64_t stride) {
  if (in.text.empty()) throw Error(in.where + ": the context is empty");
  if (in.question->empty()) throw Error(in.where + ": the question is empty");
  if (length > 0) {
    TruncationParams tp;
    tp.max_length = static_cast<size_t>(length);
    tp.strategy = TruncationStrategy::OnlySecond;
    tp.stride = static_cast<size_t>(stride);
    c.tok->set_truncation(tp);
  } else {
    c.tok->set_truncation(std::nullopt);
  }
  try {
    return c.tok->encode_windows(*in.question, in.text);
  } catch (const Error& e) {
    throw Error(in.where + ": " + e.what());
  }
}

// The best top_k * 2 + 10 spans s <= e < s + max_answer_len (transformers >= 4.53
// draws that many: align_to_words drops some), best first; row-major order
// breaks ties, as argmax/argsort do.
std::vector<Span> best_spans(const std::vector<float>& ps, const std::vector<float>& pe,
                             int64_t max_answer, int64_t top_k) {
  const size_t n = ps.size();
  std::vector<Span> spans;
  for (size_t s = 0; s < n; ++s)
    for (size_t t = 0; t < n; ++t) {
      const bool valid = t >= s && static_cast<int64_t>(t - s) < max_answer;
      spans.push_back({valid ? ps[s] * pe[t] : 0.0f, s, t});
    }
  const size_t k = std::min(spans.size(), static_cast<size_t>(top_k) * 2 + 10);
  std::partial_sort(spans.begin(), spans.begin() + static_cast<int64_t>(k), spans.end(),
                    [](const Span& a, const Span& b) {
                      return a.score > b.score ||
                             (a.score == b.score && (a.s < b.s || (a.s == b.s && a.e < b.e)));
                    });
  spans.resize(k);
  return spans;
}

// A span's answer in the context's characters, snapped to whole words (the pipeline's
// align_to_words).
std::pair<size_t, size_t> align_to_words(const Encoding& e, const std::vector<int64_t>& seq,
                                         const Span& sp) {
  size_t start = e.offsets[sp.s].first, end = e.offsets[sp.e].second;
  const int64_t ws = e.word_ids[sp.s], we = e.word_ids[sp.e];
  if (ws >= 0 && we >= 0 && seq[sp.s] == 1 && seq[sp.e] == 1) {
    bool found_s = false;
    for (size_t t = 0; t < e.size(); ++t) {
      if (seq[t] != 1) continue;
      if (e.word_ids[t] == ws && !found_s) start = e.offsets[t].first, found_s = true;
      if (e.word_ids[t] == we) end = e.offsets[t].second;
    }
  }
  return {start, end};
}

// Adds one window's candidates to `answers`, merging those whose answers are
// the same text case-insensitively (scores added; the first keeps its span).
// Returns the window's null score (start and end at token 0).
float add_window_answers(const Context& c, const Encoding& e, const float* start_logits,
                         const float* end_logits, const std::u32string& context32, int64_t top_k,
                         std::vector<Candidate>& answers) {
  const size_t n = e.size();
  const std::vector<int64_t> seq = e.sequence_ids();
  const std::optional<int64_t> cls = c.tok->special_tokens().cls;
  // Tokens an answer may use: the context's (and [CLS], whose probability is then zeroed).
  std::vector<char> allowed(n);
  for (size_t t = 0; t < n; ++t) {
    bool p_mask = seq[t] != 1;
    if (cls && e.ids[t] == *cls) p_mask = false;
    allowed[t] = !p_mask && (e.attention_mask.empty() || e.attention_mask[t]);
  }
  auto probabilities = [&](const float* p) {
    std::vector<float> x(n);
    for (size_t t = 0; t < n; ++t) x[t] = allowed[t] ? p[t] : -10000.0f;
    return softmax(x.data(), n);
  };
  std::vector<float> ps = probabilities(start_logits), pe = probabilities(end_logits);
  const float null_score = ps[0] * pe[0];
  ps[0] = pe[0] = 0.0f;
  // transformers tests membership in undesired_tokens.nonzero() of a [1, n]
  // array, whose row indices are all 0: token 0 always passes.
  auto desired = [&](size_t t) { return t == 0 || allowed[t]; };
  for (const Span& sp : best_spans(ps, pe, c.opt.max_answer_len, top_k)) {
    if (!desired(sp.s) || !desired(sp.e)) continue;
    const auto [start, end] = align_to_words(e, seq, sp);
    std::u32string lower;
    if (start < end && start < context32.size())
      for (char32_t ch : context32.substr(start, end - start))
        tokenizers::append_lowercase(ch, lower);
    auto same = std::find_if(answers.begin(), answers.end(),
                             [&](const Candidate& a) { return a.lower == lower; });
    if (same != answers.end())
      same->score += static_cast<double>(sp.score);
    else
      answers.push_back({static_cast<double>(sp.score), start, end, std::move(lower)});
  }
  return null_score;
}

}  // namespace

std::vector<QuestionAnsweringResult> question_answering(Context& c,
                                                        const std::vector<RunInput>& inputs) {
  const int64_t length = c.max_length();
  const int64_t stride = c.opt.doc_stride.value_or(std::min<int64_t>(length / 2, 128));
  if (length > 0 && stride >= length)
    throw Error("--doc-stride " + std::to_string(stride) +
                " must be smaller than the traced length " + std::to_string(length));
  const int64_t top_k = top_k_or(c, 1);

  // Every window of every input, then one forward pass over all of them.
  std::vector<std::vector<Encoding>> windows;
  for (const RunInput& in : inputs) windows.push_back(qa_windows(c, in, length, stride));
  std::vector<const Encoding*> all;
  for (const auto& w : windows)
    for (const Encoding& e : w) all.push_back(&e);
  const std::vector<at::Tensor> out =
      c.forward(all, {c.output_index("start_logits", 0), c.output_index("end_logits", 1)});
  const at::Tensor starts = out[0].contiguous(), ends = out[1].contiguous();

  std::vector<QuestionAnsweringResult> results;
  int64_t row = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::u32string context32 = tokenizers::to_u32(tokenizers::sanitize_utf8(inputs[i].text));
    std::vector<Candidate> answers;
    float min_null = 1000000.0f;
    for (const Encoding& e : windows[i]) {
      const float null_score =
          add_window_answers(c, e, starts[row].data_ptr<float>(), ends[row].data_ptr<float>(),
                             context32, top_k, answers);
      ++row;
      if (c.opt.handle_impossible_answer) min_null = std::min(min_null, null_score);
    }
    std::vector<Candidate> sorted = answers;
    if (c.opt.handle_impossible_answer) sorted.push_back({static_cast<double>(min_null), 0, 0, {}});
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (sorted.size() > static_cast<size_t>(top_k)) sorted.resize(static_cast<size_t>(top_k));
    QuestionAnsweringResult result;
    for (const Candidate& a : sorted) {
      const size_t s = std::min(a.start, context32.size()), e = std::min(a.end, context32.size());
      result.answers.push_back(
          {a.score, a.start, a.end, tokenizers::to_utf8(context32.substr(s, e > s ? e - s : 0))});
    }
    results.push_back(std::move(result));
  }
  return results;
}

// ------------------------------------ feature-extraction, sentence-embedding

namespace {

// The last hidden state of each input's tokens: [inputs, length, hidden], and the encodings.
at::Tensor hidden_states(Context& c, const std::vector<RunInput>& inputs,
                         std::vector<Encoding>& encs) {
  for (const RunInput& in : inputs) encs.push_back(c.encode(in));
  const at::Tensor hidden =
      c.forward(pointers(encs), {c.output_index("last_hidden_state", 0)})[0].contiguous();
  if (hidden.dim() != 3)
    throw Error(context(c.path, "the token embeddings are not [batch, length, hidden]"));
  return hidden;
}

}  // namespace

std::vector<TokenEmbeddings> token_embeddings(Context& c, const std::vector<RunInput>& inputs) {
  std::vector<Encoding> encs;
  const at::Tensor hidden = hidden_states(c, inputs, encs);
  const int64_t h = hidden.size(2);
  std::vector<TokenEmbeddings> results;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int64_t n = static_cast<int64_t>(encs[i].size());
    const at::Tensor tokens = hidden[static_cast<int64_t>(i)].narrow(0, 0, n).contiguous();
    const float* p = tokens.data_ptr<float>();
    TokenEmbeddings e;
    for (int64_t t = 0; t < n; ++t) e.tokens.emplace_back(p + t * h, p + (t + 1) * h);
    results.push_back(std::move(e));
  }
  return results;
}

std::vector<Embedding> sentence_embeddings(Context& c, const std::vector<RunInput>& inputs) {
  // encode() without a prompt: the default prompt before each text
  // (SentenceTransformer.preprocess).
  std::vector<RunInput> prompted = inputs;
  for (RunInput& in : prompted) in.text = c.st_modules.default_prompt + in.text;
  std::vector<Encoding> encs;
  const at::Tensor hidden = hidden_states(c, prompted, encs);
  // The padded batch and its attention mask, as sentence-transformers pools them.
  at::Tensor mask = at::zeros({hidden.size(0), hidden.size(1)}, at::kLong);
  auto m = mask.accessor<int64_t, 2>();
  for (size_t i = 0; i < encs.size(); ++i)
    for (size_t t = 0; t < encs[i].size(); ++t)
      m[static_cast<int64_t>(i)][static_cast<int64_t>(t)] =
          encs[i].attention_mask.empty() ? 1 : encs[i].attention_mask[t];
  const at::Tensor vecs = c.st_modules.forward(hidden.to(at::kFloat), mask).contiguous();
  const float* p = vecs.data_ptr<float>();
  const int64_t dim = vecs.size(1);
  std::vector<Embedding> results;
  for (int64_t i = 0; i < vecs.size(0); ++i)
    results.push_back({std::vector<float>(p + i * dim, p + (i + 1) * dim)});
  return results;
}

// ---------------------------------------------------------- text-generation

at::Tensor repetition_penalty(at::Tensor scores, const at::Tensor& ids, double penalty) {
  if (penalty == 1.0) return scores;
  at::Tensor score = scores.gather(1, ids);
  score = at::where(score < 0, score * penalty, score / penalty);
  return scores.scatter(1, ids, score);
}

bool should_stop(const Context& c, const std::vector<int64_t>& ids) {
  if (ids.empty()) return false;
  if (std::find(c.cfg.eos_ids.begin(), c.cfg.eos_ids.end(), ids.back()) != c.cfg.eos_ids.end())
    return true;
  const std::vector<std::string>& stops =
      c.opt.stop_strings.empty() ? c.cfg.stop_strings : c.opt.stop_strings;
  if (stops.empty()) return false;
  // The raw text (special tokens kept, no clean-up), with and without the last token:
  // a stop string counts when it ends past the text before the last token.
  // transformers matches the tokens' bytes, where an incomplete UTF-8 sequence is
  // bytes, not U+FFFD: here U+FFFD (what decoding makes of such bytes) matches nothing.
  auto raw = [&](std::vector<int64_t> part) {
    std::string t = c.tok->decode(part, false, false);
    static const std::string kReplacement = "\xEF\xBF\xBD";
    for (size_t at = t.find(kReplacement); at != std::string::npos; at = t.find(kReplacement, at))
      t.replace(at, kReplacement.size(), 1, '\0');
    return t;
  };
  const std::string text = raw(ids);
  const std::string before = raw(std::vector<int64_t>(ids.begin(), ids.end() - 1));
  for (const std::string& stop : stops) {
    const size_t from = before.size() >= stop.size() ? before.size() - stop.size() + 1 : 0;
    if (text.find(stop, from) != std::string::npos) return true;
  }
  return false;
}

at::Tensor next_tokens(const RunOptions& o, at::Tensor scores, at::Generator& gen) {
  const bool sampling = (o.temperature && *o.temperature > 0) || o.top_p || o.top_k;
  if (!sampling) return scores.argmax(-1);
  const double temperature = o.temperature.value_or(1.0);
  const int64_t top_k = o.top_k.value_or(50);  // transformers' GenerationConfig default
  const double top_p = o.top_p.value_or(1.0);
  // transformers' warpers in generate()'s order: temperature, top-k, top-p; then multinomial.
  if (temperature != 1.0) scores = scores / temperature;
  const int64_t k = std::min<int64_t>(std::max<int64_t>(top_k, 1), scores.size(-1));
  if (k > 0 && k < scores.size(-1)) {
    const at::Tensor kth = std::get<0>(scores.topk(k)).select(-1, k - 1).unsqueeze(-1);
    scores = scores.masked_fill(scores < kth, -std::numeric_limits<float>::infinity());
  }
  if (top_p < 1.0) {
    auto [sorted, idx] = scores.sort(-1, false);
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor remove = cumulative <= (1 - top_p);
    remove.narrow(-1, remove.size(-1) - 1, 1).fill_(false);
    remove = remove.scatter(1, idx, remove);
    scores = scores.masked_fill(remove, -std::numeric_limits<float>::infinity());
  }
  return at::multinomial(scores.softmax(-1), 1, false, gen).squeeze(1);
}

std::vector<Generation> text_generation(Context& c, const std::vector<RunInput>& inputs) {
  const int64_t length = c.max_length();
  const size_t logits_index = c.output_index("logits", 0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.opt.seed);

  c.tok->set_truncation(std::nullopt);
  std::vector<Encoding> seqs;
  std::vector<size_t> prompt_len;
  for (const RunInput& in : inputs) {
    if (in.text_pair) throw Error(in.where + ": text-generation takes one text");
    Encoding e = c.tok->encode(in.text);
    if (e.size() == 0) throw Error(in.where + ": the prompt is empty");
    if (length > 0 && static_cast<int64_t>(e.size()) >= length)
      throw Error(in.where + ": the prompt has " + std::to_string(e.size()) +
                  " tokens, which fills the traced length " + std::to_string(length) +
                  " (trace with a larger --max-length)");
    prompt_len.push_back(e.size());
    seqs.push_back(std::move(e));
  }
  const size_t longest = *std::max_element(prompt_len.begin(), prompt_len.end());
  std::vector<bool> done(seqs.size(), false);
  for (int64_t step = 0; step < c.opt.max_new_tokens.value_or(20); ++step) {
    std::vector<size_t> active;
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (done[i]) continue;
      if (length > 0 && static_cast<int64_t>(seqs[i].size()) >= length) {
        c.warn(inputs[i].where, "stopped at the traced length " + std::to_string(length) +
                                    " after " + std::to_string(seqs[i].size() - prompt_len[i]) +
                                    " new tokens");
        done[i] = true;
        continue;
      }
      active.push_back(i);
    }
    if (active.empty()) break;
    std::vector<const Encoding*> batch;
    for (size_t i : active) batch.push_back(&seqs[i]);
    const at::Tensor logits = c.forward(batch, {logits_index})[0];
    std::vector<at::Tensor> last;
    for (size_t r = 0; r < active.size(); ++r)
      last.push_back(
          logits[static_cast<int64_t>(r)][static_cast<int64_t>(seqs[active[r]].size() - 1)]);
    at::Tensor scores = at::stack(last).to(at::kFloat);
    if (c.opt.repetition_penalty != 1.0)
      for (size_t r = 0; r < active.size(); ++r) {
        // generate's input_ids: the row, and the pad token where the row was padded.
        std::vector<int64_t> row = seqs[active[r]].ids;
        if (prompt_len[active[r]] < longest) row.push_back(c.cfg.pad_id);
        const int64_t i = static_cast<int64_t>(r);
        scores.narrow(0, i, 1).copy_(repetition_penalty(scores.narrow(0, i, 1),
                                                        at::tensor(row, at::kLong).unsqueeze(0),
                                                        c.opt.repetition_penalty));
      }
    const at::Tensor next = next_tokens(c.opt, scores, gen).contiguous();
    for (size_t r = 0; r < active.size(); ++r) {
      const int64_t id = next[static_cast<int64_t>(r)].item<int64_t>();
      Encoding& e = seqs[active[r]];
      e.ids.push_back(id);
      e.attention_mask.push_back(1);
      if (!e.type_ids.empty()) e.type_ids.push_back(0);
      if (should_stop(c, e.ids)) done[active[r]] = true;
    }
  }

  std::vector<Generation> results;
  for (size_t i = 0; i < seqs.size(); ++i) {
    // The pipeline's FULL_TEXT: the prompt as given, then what decoding all ids
    // adds past the decoded prompt (both decodes clean up tokenization spaces).
    const std::vector<int64_t> prompt(seqs[i].ids.begin(),
                                      seqs[i].ids.begin() + static_cast<int64_t>(prompt_len[i]));
    const std::string full = c.tok->decode(seqs[i].ids, true, true);
    const size_t cut = count_code_points(c.tok->decode(prompt, true, true));
    results.push_back({inputs[i].text + substr_chars(full, cut, std::string::npos)});
  }
  return results;
}

}  // namespace hfjit::run
