// translation, summarization and text2text-generation through an
// encoder-decoder artifact (hfjit trace of MarianMT or T5). Each batch of
// sources goes through the encode method once (every decoder layer's
// cross-attention keys and values); then each new token is one call of the
// decode method over a static self-attention cache. Greedy and beam search are
// transformers 5's generate(do_sample=False) step for step: the same logits
// processors (no_repeat_ngram_size, bad_words_ids, min_length,
// forced_eos_token_id) and the same beam bookkeeping as its _beam_search
// (2 x beams candidates a step, length penalty, early stopping true, false or
// "never"), in the same tensor operations. See docs/generation.md.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "hfjit/error.h"
#include "hfjit/tracer.h"
#include "runner_internal.h"

namespace hfjit::run {
namespace {

using json = nlohmann::json;

// ------------------------------------------------------------ configuration

std::optional<int64_t> integer_of(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) throw Error(where + ": \"" + key + "\" should be an integer");
  return it->get<int64_t>();
}

// An id or a list of ids ("eos_token_id").
std::vector<int64_t> ids_of(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  std::vector<int64_t> out;
  if (it->is_array())
    for (const json& v : *it) {
      if (!v.is_number_integer()) break;
      out.push_back(v.get<int64_t>());
    }
  if (!it->is_array() || out.size() != it->size())
    throw Error(where + ": \"" + key + "\" should be an integer or a list of integers");
  return out;
}

// The decoding defaults transformers 5 takes from one file.
void read_generation_keys(const json& j, const std::string& where, Seq2SeqConfig& s) {
  if (auto v = integer_of(j, "max_length", where)) s.max_length = *v;
  if (auto v = integer_of(j, "max_new_tokens", where)) s.max_new_tokens = *v;
  if (auto v = integer_of(j, "min_length", where)) s.min_length = *v;
  if (auto v = integer_of(j, "num_beams", where)) s.num_beams = *v;
  if (auto v = integer_of(j, "no_repeat_ngram_size", where)) s.no_repeat_ngram_size = *v;
  if (auto v = integer_of(j, "num_return_sequences", where)) s.num_return_sequences = *v;
  if (auto v = integer_of(j, "forced_eos_token_id", where)) s.forced_eos = *v;
  if (auto it = j.find("renormalize_logits"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw Error(where + ": \"renormalize_logits\" should be true or false");
    s.renormalize_logits = it->get<bool>();
  }
  if (auto it = j.find("length_penalty"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) throw Error(where + ": \"length_penalty\" should be a number");
    s.length_penalty = it->get<double>();
  }
  if (auto it = j.find("early_stopping"); it != j.end() && !it->is_null()) {
    if (it->is_boolean())
      s.early_stopping = it->get<bool>() ? "true" : "false";
    else if (it->is_string() && it->get<std::string>() == "never")
      s.early_stopping = "never";
    else
      throw Error(where + ": \"early_stopping\" should be true, false or \"never\"");
  }
  if (auto it = j.find("bad_words_ids"); it != j.end() && !it->is_null()) {
    const std::string bad = where + ": \"bad_words_ids\" should be a list of lists of token ids";
    if (!it->is_array()) throw Error(bad);
    for (const json& seq : *it) {
      if (!seq.is_array() || seq.empty()) throw Error(bad);
      std::vector<int64_t> ids;
      for (const json& v : seq) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0) throw Error(bad);
        ids.push_back(v.get<int64_t>());
      }
      s.bad_words.push_back(std::move(ids));
    }
  }
}

}  // namespace

Seq2SeqConfig read_seq2seq_config(const json& generation, const json& config,
                                  const std::string& where) {
  Seq2SeqConfig s;
  const bool has_generation = generation.is_object() && !generation.empty();
  // transformers builds the generation config from config.json when the folder has none.
  if (has_generation)
    read_generation_keys(generation, where + ": generation_config.json", s);
  else if (config.is_object())
    read_generation_keys(config, where + ": config.json", s);
  for (const auto& [j, file] :
       {std::pair<const json*, const char*>{&generation, "generation_config.json"},
        {&config, "config.json"}}) {
    if (!j->is_object()) continue;
    const std::string w = where + ": " + file;
    if (!s.decoder_start) s.decoder_start = integer_of(*j, "decoder_start_token_id", w);
    if (!s.pad) s.pad = integer_of(*j, "pad_token_id", w);
    if (s.eos.empty()) s.eos = ids_of(*j, "eos_token_id", w);
  }
  if (!s.decoder_start && config.is_object())
    s.decoder_start = integer_of(config, "bos_token_id", where + ": config.json");
  if (config.is_object())
    s.max_position_embeddings =
        integer_of(config, "max_position_embeddings", where + ": config.json");
  if (config.is_object() && config.contains("prefix") && config["prefix"].is_string())
    s.prefix = config["prefix"].get<std::string>();
  return s;
}

namespace {

// ------------------------------------------------------------ one run's settings

enum class EarlyStopping { False, True, Never };

struct Settings {
  int64_t start = 0, pad = 0;
  std::vector<int64_t> eos;
  std::optional<int64_t> forced_eos;
  std::vector<int64_t> bad_tokens;                  // single-token bad words
  std::vector<std::vector<int64_t>> bad_sequences;  // longer ones: the last token after the rest
  int64_t max_length = 0;                           // decoder tokens, the start token included
  int64_t min_length = 0;
  int64_t beams = 1;
  double length_penalty = 1.0;
  EarlyStopping early = EarlyStopping::False;
  int64_t no_repeat = 0;
  int64_t returns = 1;
  bool renormalize = false;
};

Settings settings(Context& c) {
  const Seq2SeqConfig& d = c.cfg.seq2seq;
  const ArtifactSeq2Seq& a = *c.traced.seq2seq;
  const RunOptions& o = c.opt;
  Settings s;
  if (!d.decoder_start)
    throw Error(context(c.path,
                        "has no decoder_start_token_id (generation_config.json or "
                        "config.json): the decoder cannot start"));
  s.start = *d.decoder_start;
  s.eos = d.eos;
  // As generate: no pad token, the first eos pads finished rows.
  s.pad = d.pad ? *d.pad : !s.eos.empty() ? s.eos.front() : c.cfg.pad_id;
  s.forced_eos = d.forced_eos;
  for (const std::vector<int64_t>& w : d.bad_words) {
    if (w.size() == 1 && std::find(s.eos.begin(), s.eos.end(), w[0]) != s.eos.end())
      continue;  // NoBadWordsLogitsProcessor never bans an eos token on its own
    if (w.size() == 1)
      s.bad_tokens.push_back(w[0]);
    else
      s.bad_sequences.push_back(w);
  }
  s.beams = o.num_beams.value_or(d.num_beams);
  s.length_penalty = o.length_penalty.value_or(d.length_penalty);
  const std::string early = o.early_stopping.value_or(d.early_stopping);
  s.early = early == "true"    ? EarlyStopping::True
            : early == "never" ? EarlyStopping::Never
                               : EarlyStopping::False;
  s.no_repeat = o.no_repeat_ngram_size.value_or(d.no_repeat_ngram_size);
  s.returns = o.num_return_sequences.value_or(d.num_return_sequences);
  s.min_length = d.min_length;
  s.renormalize = d.renormalize_logits;
  if (s.beams < 1) throw Error(context(c.path, "num_beams must be at least 1"));
  if (s.returns > s.beams)
    throw Error("--num-return-sequences " + std::to_string(s.returns) + " needs at least as " +
                "many beams (--num-beams " + std::to_string(s.beams) + ")");
  // The decoder's length: --max-new-tokens, else max_new_tokens or max_length of
  // the generation config; at most the artifact's cache slots.
  const int64_t slots = a.target_length;
  if (o.max_new_tokens) {
    if (*o.max_new_tokens < 1) throw Error("--max-new-tokens must be at least 1 for " + c.task);
    if (*o.max_new_tokens > slots)
      throw Error("--max-new-tokens " + std::to_string(*o.max_new_tokens) + " exceeds the " +
                  std::to_string(slots) + " decoder slots of " + c.path +
                  " (trace with a larger --target-length)");
    s.max_length = 1 + *o.max_new_tokens;
  } else {
    if (d.max_new_tokens)
      s.max_length = 1 + *d.max_new_tokens;
    else if (d.max_length)
      s.max_length = *d.max_length;
    else  // transformers 5: "by default let's always generate 20 new tokens"
      s.max_length = std::min<int64_t>(21, d.max_position_embeddings.value_or(21));
    if (s.max_length < 2)
      throw Error(context(c.path, "generation_config.json allows no new token (max_length " +
                                      std::to_string(s.max_length) + "); give --max-new-tokens"));
    if (s.max_length - 1 > slots) {
      c.warn(c.path, "generation_config.json allows " + std::to_string(s.max_length - 1) +
                         " new tokens, more than the " + std::to_string(slots) +
                         " decoder slots traced: at most " + std::to_string(slots) +
                         " (trace with --target-length " + std::to_string(s.max_length - 1) +
                         " for more)");
      s.max_length = slots + 1;
    }
  }
  return s;
}

// ------------------------------------------------------------ logits processors

// transformers' processors, in its order, on scores [R, V] (float32, in place)
// of the sequences `seqs` [R, cur_len] so far: NoRepeatNGram, NoBadWords,
// MinLength, ForcedEOS, and LogitNormalization last (renormalize_logits).
void process(at::Tensor& scores, const at::Tensor& seqs, int64_t cur_len, const Settings& s) {
  const float inf = std::numeric_limits<float>::infinity();
  const int64_t rows = scores.size(0);
  const int64_t* ids = seqs.data_ptr<int64_t>();  // contiguous [rows, cur_len]
  float* sc = scores.data_ptr<float>();
  const int64_t vocab = scores.size(1);
  auto ban = [&](int64_t r, int64_t token) {
    if (token >= 0 && token < vocab) sc[r * vocab + token] = -inf;
  };
  if (s.no_repeat > 0 && cur_len + 1 >= s.no_repeat) {
    const int64_t n = s.no_repeat;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t* row = ids + r * cur_len;
      // Every earlier n-gram whose first n - 1 tokens are the last n - 1: ban its last.
      for (int64_t i = 0; i + n <= cur_len; ++i)
        if (std::equal(row + i, row + i + n - 1, row + cur_len - (n - 1))) ban(r, row[i + n - 1]);
    }
  }
  for (int64_t t : s.bad_tokens)
    for (int64_t r = 0; r < rows; ++r) ban(r, t);
  for (const std::vector<int64_t>& w : s.bad_sequences) {
    const int64_t prefix = static_cast<int64_t>(w.size()) - 1;
    if (prefix > cur_len) continue;
    for (int64_t r = 0; r < rows; ++r)
      if (std::equal(w.begin(), w.end() - 1, ids + r * cur_len + cur_len - prefix))
        ban(r, w.back());
  }
  if (cur_len < s.min_length)
    for (int64_t e : s.eos)
      for (int64_t r = 0; r < rows; ++r) ban(r, e);
  if (s.forced_eos && cur_len == s.max_length - 1 && *s.forced_eos >= 0 && *s.forced_eos < vocab) {
    scores.fill_(-inf);
    scores.select(1, *s.forced_eos).fill_(0);
  }
  if (s.renormalize) scores.copy_(at::log_softmax(scores, -1));
}

bool is_eos(const Settings& s, int64_t token) {
  return std::find(s.eos.begin(), s.eos.end(), token) != s.eos.end();
}

// ------------------------------------------------------------ the methods

struct Decoder {
  Context& c;
  const ArtifactSeq2Seq& a;
  at::Tensor cross, mask;  // [layers, 2, R, heads, S, head_dim], [R, S]
  at::Tensor cache;        // [layers, 2, R, heads, slots, head_dim]
  at::Tensor spare;        // beam search: the cache's other buffer

  Decoder(Context& ctx, const at::Tensor& source_cross, const at::Tensor& source_mask,
          const at::Tensor& rows)
      : c(ctx), a(*ctx.traced.seq2seq) {
    cross = rows.defined() ? source_cross.index_select(2, rows) : source_cross;
    mask = rows.defined() ? source_mask.index_select(0, rows) : source_mask;
    cache = at::zeros({a.layers, 2, mask.size(0), a.heads, a.target_length, a.head_dim},
                      at::TensorOptions(cache_scalar_type(a.cache_dtype)));
  }
  // Beam search: the cache's rows follow `rows` (row i takes row rows[i]'s keys
  // and values), in the first `filled` slots only; into a second buffer, then swapped.
  void reorder(const at::Tensor& rows, int64_t filled) {
    if (!spare.defined()) spare = at::zeros_like(cache);  // masked slots must be finite
    at::Tensor dst = spare.narrow(4, 0, filled);
    at::index_select_out(dst, cache.narrow(4, 0, filled), 2, rows);
    std::swap(cache, spare);
  }
  // The logits [R, V] (float32) after feeding `ids` [R] at `slot`.
  at::Tensor step(const at::Tensor& ids, int64_t slot) {
    std::vector<at::Tensor> out = run_method(
        c.traced.module, a.decode,
        {ids.reshape({-1, 1}).contiguous(), at::full({1}, slot, at::kLong), cache, cross, mask});
    return out[0].to(at::kFloat).contiguous();
  }
};

struct Generated {
  at::Tensor sequences;  // [inputs x returns, length]: the start token, then the new ones
  at::Tensor scores;     // [inputs x returns] (beam search), else undefined
};

// transformers' _sample without sampling: argmax of the processed logits;
// finished rows go on with the pad token.
Generated greedy(Decoder& d, const Settings& s, int64_t batch) {
  at::Tensor seqs = at::full({batch, s.max_length}, s.pad, at::kLong);
  seqs.select(1, 0).fill_(s.start);
  std::vector<bool> unfinished(static_cast<size_t>(batch), true);
  int64_t cur_len = 1;
  for (;;) {
    at::Tensor scores = d.step(seqs.select(1, cur_len - 1), cur_len - 1);
    process(scores, seqs.narrow(1, 0, cur_len).contiguous(), cur_len, s);
    const at::Tensor next = scores.argmax(-1).contiguous();
    const int64_t* nx = next.data_ptr<int64_t>();
    int64_t* out = seqs.data_ptr<int64_t>();
    bool any = false;
    for (int64_t b = 0; b < batch; ++b) {
      const size_t i = static_cast<size_t>(b);
      const int64_t token = unfinished[i] ? nx[b] : s.pad;
      out[b * s.max_length + cur_len] = token;
      if (unfinished[i] && is_eos(s, token)) unfinished[i] = false;
      any = any || unfinished[i];
    }
    ++cur_len;
    if (!any || cur_len >= s.max_length) break;
  }
  return {seqs.narrow(1, 0, cur_len).contiguous(), at::Tensor()};
}

// transformers' _gather_beams: t [B, K, ...] at indices [B, K'] along dim 1.
at::Tensor gather_beams(const at::Tensor& t, const at::Tensor& idx) {
  const int64_t b = t.size(0), k = t.size(1);
  const at::Tensor flat = (idx + at::arange(b, idx.options()).unsqueeze(1) * k).flatten();
  std::vector<int64_t> sizes = t.sizes().vec();
  sizes[1] = idx.size(1);
  return t.flatten(0, 1).index_select(0, flat).view(sizes);
}

// transformers 5's _beam_search, tensor for tensor (decoder prompt: the start token).
Generated beam_search(Decoder& d, const Settings& s, int64_t batch) {
  const int64_t nb = s.beams, max_length = s.max_length;
  const int64_t n_eos = static_cast<int64_t>(s.eos.size());
  const int64_t keep = std::max<int64_t>(2, 1 + n_eos) * nb;
  const at::Tensor top_mask =
      at::cat({at::ones({nb}, at::kBool), at::zeros({keep - nb}, at::kBool)}).unsqueeze(0);
  const at::Tensor eos = at::tensor(s.eos, at::kLong);
  const bool early_true = s.early == EarlyStopping::True;
  // generate's fill value: `pad_token_id or eos_token_id[0]` (a pad id of 0 counts as none).
  const int64_t fill = s.eos.empty() ? -1 : s.pad != 0 ? s.pad : s.eos.front();
  at::Tensor running = at::full({batch, nb, max_length}, fill, at::kLong);
  running.select(2, 0).fill_(s.start);
  at::Tensor sequences = running.clone();
  at::Tensor running_scores = at::zeros({batch, nb}, at::kFloat);
  running_scores.narrow(1, 1, nb - 1).fill_(-1e9);
  at::Tensor beam_scores = at::full({batch, nb}, -1e9, at::kFloat);
  at::Tensor finished = at::zeros({batch, nb}, at::kBool);
  at::Tensor improvable = at::ones({batch, 1}, at::kBool);
  at::Tensor running_idx = at::full({batch, nb, max_length - 1}, -1, at::kLong);
  at::Tensor beam_idx = running_idx.clone();
  const at::Tensor offsets = at::arange(batch, at::kLong).unsqueeze(1) * nb;
  int64_t cur_len = 1;
  for (;;) {
    const at::Tensor flat = running.narrow(2, 0, cur_len).reshape({batch * nb, cur_len});
    at::Tensor log_probs = at::log_softmax(d.step(flat.select(1, cur_len - 1), cur_len - 1), -1);
    process(log_probs, flat.contiguous(), cur_len, s);
    const int64_t vocab = log_probs.size(1);
    log_probs = (log_probs.view({batch, nb, vocab}) + running_scores.unsqueeze(2))
                    .reshape({batch, nb * vocab});
    // _get_top_k_continuations
    auto [topk_lp, topk_ind] = at::topk(log_probs, keep);
    const at::Tensor cur_beam = topk_ind.div(vocab, "floor");
    at::Tensor topk_running_idx = gather_beams(running_idx, cur_beam);
    at::Tensor topk_running = gather_beams(running, cur_beam);
    const at::Tensor topk_ids = topk_ind.remainder(vocab);
    topk_running.select(2, cur_len).copy_(topk_ids);
    topk_running_idx.select(2, cur_len - 1).copy_(cur_beam + offsets);
    // The stopping criteria of each candidate: an eos token, or max_length reached.
    at::Tensor hits =
        cur_len + 1 >= max_length ? at::ones_like(topk_ids, at::kBool) : at::isin(topk_ids, eos);
    // _get_running_beams_for_next_iteration
    const at::Tensor topk_running_lp = topk_lp + hits.to(at::kFloat) * -1.0e9;
    const at::Tensor next_idx = std::get<1>(at::topk(topk_running_lp, nb));
    running = gather_beams(topk_running, next_idx);
    running_scores = gather_beams(topk_running_lp, next_idx);
    running_idx = gather_beams(topk_running_idx, next_idx);
    // _update_finished_beams
    const at::Tensor just_finished = hits & top_mask;
    at::Tensor finished_lp = topk_lp / std::pow(static_cast<double>(cur_len), s.length_penalty);
    if (early_true) finished_lp += finished.all(-1, /*keepdim=*/true).to(at::kFloat) * -1.0e9;
    finished_lp += at::logical_not(improvable).to(at::kFloat) * -1.0e9;
    finished_lp += at::logical_not(just_finished) * -1.0e9;
    const at::Tensor merged_idx = std::get<1>(at::topk(at::cat({beam_scores, finished_lp}, 1), nb));
    sequences = gather_beams(at::cat({sequences, topk_running}, 1), merged_idx);
    beam_scores = gather_beams(at::cat({beam_scores, finished_lp}, 1), merged_idx);
    beam_idx = gather_beams(at::cat({beam_idx, topk_running_idx}, 1), merged_idx);
    finished = gather_beams(at::cat({finished, just_finished}, 1), merged_idx);
    // The cache follows the running beams (only its filled slots move).
    d.reorder(running_idx.select(2, cur_len - 1).flatten(), cur_len);
    ++cur_len;
    // _check_early_stop_heuristic
    const int64_t best_len =
        s.early == EarlyStopping::Never && s.length_penalty > 0.0 ? max_length - 1 : cur_len - 1;
    const at::Tensor best_running =
        running_scores.narrow(1, 0, 1) / std::pow(static_cast<double>(best_len), s.length_penalty);
    const at::Tensor worst_finished =
        at::where(finished, std::get<0>(beam_scores.min(1, /*keepdim=*/true)),
                  at::scalar_tensor(-1.0e9, at::kFloat));
    improvable = improvable & (best_running > worst_finished).any(-1, /*keepdim=*/true);
    // _beam_search_has_unfinished_sequences
    const bool open = improvable.any().item<bool>() &&
                      !(finished.all().item<bool>() && early_true) && !hits.all().item<bool>();
    if (!open) break;
  }
  const at::Tensor seqs = sequences.narrow(1, 0, s.returns).flatten(0, 1);
  const at::Tensor scores = beam_scores.narrow(1, 0, s.returns).flatten();
  const at::Tensor idx = beam_idx.narrow(1, 0, s.returns).flatten(0, 1);
  const int64_t generated = (idx != -1).sum(1).max().item<int64_t>();
  return {seqs.narrow(1, 0, 1 + generated).contiguous(), scores.contiguous()};
}

// ------------------------------------------------------------ one batch

const char* result_key(const std::string& task) {
  return task == "translation"     ? "translation_text"
         : task == "summarization" ? "summary_text"
                                   : "generated_text";
}

std::vector<TextToText> generate_batch(Context& c, const Settings& s,
                                       const std::vector<RunInput>& inputs) {
  const ArtifactSeq2Seq& a = *c.traced.seq2seq;
  const int64_t batch = static_cast<int64_t>(inputs.size());
  std::vector<Encoding> encodings;
  int64_t longest = 1;
  for (const RunInput& in : inputs) {
    if (in.text_pair) throw Error(in.where + ": " + c.task + " takes one text");
    RunInput source = in;
    source.text = c.cfg.seq2seq.prefix + in.text;
    encodings.push_back(c.encode(source));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(encodings.back().size()));
  }
  // Padded on the right to the longest source of the batch, as the pipeline's tokenizer.
  at::Tensor ids = at::full({batch, longest}, c.cfg.pad_id, at::kLong);
  at::Tensor mask = at::zeros({batch, longest}, at::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t>& row = encodings[static_cast<size_t>(b)].ids;
    const int64_t len = static_cast<int64_t>(row.size());
    if (len == 0) continue;
    ids[b].narrow(0, 0, len).copy_(at::tensor(row, at::kLong));
    mask[b].narrow(0, 0, len).fill_(1);
  }
  const at::Tensor cross = run_method(c.traced.module, a.encode, {ids, mask})[0];
  Generated g;
  if (s.beams == 1) {
    Decoder d(c, cross, mask, at::Tensor());
    g = greedy(d, s, batch);
  } else {
    Decoder d(c, cross, mask, at::arange(batch, at::kLong).repeat_interleave(s.beams));
    g = beam_search(d, s, batch);
  }
  std::vector<TextToText> out;
  const int64_t length = g.sequences.size(1);
  const int64_t* seq = g.sequences.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    TextToText r;
    r.key = result_key(c.task);
    for (int64_t k = 0; k < s.returns; ++k) {
      const int64_t row = b * s.returns + k;
      std::vector<int64_t> tokens(seq + row * length, seq + (row + 1) * length);
      // As the pipeline 4.x decodes: special tokens skipped, spaces not cleaned up.
      r.texts.push_back(c.tok->decode(tokens, /*skip_special_tokens=*/true, /*clean_up=*/false));
      r.sequences.push_back(std::move(tokens));
      if (g.scores.defined()) r.scores.push_back(g.scores[row].item<float>());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<TextToText> seq2seq_generation(Context& c, const std::vector<RunInput>& inputs) {
  const Settings s = settings(c);
  return in_batches<TextToText>(inputs, c.traced.batch, [&](const std::vector<RunInput>& chunk) {
    return generate_batch(c, s, chunk);
  });
}

}  // namespace hfjit::run
