// train/generate.cpp — `krait generate` (see generate.h).
#include "train/generate.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include "common/file_text.h"
#include "common/error.h"
#include "common/rng.h"

namespace krait::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ids (batch) on device, as the generator takes them.
Tensor id_tensor(const std::vector<int32_t>& ids, Device device) {
  return Tensor::from_indices(std::vector<int64_t>(ids.begin(), ids.end()), {static_cast<int64_t>(ids.size())},
                              DType::I32, device);
}

}  // namespace

void check_can_generate(const ModelSpec& spec, const std::string& checkpoint, const data::TextTokenizer& tokenizer) {
  KRAIT_CHECK(spec.task == Task::LM, "generate: ", checkpoint, " holds a ", task_name(spec.task),
              " model; generating text needs a language model (task: lm)");
  KRAIT_CHECK(spec.backbone == "mamba", "generate: ", checkpoint, " holds a ", spec.backbone,
              " language model; only Mamba can generate for now (the Transformer has no KV cache yet)");
  KRAIT_CHECK(spec.vocab_size() >= tokenizer.vocab_size(), "generate: ", checkpoint, " has vocab_size ",
              spec.vocab_size(), ", smaller than the tokenizer's ", tokenizer.vocab_size(), " (", tokenizer.description(),
              "); is data.tokenizer (or --tokenizer) the one the model was trained with?");
}

std::string read_prompt_file(const std::string& path) { return read_file_text(path, "prompt file"); }

GenerateStats generate_text(const Model& model, int64_t vocab, Device device, const data::TextTokenizer& tokenizer,
                            const GenerateOptions& o, std::ostream& out) {
  o.sampling.validate();
  KRAIT_CHECK(o.max_new_tokens >= 0, "generate: max-new-tokens must be >= 0, got ", o.max_new_tokens);
  KRAIT_CHECK(o.batch >= 1, "generate: batch must be >= 1, got ", o.batch);
  const std::unique_ptr<Generator> generator = model.generator(o.batch);
  KRAIT_CHECK(generator, "generate: this ", task_name(model.task()), " model cannot generate");
  const int32_t end_of_text = tokenizer.end_of_text();
  std::vector<int32_t> prompt = tokenizer.encode(o.prompt);
  if (prompt.empty()) {
    KRAIT_CHECK(end_of_text >= 0, "generate: an empty prompt starts after an end-of-text token, and the tokenizer (",
                tokenizer.description(), ") has none; give a prompt");
    prompt.push_back(end_of_text);
  }
  vocab = std::min<int64_t>(vocab, tokenizer.vocab_size());
  std::vector<int64_t> prompt_ids;
  for (int64_t b = 0; b < o.batch; ++b) prompt_ids.insert(prompt_ids.end(), prompt.begin(), prompt.end());

  const bool streaming = o.batch == 1;
  if (streaming) out << o.prompt << std::flush;
  GenerateStats stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  Rng rng(o.seed);
  std::vector<std::vector<int32_t>> texts(o.batch);
  std::vector<bool> done(o.batch, false);
  int64_t running = o.batch;
  const Clock::time_point start = Clock::now();
  Tensor logits = generator->prefill(
      Tensor::from_indices(prompt_ids, {o.batch, stats.prompt_tokens}, DType::I32, device));
  stats.prefill_seconds = seconds_since(start);
  std::vector<int32_t> next;
  for (int64_t i = 0; i < o.max_new_tokens && running > 0; ++i) {
    if (i > 0) logits = generator->step(id_tensor(next, device));
    // A finished sequence still steps (on its own draws) so that the batch stays whole.
    next = sample_tokens(logits, vocab, o.sampling, rng);
    for (int64_t b = 0; b < o.batch; ++b) {
      if (done[b]) continue;
      ++stats.new_tokens;
      if (next[b] == end_of_text) {
        done[b] = true;
        --running;
      } else {
        texts[b].push_back(next[b]);
        if (streaming) out << tokenizer.decode({&next[b], 1}) << std::flush;
      }
    }
  }
  stats.seconds = seconds_since(start);
  if (streaming) out << "\n";
  for (int64_t b = 0; !streaming && b < o.batch; ++b)
    out << "=== sequence " << b + 1 << " of " << o.batch << " ===\n" << o.prompt << tokenizer.decode(texts[b]) << "\n";
  out << std::flush;
  return stats;
}

}  // namespace krait::train
