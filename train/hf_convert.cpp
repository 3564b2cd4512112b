// train/hf_convert.cpp — krait convert --from-hf / --to-hf (see hf_convert.h).
#include "train/hf_convert.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "layers/model_spec.h"
#include "train/checkpoint_file.h"
#include "train/recipe.h"
#include "train/run_dir.h"
#include "train/safetensors.h"

namespace krait::train {
namespace {

const char* const kConfigFile = "config.json";

// config.json keys that only describe the file or the initialization of a model being trained from
// scratch (a converted model's weights are given): read by nothing in Krait.
const std::set<std::string> kIgnoredKeys = {
    "architectures",   "model_type",       "torch_dtype",    "dtype",
    "transformers_version", "bos_token_id", "eos_token_id", "pad_token_id",
    "use_cache",       "use_mambapy",      "initializer_range", "rescale_prenorm_residual",
    "time_step_init_scheme", "output_hidden_states", "output_attentions", "return_dict",
    "use_associative_scan"};  // transformers >= 5: which of its own scan implementations runs

// The shortest text that reads back as value, always as a JSON float ("1.0", not "1"): transformers
// >= 5 validates config fields by type and refuses an integer where a float is declared.
std::string number_text(double value) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  std::string text(buf, end);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The embedding and an untied head: the matrices with a row per (padded) vocabulary entry.
bool is_vocabulary_matrix(const Parameter& p) { return p.name == "embedding.weight" || p.name == "lm_head.weight"; }

// The Hugging Face shape of a Krait parameter: conv1d.weight gains its middle dimension of 1, and the
// vocabulary matrices have vocab_size rows (Krait's padded rows are not written).
std::vector<int64_t> hf_shape(const Parameter& p, int64_t vocab_size) {
  std::vector<int64_t> shape = p.value.shape();
  const std::string suffix = ".conv1d.weight";
  if (p.name.size() > suffix.size() && p.name.ends_with(suffix)) shape.insert(shape.begin() + 1, 1);
  if (is_vocabulary_matrix(p)) shape[0] = vocab_size;
  return shape;
}

// The Mamba configuration must be the paper's full block for Hugging Face's MambaMixer.
void check_hf_representable(const MambaConfig& c, const std::string& what) {
  KRAIT_CHECK(c.conv && c.gate && c.selective.all(), what,
              ": Hugging Face's MambaForCausalLM has the full block only (model.conv, model.gate and "
              "model.selective must be true)");
}

ModelSpec lm_spec(const MambaConfig& config) {
  ModelSpec spec;
  spec.backbone = "mamba";
  spec.task = Task::LM;
  spec.mamba = config;
  return spec;
}

// Readers of one config.json key each: absent keys keep the default already in `out`.
struct ConfigKeys {
  const JsonValue& root;
  const std::string& where;

  const JsonValue* get(const char* key) const { return root.find(key); }
  [[noreturn]] void wrong(const char* key, const char* expected) const {
    KRAIT_FAIL(where, ": '", key, "' must be ", expected, ", got a ", json_kind_name(*get(key)));
  }
  void integer(const char* key, int64_t& out) const {
    if (const JsonValue* v = get(key)) {
      if (!v->is_integer()) wrong(key, "an integer");
      out = v->integer();
    }
  }
  void boolean(const char* key, bool& out) const {
    if (const JsonValue* v = get(key)) {
      if (v->kind != JsonValue::Kind::Bool) wrong(key, "true or false");
      out = v->boolean;
    }
  }
  void number(const char* key, double& out) const {
    if (const JsonValue* v = get(key)) {
      if (v->kind != JsonValue::Kind::Number) wrong(key, "a number");
      out = v->number();
    }
  }
  int64_t required(const char* key) const {
    KRAIT_CHECK(get(key) != nullptr, where, ": missing '", key, "'");
    int64_t value = 0;
    integer(key, value);
    return value;
  }
};

}  // namespace

std::string hf_parameter_name(const std::string& name) {
  if (name == "lm_head.weight") return name;
  if (name == "embedding.weight") return "backbone.embeddings.weight";
  if (name == "norm_f.weight") return "backbone." + name;
  static const std::vector<std::string> kLayerSuffixes = {
      ".norm.weight",          ".mixer.in_proj.weight", ".mixer.in_proj.bias",  ".mixer.conv1d.weight",
      ".mixer.conv1d.bias",    ".mixer.x_proj.weight",  ".mixer.dt_proj.weight", ".mixer.dt_proj.bias",
      ".mixer.out_proj.weight", ".mixer.out_proj.bias", ".mixer.A_log",          ".mixer.D"};
  if (name.starts_with("layers.")) {
    for (const std::string& suffix : kLayerSuffixes) {
      if (name.ends_with(suffix)) return "backbone." + name;
    }
  }
  KRAIT_FAIL("convert: parameter '", name, "' has no Hugging Face MambaForCausalLM counterpart");
}

MambaConfig mamba_config_from_hf(const JsonValue& root, const std::string& where) {
  KRAIT_CHECK(root.is_object(), where, ": expected a JSON object, got a ", json_kind_name(root));
  static const std::set<std::string> kMapped = {
      "hidden_size", "num_hidden_layers", "vocab_size", "state_size", "conv_kernel",
      "expand", "intermediate_size", "time_step_rank", "use_bias", "use_conv_bias", "layer_norm_epsilon",
      "tie_word_embeddings", "pad_vocab_size_multiple", "residual_in_fp32", "hidden_act", "time_step_min",
      "time_step_max", "time_step_floor", "time_step_scale"};
  for (const auto& [key, value] : root.members) {
    KRAIT_CHECK(kMapped.count(key) || kIgnoredKeys.count(key) || key.starts_with("_"), where, ": key '", key,
                "' is not a MambaConfig field Krait can represent");
  }
  const ConfigKeys keys{root, where};
  if (const JsonValue* type = keys.get("model_type")) {
    KRAIT_CHECK(type->kind == JsonValue::Kind::String && type->text == "mamba", where,
                ": model_type must be \"mamba\" (Krait converts MambaForCausalLM), got ",
                type->kind == JsonValue::Kind::String ? type->text : json_kind_name(*type));
  }
  if (const JsonValue* act = keys.get("hidden_act")) {
    KRAIT_CHECK(act->kind == JsonValue::Kind::String && act->text == "silu", where,
                ": hidden_act must be \"silu\" (Krait's mixer uses SiLU)");
  }
  bool residual_in_fp32 = true;
  keys.boolean("residual_in_fp32", residual_in_fp32);
  KRAIT_CHECK(residual_in_fp32, where, ": residual_in_fp32 must be true (Krait keeps the residual stream in fp32)");

  MambaConfig c;
  c.d_model = keys.required("hidden_size");
  c.n_layer = keys.required("num_hidden_layers");
  c.vocab_size = keys.required("vocab_size");
  keys.integer("state_size", c.d_state);
  keys.integer("conv_kernel", c.d_conv);
  keys.integer("expand", c.expand);
  if (const JsonValue* rank = keys.get("time_step_rank")) {
    if (rank->kind == JsonValue::Kind::String && rank->text == "auto") {
      c.dt_rank = 0;
    } else if (rank->is_integer() && rank->integer() > 0) {
      c.dt_rank = rank->integer();
    } else {
      keys.wrong("time_step_rank", "a positive integer or \"auto\"");
    }
  }
  keys.boolean("use_bias", c.bias);
  keys.boolean("use_conv_bias", c.conv_bias);
  keys.number("layer_norm_epsilon", c.norm_eps);
  keys.boolean("tie_word_embeddings", c.tie_embeddings);
  keys.integer("pad_vocab_size_multiple", c.pad_vocab_size_multiple);
  keys.number("time_step_min", c.dt_min);
  keys.number("time_step_max", c.dt_max);
  keys.number("time_step_floor", c.dt_init_floor);
  keys.number("time_step_scale", c.dt_scale);
  // Krait's sizes stay below 2^31, so products of two of them (d_inner = expand x d_model) fit in int64.
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"hidden_size", c.d_model}, {"expand", c.expand},
                                   {"num_hidden_layers", c.n_layer}, {"vocab_size", c.vocab_size},
                                   {"state_size", c.d_state}, {"conv_kernel", c.d_conv}, {"time_step_rank", c.dt_rank}})
    KRAIT_CHECK(value < (int64_t{1} << 31), where, ": ", key, " ", value, " is too large (Krait's sizes are below 2^31)");
  if (keys.get("intermediate_size")) {
    int64_t inner = 0;
    keys.integer("intermediate_size", inner);
    KRAIT_CHECK(inner == c.expand * c.d_model, where, ": intermediate_size ", inner, " is not expand x hidden_size = ",
                c.expand * c.d_model, " (Krait's d_inner is expand x d_model)");
  }
  KRAIT_CHECK(c.pad_vocab_size_multiple > 0, where, ": pad_vocab_size_multiple must be positive, got ",
              c.pad_vocab_size_multiple);
  try {
    c.validate();
  } catch (const Error& e) {
    KRAIT_FAIL(where, ": ", e.what());
  }
  return c;
}

std::string hf_config_json(const MambaConfig& c) {
  check_hf_representable(c, "convert --to-hf");
  auto line = [](const char* key, const std::string& value, bool last = false) {
    return std::string("  \"") + key + "\": " + value + (last ? "\n" : ",\n");
  };
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  std::string out = "{\n";
  out += line("architectures", "[\"MambaForCausalLM\"]");
  out += line("model_type", "\"mamba\"");
  out += line("hidden_size", std::to_string(c.d_model));
  out += line("num_hidden_layers", std::to_string(c.n_layer));
  out += line("vocab_size", std::to_string(c.vocab_size));
  out += line("pad_vocab_size_multiple", std::to_string(c.pad_vocab_size_multiple));
  out += line("state_size", std::to_string(c.d_state));
  out += line("conv_kernel", std::to_string(c.d_conv));
  out += line("expand", std::to_string(c.expand));
  out += line("intermediate_size", std::to_string(c.d_inner()));
  out += line("time_step_rank", c.dt_rank > 0 ? std::to_string(c.dt_rank) : "\"auto\"");  // as Krait's
  out += line("time_step_min", number_text(c.dt_min));
  out += line("time_step_max", number_text(c.dt_max));
  out += line("time_step_floor", number_text(c.dt_init_floor));
  out += line("time_step_scale", number_text(c.dt_scale));
  out += line("use_bias", flag(c.bias));
  out += line("use_conv_bias", flag(c.conv_bias));
  out += line("layer_norm_epsilon", number_text(c.norm_eps));
  out += line("tie_word_embeddings", flag(c.tie_embeddings));
  out += line("residual_in_fp32", "true");
  out += line("hidden_act", "\"silu\"");
  out += line("torch_dtype", "\"float32\"", true);
  return out + "}\n";
}

void write_hf_model(const ParameterList& params, const MambaConfig& config, const std::string& dir) {
  const std::string json = hf_config_json(config);
  SafetensorsWriter weights;
  weights.set_metadata("format", "pt");  // what transformers' save_pretrained writes and from_pretrained expects
  for (const Parameter& p : params) {
    const std::vector<int64_t> shape = hf_shape(p, config.vocab_size);
    const std::vector<double> values = p.value.to_doubles();
    const auto end = values.begin() + shape_numel(shape);  // the padded rows are the last ones
    weights.add_f32(hf_parameter_name(p.name), shape, std::vector<float>(values.begin(), end));
  }
  std::filesystem::create_directories(dir);
  weights.write((std::filesystem::path(dir) / "model.safetensors").string());
  const std::string path = (std::filesystem::path(dir) / kConfigFile).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json;
  KRAIT_CHECK(out.flush(), "convert: cannot write '", path, "'");
}

ConvertReport convert_from_hf(const std::string& hf_dir, const std::string& run_dir) {
  const std::string config_path = (std::filesystem::path(hf_dir) / kConfigFile).string();
  std::ifstream in(config_path, std::ios::binary);
  KRAIT_CHECK(in, "convert --from-hf: cannot open '", config_path, "': ", std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ConvertReport report;
  report.config = mamba_config_from_hf(parse_json(text, config_path), config_path);
  const SafetensorsSet weights(hf_dir);

  Recipe recipe;
  recipe.model = lm_spec(report.config);
  recipe.data.train = "data/train.bin";
  recipe.schedule.total_steps = 1000;
  recipe.train.run_dir = run_dir;
  recipe.validate();

  const auto model = build_model(recipe.model, 0, {DType::F32, Device::cpu()});
  std::set<std::string> used;
  CheckpointWriter ckpt;
  for (const Parameter& p : model->parameters()) {
    const std::string name = hf_parameter_name(p.name);
    const std::vector<int64_t> shape = hf_shape(p, report.config.vocab_size);
    KRAIT_CHECK(weights.has(name), "convert --from-hf: '", hf_dir, "' has no tensor '", name, "' (Krait's ", p.name,
                ", shape ", shape_text(shape), ")");
    const SafetensorInfo& info = weights.info(name);
    KRAIT_CHECK(info.shape == shape, "convert --from-hf: ", weights.file_of(name), ": tensor '", name,
                "' has shape ", shape_text(info.shape), " but config.json implies ", shape_text(shape));
    const std::vector<float> values = weights.read(name);
    std::vector<double> padded(values.begin(), values.end());
    padded.resize(static_cast<size_t>(p.value.numel()), 0.0);  // Krait's padded vocabulary rows: zeros, unused
    p.value.copy_from(Tensor::from_vector(padded, p.value.shape(), DType::F32));
    ckpt.put_tensor("model/" + p.name, p.value);
    used.insert(name);
    ++report.tensors;
  }
  for (const std::string& name : weights.names()) {
    if (used.count(name)) continue;
    KRAIT_CHECK(name == "lm_head.weight" && report.config.tie_embeddings, "convert --from-hf: ",
                weights.file_of(name), ": tensor '", name, "' is not a parameter of the model config.json describes");
    const std::string embedding = hf_parameter_name("embedding.weight");
    KRAIT_CHECK(weights.info(name).shape == weights.info(embedding).shape &&
                    weights.read(name) == weights.read(embedding),
                "convert --from-hf: ", weights.file_of(name), ": lm_head.weight differs from ", embedding,
                " but tie_word_embeddings is true");
  }

  const std::string yaml = to_yaml(recipe);
  ckpt.put_int("state/step", 0);
  ckpt.put_int("state/tokens_seen", 0);
  ckpt.put_string("recipe", yaml);
  report.written = checkpoint_path(run_dir, 0);
  ckpt.write(report.written);

  const std::string recipe_path = (std::filesystem::path(run_dir) / "recipe.yaml").string();
  std::ofstream out(recipe_path, std::ios::binary | std::ios::trunc);
  out << "# Converted by `krait convert --from-hf " << hf_dir << "` from Hugging Face's config.json: the model\n"
      << "# section is that model; data, schedule and the rest are defaults. The checkpoint\n"
      << "# checkpoints/step-00000000.h5 holds the weights only: evaluate it with `krait eval --checkpoint ...\n"
      << "# --set data.valid=...`, or fine-tune from it in a new run with train.init_from: " << run_dir << "\n"
      << yaml;
  KRAIT_CHECK(out.flush(), "convert --from-hf: cannot write '", recipe_path, "'");
  return report;
}

ConvertReport convert_to_hf(const std::string& checkpoint, const std::string& out_dir) {
  const CheckpointReader ckpt(checkpoint);
  const Recipe recipe = parse_recipe(ckpt.get_string("recipe"), checkpoint + ":/recipe");
  KRAIT_CHECK(recipe.model.backbone == "mamba" && recipe.model.task == Task::LM, "convert --to-hf: '", checkpoint,
              "' is a ", recipe.model.backbone, " ", task_name(recipe.model.task),
              " model; Hugging Face's MambaForCausalLM is a Mamba language model");
  ConvertReport report;
  report.config = recipe.model.mamba;
  check_hf_representable(report.config, "convert --to-hf: '" + checkpoint + "'");
  const auto model = build_model(recipe.model, 0, {DType::F32, Device::cpu()});
  for (const Parameter& p : model->parameters()) ckpt.read_into("model/" + p.name, p.value);
  write_hf_model(model->parameters(), report.config, out_dir);
  report.tensors = static_cast<int64_t>(model->parameters().size());
  report.written = out_dir;
  return report;
}

}  // namespace krait::train
