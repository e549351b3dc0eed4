// text-generation through a static-cache artifact (hfjit trace of a Llama-family
// causal LM): the prompts, left-padded as transformers' generate pads them, go
// through the smallest prefill method that holds them; then each new token is
// one call of the decode method at the next cache slot. Greedy decoding is
// transformers 5's generate(do_sample=False) token for token; sampling applies
// its warpers (next_tokens). See docs/run.md.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "hfjit/error.h"
#include "hfjit/tracer.h"
#include "runner_internal.h"

namespace hfjit::run {
namespace {

// One input's generated text past the prompt, handed out as it grows: a piece
// is held back while it ends in an incomplete character (U+FFFD from a token
// that is only part of a UTF-8 sequence).
class TextStream {
 public:
  TextStream(const Context& c, std::vector<int64_t> prompt)
      : c_(c), ids_(std::move(prompt)), cut_(count_code_points(c.tok->decode(ids_, true, true))) {}
  void push(int64_t id) { ids_.push_back(id); }
  const std::vector<int64_t>& ids() const { return ids_; }
  // The text past the prompt (both decodes clean up tokenization spaces, as the pipeline's).
  std::string text() const {
    return substr_chars(c_.tok->decode(ids_, true, true), cut_, std::string::npos);
  }
  // What is new since the last call, or "" while it ends in an incomplete character.
  std::string piece(bool last) {
    const std::string t = text();
    static const std::string kReplacement = "\xEF\xBF\xBD";
    if (!last && t.size() >= kReplacement.size() &&
        t.compare(t.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0)
      return "";
    if (t.size() < emitted_ || t.compare(0, emitted_, emitted_text_) != 0) return "";
    std::string p = t.substr(emitted_);
    emitted_ = t.size();
    emitted_text_ = t;
    return p;
  }

 private:
  const Context& c_;
  std::vector<int64_t> ids_;
  size_t cut_;
  size_t emitted_ = 0;
  std::string emitted_text_;
};

// One batch of at most the traced batch size.
std::vector<Generation> generate_batch(Context& c, const std::vector<RunInput>& inputs,
                                       at::Generator& gen) {
  const ArtifactGeneration& g = *c.traced.generation;
  const int64_t batch = c.traced.batch, max_length = g.max_length;
  const size_t n = inputs.size();
  std::vector<TextStream> streams;
  int64_t longest = 0;
  for (const RunInput& in : inputs) {
    if (in.text_pair) throw Error(in.where + ": text-generation takes one text");
    const Encoding e = c.tok->encode(in.text);
    if (e.size() == 0) throw Error(in.where + ": the prompt is empty");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(e.size()));
    streams.emplace_back(c, e.ids);
  }
  // The smallest prefill that holds the longest prompt of the batch; else the
  // prompts go through the longest one in chunks (chunked prefill), left-padded to
  // a multiple of it. Extra left padding changes nothing: padded slots are masked.
  const PrefillPlan plan = plan_prefill(g, longest);
  const ArtifactMethod* prefill = plan.method;
  const int64_t p = prefill->length, total = plan.slots;
  if (total > max_length) {
    const RunInput* worst = &inputs[0];
    for (size_t i = 0; i < n; ++i)
      if (static_cast<int64_t>(streams[i].ids().size()) == longest) worst = &inputs[i];
    throw Error(worst->where + ": the prompt has " + std::to_string(longest) +
                " tokens; in prefill chunks of " + std::to_string(p) + " it takes " +
                std::to_string(total) + " slots of a cache of " + std::to_string(max_length) +
                " (trace with a larger --max-length)");
  }
  // Left padding; rows past the inputs repeat the first input (their results are dropped).
  at::Tensor ids = at::full({batch, total}, c.cfg.pad_id, at::kLong);
  at::Tensor mask = at::zeros({batch, max_length}, at::kLong);
  for (int64_t r = 0; r < batch; ++r) {
    const std::vector<int64_t>& row = streams[std::min<size_t>(r, n - 1)].ids();
    const int64_t len = static_cast<int64_t>(row.size());
    ids[r].narrow(0, total - len, len).copy_(at::tensor(row, at::kLong));
    mask[r].narrow(0, total - len, len).fill_(1);
  }
  // transformers' position ids: cumsum of the mask - 1, 0 on padding; then one more per step.
  const at::Tensor prompt_mask = mask.narrow(1, 0, total);
  const at::Tensor positions = (prompt_mask.cumsum(1) - 1).masked_fill(prompt_mask == 0, 0);
  at::Tensor last_position = positions.select(1, total - 1).unsqueeze(1).contiguous();
  const std::vector<int64_t>& shape = g.cache_shape;
  at::Tensor cache = at::zeros(shape, at::TensorOptions(cache_scalar_type(g.cache_dtype)));
  // Every row's ids so far for the repetition penalty: as generate's input_ids, padded
  // to the longest prompt only.
  at::Tensor all_ids = ids.narrow(1, total - longest, longest);
  std::vector<at::Tensor> out;
  for (int64_t start = 0; start < total; start += p)  // causal: later slots are not seen yet
    out = run_method(
        c.traced.module, prefill->name,
        {ids.narrow(1, start, p).contiguous(), mask, positions.narrow(1, start, p).contiguous(),
         at::arange(start, start + p, at::kLong), cache});
  const int64_t max_new_tokens = c.opt.max_new_tokens.value_or(20);
  std::vector<bool> done(n, max_new_tokens == 0);
  const bool streaming = c.opt.on_text && n == 1;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    at::Tensor scores =
        repetition_penalty(out[0].to(at::kFloat), all_ids, c.opt.repetition_penalty);
    const at::Tensor next = next_tokens(c.opt, scores, gen).contiguous();
    const int64_t* nx = next.data_ptr<int64_t>();
    bool all_done = true;
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      streams[i].push(nx[i]);
      if (should_stop(c, streams[i].ids()) || step + 1 == max_new_tokens) done[i] = true;
      if (streaming) {
        const std::string piece = streams[i].piece(done[i]);
        if (!piece.empty()) c.opt.on_text(inputs[i], piece);
      }
      all_done = all_done && done[i];
    }
    if (all_done) break;
    const int64_t slot = total + step;
    if (slot >= max_length) {  // the cache is full
      for (size_t i = 0; i < n; ++i)
        if (!done[i]) {
          c.warn(inputs[i].where, "stopped at the cache length " + std::to_string(max_length) +
                                      " after " + std::to_string(step + 1) +
                                      " new tokens (trace with a larger --max-length)");
          done[i] = true;
          if (streaming) {
            const std::string piece = streams[i].piece(true);
            if (!piece.empty()) c.opt.on_text(inputs[i], piece);
          }
        }
      break;
    }
    // Finished rows go on with the pad token, as generate's do.
    at::Tensor fed = next.clone();
    for (size_t i = 0; i < n; ++i)
      if (done[i]) fed[static_cast<int64_t>(i)] = c.cfg.pad_id;
    fed = fed.unsqueeze(1);
    all_ids = at::cat({all_ids, fed}, 1);
    mask.narrow(1, slot, 1).fill_(1);
    last_position = last_position + 1;
    out = run_method(c.traced.module, g.decode,
                     {fed, mask, last_position, at::full({1}, slot, at::kLong), cache});
  }
  std::vector<Generation> results;
  for (size_t i = 0; i < n; ++i) results.push_back({inputs[i].text + streams[i].text()});
  return results;
}

}  // namespace

std::vector<Generation> cached_generation(Context& c, const std::vector<RunInput>& inputs) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.opt.seed);
  c.tok->set_truncation(std::nullopt);
  return in_batches<Generation>(inputs, c.traced.batch, [&](const std::vector<RunInput>& chunk) {
    return generate_batch(c, chunk, gen);
  });
}

}  // namespace hfjit::run
