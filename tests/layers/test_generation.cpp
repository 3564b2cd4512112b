// tests/layers/test_generation.cpp — recurrent generation: a Mamba LM's Generator (prefill, then one
// token at a time) gives the full-sequence forward's logits at every position, for the default block
// and its ablations, in f64 and f32 (and bf16 on CUDA), with batch rows independent; the stateful
// scan and the scan step continue the full scan; sampling (greedy, top-k, top-p,
// temperature, seeds); a model without a recurrence (the Transformer) has no generator. The CUDA
// cases skip without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/mamba_lm.h"
#include "layers/model_spec.h"
#include "layers/sampling.h"
#include "tests/layers/tiny_config.h"
#include "tests/support/error_text.h"

namespace krait {
namespace {

using testing::tiny_config;  // d_model 4, d_inner 8, d_state 3, dt_rank 1, d_conv 3, vocab 11 (16 padded)

struct Case {
  std::string name;
  MambaConfig config;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  std::vector<Case> out{{"default", tiny_config()}};
  const auto with = [&](const std::string& name, auto change) {
    MambaConfig c = tiny_config();
    change(c);
    out.push_back({name, c});
  };
  with("conv_off", [](MambaConfig& c) { c.conv = false; });
  with("gate_off", [](MambaConfig& c) { c.gate = false; });
  with("selective_delta", [](MambaConfig& c) { c.selective = Selectivity(true, false, false); });
  with("selective_none", [](MambaConfig& c) { c.selective = false; });
  with("untied_head", [](MambaConfig& c) { c.tie_embeddings = false; });
  with("biases", [](MambaConfig& c) { c.bias = true; });
  with("no_conv_bias_d_state_16", [](MambaConfig& c) { c.conv_bias = false, c.d_state = 16; });
  with("d_conv_1", [](MambaConfig& c) { c.d_conv = 1; });
  return out;
}

Tensor random_ids(int64_t batch, int64_t len, int64_t vocab, uint64_t seed, Device device = Device::cpu()) {
  Rng rng(seed);
  std::vector<int64_t> ids(batch * len);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(vocab));
  return Tensor::from_indices(ids, {batch, len}, DType::I32, device);
}

// Column t of ids (B, L) as (B), and position t of logits (B, L, V) as (B, V).
Tensor ids_at(const Tensor& ids, int64_t t) { return ops::reshape(ops::slice(ids, 1, t, t + 1), {ids.size(0)}); }
Tensor logits_at(const Tensor& logits, int64_t t) {
  return ops::reshape(ops::slice(logits, 1, t, t + 1), {logits.size(0), logits.size(2)});
}

// Every element of got within rtol of want, relative to want's largest magnitude.
void expect_close(const Tensor& got, const Tensor& want, double rtol, const std::string& where) {
  ASSERT_EQ(got.shape(), want.shape()) << where;
  const std::vector<double> g = got.to_doubles(), w = want.to_doubles();
  double scale = 0, worst = 0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - w[i]));
  EXPECT_LE(worst, rtol * scale) << where << ": largest difference " << worst << " of " << scale;
}

// Prefill of the first `prefill` tokens, then steps through the rest: the logits at every position
// match the full forward's.
void expect_recurrent_matches_forward(const Model& model, const Tensor& ids, int64_t prefill, double rtol) {
  NoGradGuard no_grad;
  const Tensor full = static_cast<const LanguageModel&>(model).forward(ids);
  const auto generator = model.generator(ids.size(0));
  ASSERT_TRUE(generator);
  expect_close(generator->prefill(ops::slice(ids, 1, 0, prefill)), logits_at(full, prefill - 1), rtol,
               "prefill of " + std::to_string(prefill));
  for (int64_t t = prefill; t < ids.size(1); ++t)
    expect_close(generator->step(ids_at(ids, t)), logits_at(full, t), rtol, "step at " + std::to_string(t));
}

class Generation : public ::testing::TestWithParam<Case> {};

TEST_P(Generation, StepsMatchForwardF64) {
  const MambaLM model(GetParam().config, 7, {DType::F64});
  expect_recurrent_matches_forward(model, random_ids(3, 9, 11, 1), 1, 1e-10);
}

TEST_P(Generation, PrefillThenStepsMatchForwardF64) {
  const MambaLM model(GetParam().config, 7, {DType::F64});
  for (const int64_t prefill : {2, 5, 9})
    expect_recurrent_matches_forward(model, random_ids(2, 9, 11, 2), prefill, 1e-10);
}

TEST_P(Generation, StepsMatchForwardF32) {
  const MambaLM model(GetParam().config, 7, {DType::F32});
  expect_recurrent_matches_forward(model, random_ids(2, 12, 11, 3), 4, 1e-5);
}

TEST_P(Generation, BatchRowsAreIndependent) {
  const MambaLM model(GetParam().config, 7, {DType::F64});
  const Tensor ids = random_ids(3, 6, 11, 4);
  NoGradGuard no_grad;
  const auto batch = model.generator(3);
  Tensor together = batch->prefill(ops::slice(ids, 1, 0, 3));
  for (int64_t t = 3; t < 6; ++t) together = batch->step(ids_at(ids, t));
  for (int64_t row = 0; row < 3; ++row) {
    const Tensor alone_ids = ops::slice(ids, 0, row, row + 1);
    const auto single = model.generator(1);
    Tensor alone = single->prefill(ops::slice(alone_ids, 1, 0, 3));
    for (int64_t t = 3; t < 6; ++t) alone = single->step(ids_at(alone_ids, t));
    expect_close(alone, ops::slice(together, 0, row, row + 1), 1e-12, "row " + std::to_string(row));
  }
}

TEST_P(Generation, CudaStepsMatchForwardF32) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const MambaLM model(GetParam().config, 7, {DType::F32, Device::cuda()});
  expect_recurrent_matches_forward(model, random_ids(2, 12, 11, 3, Device::cuda()), 4, 1e-5);
}

// Prompts shorter than the conv's window (the state's zeros and the prompt make the window) and a
// prompt continued by a second prefill, then steps, on CUDA (d_conv 4: a window of 3 past inputs).
TEST(Generation, CudaShortAndContinuedPrefillsMatchForward) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  MambaConfig config = tiny_config();
  config.d_conv = 4;
  for (const DType compute : {DType::F32, DType::BF16}) {
    MambaLM model(config, 7, {DType::F32, Device::cuda()});
    model.set_compute_dtype(compute);
    const double rtol = compute == DType::F32 ? 1e-5 : 3e-2;
    const Tensor ids = random_ids(2, 9, 11, 6, Device::cuda());
    for (const int64_t prefill : {1, 2, 3}) expect_recurrent_matches_forward(model, ids, prefill, rtol);
    NoGradGuard no_grad;
    const Tensor full = model.forward(ids);
    const auto generator = model.generator(2);
    generator->prefill(ops::slice(ids, 1, 0, 2));
    expect_close(generator->prefill(ops::slice(ids, 1, 2, 6)), logits_at(full, 5), rtol, "second prefill");
    for (int64_t t = 6; t < 9; ++t)
      expect_close(generator->step(ids_at(ids, t)), logits_at(full, t), rtol, "step at " + std::to_string(t));
  }
}

// bf16 activations with f32 states: the step's kernels round where the full forward's do, so the two
// agree to bf16's precision.
TEST_P(Generation, CudaStepsMatchForwardBF16) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  MambaLM model(GetParam().config, 7, {DType::F32, Device::cuda()});
  model.set_compute_dtype(DType::BF16);
  expect_recurrent_matches_forward(model, random_ids(2, 12, 11, 3, Device::cuda()), 4, 3e-2);
}

TEST_P(Generation, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const MambaLM cpu(GetParam().config, 7, {DType::F32}), gpu(GetParam().config, 7, {DType::F32, Device::cuda()});
  const Tensor ids = random_ids(2, 5, 11, 5);
  NoGradGuard no_grad;
  const auto on_cpu = cpu.generator(2), on_gpu = gpu.generator(2);
  expect_close(on_gpu->prefill(ids.to(Device::cuda())), on_cpu->prefill(ids), 1e-5, "prefill");
  const Tensor next = ids_at(ids, 4);
  expect_close(on_gpu->step(next.to(Device::cuda())), on_cpu->step(next), 1e-5, "step");
}

INSTANTIATE_TEST_SUITE_P(Configs, Generation, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Generation, TransformerHasNoGenerator) {
  ModelSpec spec;
  spec.backbone = "transformer";
  spec.transformer.d_model = 8, spec.transformer.n_layer = 1, spec.transformer.n_head = 2;
  spec.transformer.vocab_size = 11;
  EXPECT_EQ(build_model(spec, 0, {})->generator(1), nullptr);
}

TEST(Generation, BadInputsAreErrors) {
  const MambaLM model(tiny_config(), 7, {DType::F64});
  const auto generator = model.generator(2);
  NoGradGuard no_grad;
  EXPECT_THROW(generator->prefill(random_ids(2, 0, 11, 1)), Error);
  EXPECT_THROW(generator->step(random_ids(2, 1, 11, 1)), Error);       // (B, 1), not (B)
  EXPECT_THROW(generator->prefill(random_ids(3, 2, 11, 1)), Error);    // 3 rows for a batch of 2
  EXPECT_THROW(model.generator(0), Error);
}

// The stateful scan continuing over a sequence cut in pieces equals the full scan, and so does the
// scan step taken at every time, reading its inputs as columns of packed rows (as the mixer's step
// reads parts of a projection); both end in the same state. Input-dependent and time-invariant B and
// C, with every optional input.
TEST(StatefulScan, ContinuesTheFullScan) {
  const int64_t batch = 2, dim = 5, len = 7, N = 3;
  Rng rng(3);
  const auto random = [&](const Shape& shape, double lo, double hi) {
    std::vector<double> v(shape_numel(shape));
    for (double& x : v) x = rng.uniform(lo, hi);
    return Tensor::from_vector(v, shape, DType::F64);
  };
  for (const bool variable : {true, false}) {
    SCOPED_TRACE(variable ? "input-dependent B, C" : "time-invariant B, C");
    ops::ScanInputs in;
    in.u = random({batch, dim, len}, -1, 1), in.delta = random({batch, dim, len}, -2, 1);
    in.A = random({dim, N}, -2, -0.1);
    const Shape bc = variable ? Shape{batch, N, len} : Shape{dim, N};
    in.B = random(bc, -1, 1), in.C = random(bc, -1, 1);
    in.D_skip = random({dim}, -1, 1), in.z = random({batch, dim, len}, -1, 1), in.delta_bias = random({dim}, -1, 1);
    in.delta_softplus = true;
    NoGradGuard no_grad;
    const Tensor full = ops::selective_scan(in);
    const auto piece = [&](int64_t begin, int64_t end) {
      ops::ScanInputs p = in;
      for (Tensor* t : {&p.u, &p.delta, &p.z}) *t = ops::slice(*t, 2, begin, end);
      if (variable)
        for (Tensor* t : {&p.B, &p.C}) *t = ops::slice(*t, 2, begin, end);
      return p;
    };
    const Tensor kernel_state = Tensor::zeros({batch, dim, N}, DType::F64);
    std::vector<Tensor> kernel_parts;
    for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, 3}, {3, 4}, {4, 7}})
      kernel_parts.push_back(ops::selective_scan_stateful(piece(begin, end), kernel_state));
    expect_close(ops::concat(kernel_parts, 2), full, 1e-13, "kernel in pieces");

    const Tensor step_state = Tensor::zeros({batch, dim, N}, DType::F64);
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < len; ++t) {
      const auto at = [&](const Tensor& x) { return ops::reshape(ops::slice(x, 2, t, t + 1), {batch, x.size(1)}); };
      const Tensor udz = ops::concat({at(in.u), at(in.delta), at(in.z)}, 1);  // (batch, 3 dim)
      ops::ScanStepInputs s;
      s.u = {udz, 0}, s.delta = {udz, dim}, s.z = {udz, 2 * dim};
      s.B_variable = s.C_variable = variable;
      if (variable) {
        const Tensor bcs = ops::concat({Tensor::zeros({batch, 2}, DType::F64), at(in.B), at(in.C)}, 1);
        s.B = {bcs, 2}, s.C = {bcs, 2 + N};
      } else {
        s.B = {in.B}, s.C = {in.C};
      }
      s.A = in.A, s.D_skip = in.D_skip, s.delta_bias = in.delta_bias, s.delta_softplus = true;
      steps.push_back(ops::reshape(ops::selective_scan_step(s, step_state), {batch, dim, 1}));
    }
    expect_close(ops::concat(steps, 2), full, 1e-13, "steps");
    expect_close(step_state, kernel_state, 1e-13, "final states");
  }
}

TEST(StatefulScan, IsNotDifferentiable) {
  ops::ScanInputs in;
  in.u = Tensor::zeros({1, 2, 3}, DType::F64).set_requires_grad(true), in.delta = Tensor::zeros({1, 2, 3}, DType::F64);
  in.A = Tensor::zeros({2, 4}, DType::F64), in.B = in.C = Tensor::zeros({2, 4}, DType::F64);
  const Tensor state = Tensor::zeros({1, 2, 4}, DType::F64);
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { ops::selective_scan_stateful(in, state); }), "NoGradGuard"));
  NoGradGuard no_grad;
  const Tensor wrong = Tensor::zeros({1, 2, 3}, DType::F64);
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { ops::selective_scan_stateful(in, wrong); }), "state is"));
}

// ---- sampling ----

Tensor logits_of(const std::vector<std::vector<double>>& rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return Tensor::from_vector(flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())},
                             DType::F32);
}

TEST(Sampling, GreedyIsArgmaxPerRow) {
  Rng rng(1);
  const Tensor logits = logits_of({{0.1, 2.0, -1.0, 0.5}, {3.0, 2.0, 1.0, 9.0}, {1.0, 1.0, 0.0, 0.0}});
  EXPECT_EQ(sample_tokens(logits, 4, {.temperature = 0}, rng), (std::vector<int32_t>{1, 3, 0}));
  // A padded vocabulary's columns past `vocab` are never drawn.
  EXPECT_EQ(sample_tokens(logits, 3, {.temperature = 0}, rng), (std::vector<int32_t>{1, 0, 0}));
}

TEST(Sampling, DeviceArgmaxIsGreedy) {
  Rng rng(3);
  const Tensor logits = logits_of({{0.1, 2.0, -1.0, 2.0}, {std::nan(""), 2.0, 1.0, 9.0}, {1.0, 1.0, 0.0, 0.0}});
  EXPECT_EQ(ops::argmax_rows(logits, 4).to_doubles(), (std::vector<double>{1, 3, 0}));
  EXPECT_EQ(ops::argmax_rows(logits, 3).to_doubles(), (std::vector<double>{1, 1, 0}));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { ops::argmax_rows(logits, 5); }), "width 5"));
}

TEST(Sampling, TopKOneIsGreedy) {
  Rng rng(2);
  const Tensor logits = logits_of({{0.1, 2.0, -1.0, 0.5}, {3.0, 2.0, 1.0, 9.0}});
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(sample_tokens(logits, 4, {.temperature = 1.5, .top_k = 1}, rng), (std::vector<int32_t>{1, 3}));
}

TEST(Sampling, TopKKeepsTheKMostLikely) {
  const std::vector<double> logits{0.0, 3.0, 1.0, 2.0, -1.0};
  const auto d = sampling_distribution(logits, {.temperature = 1.0, .top_k = 3});
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].first, 1);
  EXPECT_EQ(d[1].first, 3);
  EXPECT_EQ(d[2].first, 2);
  const double z = std::exp(3.0) + std::exp(2.0) + std::exp(1.0);
  EXPECT_NEAR(d[0].second, std::exp(3.0) / z, 1e-12);
}

TEST(Sampling, TopPKeepsTheSmallestPrefixWithTheMass) {
  // Probabilities 0.5, 0.25, 0.125, 0.125 (most likely first: ids 2, 0, 1, 3).
  const std::vector<double> logits{std::log(0.25), std::log(0.125), std::log(0.5), std::log(0.125)};
  const auto ids = [](const std::vector<std::pair<int32_t, double>>& d) {
    std::vector<int32_t> out;
    for (const auto& [id, p] : d) out.push_back(id);
    return out;
  };
  EXPECT_EQ(ids(sampling_distribution(logits, {.top_p = 0.5})), (std::vector<int32_t>{2}));
  EXPECT_EQ(ids(sampling_distribution(logits, {.top_p = 0.6})), (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(ids(sampling_distribution(logits, {.top_p = 0.75})), (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(ids(sampling_distribution(logits, {.top_p = 0.8})), (std::vector<int32_t>{2, 0, 1}));
  EXPECT_EQ(ids(sampling_distribution(logits, {.top_p = 1.0})).size(), 4u);
  const auto kept = sampling_distribution(logits, {.top_p = 0.6});
  EXPECT_NEAR(kept[0].second, 2.0 / 3, 1e-12);  // renormalized over the kept tokens
  EXPECT_NEAR(kept[1].second, 1.0 / 3, 1e-12);
}

TEST(Sampling, TemperatureSharpensAndFlattens) {
  const std::vector<double> logits{0.0, 1.0};
  const double cold = sampling_distribution(logits, {.temperature = 0.5})[0].second;
  const double hot = sampling_distribution(logits, {.temperature = 2.0})[0].second;
  EXPECT_NEAR(cold, 1 / (1 + std::exp(-2.0)), 1e-12);
  EXPECT_NEAR(hot, 1 / (1 + std::exp(-0.5)), 1e-12);
}

TEST(Sampling, SeededDrawsAreReproducibleAndFollowTheDistribution) {
  const Tensor logits = logits_of({{0.0, 1.0, 2.0}, {2.0, 1.0, 0.0}});
  Rng a(9), b(9), c(10);
  std::vector<int32_t> first, second, other;
  std::vector<int64_t> counts(3, 0);
  for (int i = 0; i < 2000; ++i) {
    const auto x = sample_tokens(logits, 3, {}, a);
    first.insert(first.end(), x.begin(), x.end());
    const auto y = sample_tokens(logits, 3, {}, b);
    second.insert(second.end(), y.begin(), y.end());
    const auto w = sample_tokens(logits, 3, {}, c);
    other.insert(other.end(), w.begin(), w.end());
    ++counts[x[0]];
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  const double z = 1 + std::exp(1.0) + std::exp(2.0);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(counts[k] / 2000.0, std::exp(double(k)) / z, 0.04) << k;
}

TEST(Sampling, OptionsOutOfRangeAreErrors) {
  using testing::error_text, testing::mentions;
  const std::vector<double> logits{0.0, 1.0};
  EXPECT_TRUE(mentions(error_text([&] { sampling_distribution(logits, {.temperature = -1}); }), "temperature"));
  EXPECT_TRUE(mentions(error_text([&] { sampling_distribution(logits, {.temperature = NAN}); }), "temperature"));
  EXPECT_TRUE(mentions(error_text([&] { sampling_distribution(logits, {.top_k = -2}); }), "top-k"));
  EXPECT_TRUE(mentions(error_text([&] { sampling_distribution(logits, {.top_p = 0}); }), "top-p"));
  EXPECT_TRUE(mentions(error_text([&] { sampling_distribution(logits, {.top_p = 1.5}); }), "top-p"));
}

}  // namespace
}  // namespace krait
