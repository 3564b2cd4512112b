// train/hf_convert.h — `krait convert`: Hugging Face MambaForCausalLM checkpoints (config.json +
// safetensors, single or sharded) to a Krait run directory, and a Krait checkpoint back to a folder
// that transformers' MambaForCausalLM.from_pretrained loads.
//
// Names (Krait -> Hugging Face): embedding.weight -> backbone.embeddings.weight; layers.N.norm.weight,
// layers.N.mixer.{in_proj,conv1d,x_proj,dt_proj,out_proj}.{weight,bias}, layers.N.mixer.{A_log,D} and
// norm_f.weight -> the same under backbone.; lm_head.weight -> lm_head.weight (only when untied; a
// tied checkpoint may hold it equal to the embedding). conv1d.weight is (E, K) in Krait and (E, 1, K)
// in Hugging Face. The vocabulary: Hugging Face's vocab_size is the number of embedding rows and its
// loss covers all of them; Krait pads its embedding to a multiple of pad_vocab_size_multiple and leaves
// the padded rows out of the loss. So Krait -> HF writes the first vocab_size rows only (the padded rows
// are no class: nothing is lost) and HF -> Krait takes vocab_size as the vocabulary, zero-filling
// Krait's padded rows; both directions give the same logits over the vocabulary and the same loss.
#pragma once

#include <cstdint>
#include <string>

#include "autograd/parameter.h"
#include "layers/mamba_config.h"
#include "common/json.h"

namespace krait::train {

// The parameter's Hugging Face name, for the Mamba language model's parameters (the paper's full
// block: the ablations' dt_bias, B and C have no Hugging Face counterpart and are errors).
std::string hf_parameter_name(const std::string& krait_name);

// A MambaConfig from a parsed config.json (`where` names it in errors). Every key must be one Krait
// represents (or an informational / initialization-only one it ignores); the error names the key.
MambaConfig mamba_config_from_hf(const JsonValue& config, const std::string& where);
// config.json text for a Mamba language model (architectures MambaForCausalLM, model_type mamba).
std::string hf_config_json(const MambaConfig& config);

// Writes DIR/config.json and DIR/model.safetensors (F32) from a Mamba language model's parameters.
void write_hf_model(const ParameterList& params, const MambaConfig& config, const std::string& dir);

struct ConvertReport {
  MambaConfig config;
  int64_t tensors = 0;     // parameters written
  std::string written;     // the checkpoint (from HF) or the folder (to HF)
};

// DIR (config.json + weights) -> RUN_DIR/recipe.yaml and RUN_DIR/checkpoints/step-00000000.h5, which
// holds the model parameters, state/step = 0, state/tokens_seen = 0 and the recipe: `krait eval`,
// `krait dump` and `train.init_from` read it (it holds no optimizer state, so it does not resume).
ConvertReport convert_from_hf(const std::string& hf_dir, const std::string& run_dir);
// A Krait checkpoint of a Mamba language model -> DIR/config.json + DIR/model.safetensors.
ConvertReport convert_to_hf(const std::string& checkpoint, const std::string& out_dir);

}  // namespace krait::train
