// train/generate.h — `krait generate`: text from a Mamba language model's checkpoint, token by token
// through the model's Generator (one parallel prefill of the prompt, then recurrent steps) and the
// recipe's tokenizer (data.tokenizer: bytes, or byte-level BPE).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "data/text_tokenizer.h"
#include "layers/model.h"
#include "layers/model_spec.h"
#include "layers/sampling.h"

namespace krait::train {

struct GenerateOptions {
  std::string prompt;  // empty: the sequences start after an end-of-text
  int64_t max_new_tokens = 256;
  SamplingOptions sampling;
  uint64_t seed = 0;
  int64_t batch = 1;  // sequences generated at once from the same prompt, each sampled independently
};

struct GenerateStats {
  int64_t prompt_tokens = 0;  // per sequence
  int64_t new_tokens = 0;     // over all sequences, end-of-text included
  double prefill_seconds = 0, seconds = 0;  // seconds: prefill and steps
};

// Throws unless the checkpoint's model can generate text here with `tokenizer`: a Mamba language
// model whose vocabulary holds the tokenizer's, naming what the checkpoint has instead.
void check_can_generate(const ModelSpec& spec, const std::string& checkpoint,
                        const data::TextTokenizer& tokenizer = data::byte_text_tokenizer());

// The text of a prompt file, as it is (bytes).
std::string read_prompt_file(const std::string& path);

// Generates from model (on device) and writes to out: with one sequence, the prompt, then each new
// token's text as it comes (flushed); with several, each sequence's prompt and text when all are
// done. A sequence ends at max_new_tokens or at the tokenizer's end-of-text. `vocab` is the model's
// unpadded vocabulary; tokens are drawn from its first tokenizer.vocab_size() (the ones with text).
GenerateStats generate_text(const Model& model, int64_t vocab, Device device, const data::TextTokenizer& tokenizer,
                            const GenerateOptions& options, std::ostream& out);

}  // namespace krait::train
