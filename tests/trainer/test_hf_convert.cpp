// train/hf_convert: Hugging Face MambaForCausalLM folders to Krait run directories and back. The
// committed fixture tests/fixtures/hf-mamba-tiny (a 2-layer, d_model 8 model drawn by Krait from
// seed 1234 and written by write_hf_model) converts --from-hf and back --to-hf bit for bit, and the
// converted model gives the same logits as the Krait model it came from; config.json errors name the key.
#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/ops.h"
#include "layers/model_spec.h"
#include "tests/support/error_text.h"
#include "tests/support/temp_dir.h"
#include "train/checkpoint_file.h"
#include "train/hf_convert.h"
#include "train/recipe.h"
#include "train/safetensors.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;
using krait::testing::read_bytes;
using krait::testing::TempDir;
using krait::testing::write_text;

const std::string kFixture = std::string(KRAIT_SOURCE_DIR) + "/tests/fixtures/hf-mamba-tiny";
constexpr uint64_t kFixtureSeed = 1234;

MambaConfig fixture_config() {
  MambaConfig c;
  c.d_model = 8;
  c.n_layer = 2;
  c.vocab_size = 16;
  c.d_state = 4;
  c.d_conv = 4;
  c.expand = 2;
  return c;
}

ModelSpec lm(const MambaConfig& c) {
  ModelSpec spec;
  spec.mamba = c;
  return spec;
}

std::unique_ptr<Model> load_checkpoint_model(const std::string& path) {
  const CheckpointReader ckpt(path);
  const Recipe recipe = parse_recipe(ckpt.get_string("recipe"), path);
  auto model = build_model(recipe.model, 99, {});
  for (const Parameter& p : model->parameters()) ckpt.read_into("model/" + p.name, p.value);
  return model;
}

// The logits over the vocabulary (a padded vocabulary's extra columns are no class: left out).
std::vector<double> logits_of(const Model& model, int64_t vocab) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 2 * 7; ++i) ids.push_back((i * 5 + 3) % vocab);
  const Tensor x = Tensor::from_indices(ids, {2, 7}, DType::I32);
  NoGradGuard no_grad;
  const Tensor logits = model.forward(ModelBatch{x, x, {}, {}}).logits;
  return ops::slice(logits, 2, 0, vocab).to_doubles();
}

std::string config_with(const std::string& extra) {
  return R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 2, "vocab_size": 16,
             "state_size": 4)" + extra + "}";
}

TEST(HfConvert, FixtureIsTheSeededKraitModel) {
  TempDir dir;
  const auto model = build_model(lm(fixture_config()), kFixtureSeed, {});
  write_hf_model(model->parameters(), fixture_config(), dir.path());
  for (const char* file : {"config.json", "model.safetensors"}) {
    EXPECT_EQ(read_bytes(dir.file(file)), read_bytes(kFixture + "/" + file))
        << file << " differs from the committed fixture; regenerated in " << dir.path();
  }
  // The layout by hand: HF names, conv1d.weight (E, 1, K), the tied head not written.
  const SafetensorsReader r(kFixture + "/model.safetensors");
  EXPECT_EQ(r.tensors().size(), 1 + 2 * 10 + 1u);
  EXPECT_EQ(r.info("backbone.embeddings.weight").shape, (std::vector<int64_t>{16, 8}));
  EXPECT_EQ(r.info("backbone.layers.1.mixer.conv1d.weight").shape, (std::vector<int64_t>{16, 1, 4}));
  EXPECT_EQ(r.info("backbone.layers.0.mixer.x_proj.weight").shape, (std::vector<int64_t>{1 + 2 * 4, 16}));
  EXPECT_EQ(r.info("backbone.layers.0.mixer.A_log").shape, (std::vector<int64_t>{16, 4}));
  EXPECT_FALSE(r.has("lm_head.weight"));
  EXPECT_EQ(r.metadata().at("format"), "pt");
  // Float fields stay floats in config.json (transformers >= 5 refuses "time_step_scale": 1).
  const std::vector<char> config = read_bytes(kFixture + "/config.json");
  EXPECT_NE(std::string(config.begin(), config.end()).find("\"time_step_scale\": 1.0,"), std::string::npos);
}

TEST(HfConvert, FixtureRoundTripsBitExactlyWithTheSameLogits) {
  TempDir run, back;
  const ConvertReport in = convert_from_hf(kFixture, run.path());
  EXPECT_EQ(in.config, fixture_config());
  EXPECT_EQ(in.written, run.path() + "/checkpoints/step-00000000.h5");
  EXPECT_EQ(in.tensors, 22);
  EXPECT_EQ(load_recipe(run.file("recipe.yaml")).model.mamba, fixture_config());

  const auto source = build_model(lm(fixture_config()), kFixtureSeed, {});
  const auto converted = load_checkpoint_model(in.written);
  EXPECT_EQ(logits_of(*converted, 16), logits_of(*source, 16));

  const ConvertReport out = convert_to_hf(in.written, back.path());
  EXPECT_EQ(out.tensors, 22);
  for (const char* file : {"config.json", "model.safetensors"}) {
    EXPECT_EQ(read_bytes(back.file(file)), read_bytes(kFixture + "/" + file)) << file;
  }
}

TEST(HfConvert, UntiedBiasedPaddedVocabularyRoundTrips) {
  TempDir hf, run, back;
  MambaConfig c = fixture_config();
  c.vocab_size = 13;  // padded to 16 rows
  c.tie_embeddings = false;
  c.bias = true;
  c.dt_rank = 3;
  c.norm_eps = 1e-6;
  const auto model = build_model(lm(c), 7, {});
  write_hf_model(model->parameters(), c, hf.path());
  const SafetensorsReader r(hf.file("model.safetensors"));
  EXPECT_EQ(r.info("lm_head.weight").shape, (std::vector<int64_t>{13, 8})) << "the padded rows are not written";
  EXPECT_EQ(r.info("backbone.embeddings.weight").shape, (std::vector<int64_t>{13, 8}));
  EXPECT_TRUE(r.has("backbone.layers.0.mixer.in_proj.bias"));

  const ConvertReport in = convert_from_hf(hf.path(), run.path());
  EXPECT_EQ(in.config, c);
  EXPECT_EQ(logits_of(*load_checkpoint_model(in.written), 13), logits_of(*model, 13));
  convert_to_hf(in.written, back.path());
  EXPECT_EQ(read_bytes(back.file("model.safetensors")), read_bytes(hf.file("model.safetensors")));
}

TEST(HfConvert, HfVocabularyIsPaddedWithZeroRows) {
  TempDir hf, run;
  MambaConfig c = fixture_config();
  c.vocab_size = 13;
  c.pad_vocab_size_multiple = 1;
  const auto source = build_model(lm(c), 3, {});
  write_hf_model(source->parameters(), c, hf.path());
  // As transformers writes it: vocab_size is the row count, pad_vocab_size_multiple 8 does not divide it.
  write_text(hf.file("config.json"), R"({"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 2,
                                         "vocab_size": 13, "state_size": 4, "pad_vocab_size_multiple": 8})");
  const ConvertReport in = convert_from_hf(hf.path(), run.path());
  EXPECT_EQ(in.config.vocab_size, 13);
  EXPECT_EQ(in.config.padded_vocab_size(), 16);
  const auto converted = load_checkpoint_model(in.written);
  const std::vector<double> embedding = converted->parameters().front().value.to_doubles();
  EXPECT_EQ(std::vector<double>(embedding.begin() + 13 * 8, embedding.end()), std::vector<double>(3 * 8, 0.0));
  EXPECT_EQ(logits_of(*converted, 13), logits_of(*source, 13));
}

TEST(HfConvert, ConfigErrorsNameTheKey) {
  auto error_for = [](const std::string& text) {
    return error_text([&] { mamba_config_from_hf(parse_json(text, "c.json"), "c.json"); });
  };
  EXPECT_EQ(mamba_config_from_hf(parse_json(config_with(""), "c.json"), "c.json"), fixture_config());
  std::string e = error_for(config_with(R"(, "n_groups": 1)"));
  EXPECT_TRUE(mentions(e, "c.json: key 'n_groups' is not a MambaConfig field")) << e;
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "residual_in_fp32": false)")), "residual_in_fp32 must be true"));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "hidden_act": "gelu")")), "hidden_act"));
  EXPECT_TRUE(mentions(error_for(R"({"model_type": "mamba2", "hidden_size": 8})"), "model_type must be \"mamba\""));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "intermediate_size": 20)")), "intermediate_size 20"));
  EXPECT_TRUE(mentions(error_for(R"({"hidden_size": 8, "vocab_size": 16})"), "missing 'num_hidden_layers'"));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "use_bias": 1)")), "'use_bias' must be true or false"));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "time_step_rank": "big")")), "'time_step_rank' must be"));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "krait_vocab_size": 5)")), "key 'krait_vocab_size' is not"));
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "conv_kernel": 0)")), "c.json: "));
  // Sizes are bounded before any product of them (expand x hidden_size would overflow int64 here).
  EXPECT_TRUE(mentions(error_for(config_with(R"(, "expand": 4611686018427387904, "intermediate_size": 16)")),
                       "c.json: expand 4611686018427387904 is too large"));
  const MambaConfig auto_rank = mamba_config_from_hf(parse_json(config_with(R"(, "time_step_rank": "auto")"), "c"), "c");
  EXPECT_EQ(auto_rank.dt_rank, 0);
}

TEST(HfConvert, WeightErrorsNameTheTensor) {
  TempDir hf, run;
  const MambaConfig c = fixture_config();
  const auto model = build_model(lm(c), 5, {});
  std::filesystem::copy_file(kFixture + "/config.json", hf.file("config.json"));
  auto write_without = [&](const std::string& skip, const std::vector<int64_t>& bad_shape_for_A_log) {
    SafetensorsWriter w;
    for (const Parameter& p : model->parameters()) {
      const std::string name = hf_parameter_name(p.name);
      if (name == skip) continue;
      const std::vector<double> v = p.value.to_doubles();
      std::vector<int64_t> shape = p.value.shape();
      if (name.ends_with("conv1d.weight")) shape.insert(shape.begin() + 1, 1);
      if (name == "backbone.layers.0.mixer.A_log" && !bad_shape_for_A_log.empty()) shape = bad_shape_for_A_log;
      w.add_f32(name, shape, std::vector<float>(v.begin(), v.end()));
    }
    return w;
  };
  write_without("backbone.layers.1.mixer.D", {}).write(hf.file("model.safetensors"));
  std::string e = error_text([&] { convert_from_hf(hf.path(), run.path()); });
  EXPECT_TRUE(mentions(e, "has no tensor 'backbone.layers.1.mixer.D'")) << e;

  write_without("", {4, 16}).write(hf.file("model.safetensors"));
  e = error_text([&] { convert_from_hf(hf.path(), run.path()); });
  EXPECT_TRUE(mentions(e, "'backbone.layers.0.mixer.A_log' has shape [4, 16] but config.json implies [16, 4]")) << e;

  SafetensorsWriter extra = write_without("", {});
  extra.add_f32("backbone.layers.2.norm.weight", {8}, std::vector<float>(8, 1.0f));
  extra.write(hf.file("model.safetensors"));
  e = error_text([&] { convert_from_hf(hf.path(), run.path()); });
  EXPECT_TRUE(mentions(e, "'backbone.layers.2.norm.weight' is not a parameter")) << e;

  SafetensorsWriter tied = write_without("", {});
  tied.add_f32("lm_head.weight", {16, 8}, std::vector<float>(16 * 8, 0.5f));
  tied.write(hf.file("model.safetensors"));
  e = error_text([&] { convert_from_hf(hf.path(), run.path()); });
  EXPECT_TRUE(mentions(e, "lm_head.weight differs from backbone.embeddings.weight")) << e;
  EXPECT_FALSE(std::filesystem::exists(run.file("checkpoints"))) << "nothing written on error";

  EXPECT_TRUE(mentions(error_text([] { hf_parameter_name("layers.0.mixer.dt_bias"); }), "no Hugging Face"));
}

}  // namespace
}  // namespace krait::train
