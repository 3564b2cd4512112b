// The CUDA cross-entropy against cpu::cross_entropy_* run in double on the same (f32- or bf16-rounded)
// logits: per-row log-sum-exp and loss, the mean and summed reductions with ignored rows, the gradient
// (zero in a padded vocabulary's extra columns), bit-identical repeats, and the invalid-target check.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/cross_entropy.h"
#include "kernels/cuda/cross_entropy.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

constexpr int64_t kIgnore = -100;

struct Case {
  int64_t rows, vocab, classes;  // rows of `vocab` logits, the first `classes` of them classes
  DType type;
};

// Every fourth row (and row 1) ignored; vocab 1001 and 7 are not whole 16-byte packs. Padded
// vocabularies: 50277 classes in 50280 columns (GPT-NeoX's), 1001 in 1008 (a pack straddles the end),
// 257 in 272 (whole packs past it).
const Case kCases[] = {{1, 7, 7, DType::F32},           {37, 50280, 50280, DType::F32}, {37, 50280, 50277, DType::F32},
                       {37, 50280, 50277, DType::BF16}, {5, 1001, 1001, DType::F32},    {5, 1001, 1001, DType::BF16},
                       {5, 1008, 1001, DType::BF16},    {9, 272, 257, DType::F32},      {9, 272, 257, DType::BF16},
                       {300, 3, 3, DType::F32},         {64, 50280, 50277, DType::BF16}};

std::vector<int64_t> make_targets(Rng& rng, int64_t rows, int64_t vocab) {
  std::vector<int64_t> targets(rows);
  for (int64_t r = 0; r < rows; ++r) targets[r] = r % 4 == 3 || r == 1 ? kIgnore : int64_t(rng.below(vocab));
  return targets;
}

TEST(CudaCrossEntropy, MatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(21);
  for (const Case& c : kCases) {
    const std::string what = std::string(dtype_name(c.type)) + " (" + std::to_string(c.rows) + ", " +
                             std::to_string(c.vocab) + "), " + std::to_string(c.classes) + " classes";
    const int64_t n = c.rows * c.vocab;
    std::vector<double> logits = testing::random_values(rng, n, -6, 6, c.type);
    for (int64_t r = 0; r < c.rows; ++r) logits[r * c.vocab + (r * 7919) % c.classes] = 14.0;  // a confident class
    for (int64_t r = 0; r < c.rows; ++r)  // large padded logits would dominate a softmax that read them
      for (int64_t v = c.classes; v < c.vocab; ++v) logits[r * c.vocab + v] = 20.0;
    const std::vector<int64_t> targets = make_targets(rng, c.rows, c.classes);

    std::vector<double> lse(c.rows);
    const cpu::CrossEntropySum total =
        cpu::cross_entropy_forward(logits.data(), targets.data(), lse.data(), c.rows, c.vocab, c.classes, kIgnore);
    std::vector<double> loss(c.rows, 0.0);
    for (int64_t r = 0; r < c.rows; ++r)
      if (targets[r] != kIgnore) loss[r] = lse[r] - logits[r * c.vocab + targets[r]];
    const double scale = 0.7 / double(total.kept);
    std::vector<double> grad(n);
    cpu::cross_entropy_backward(logits.data(), targets.data(), lse.data(), scale, grad.data(), c.rows, c.vocab,
                                c.classes, kIgnore);

    const DeviceBuffer dlogits = testing::upload(logits, c.type), dtargets = testing::upload_ids(targets);
    DeviceBuffer dloss(c.rows * 4), dlse(c.rows * 4), dloss2(c.rows * 4), dlse2(c.rows * 4);
    DeviceBuffer dmean(4), dmean2(4), dsum(4), dkept(8), dgrad(n * dtype_size(c.type));
    cross_entropy_forward(dlogits.get(), c.type, dtargets.as<int64_t>(), dloss.as<float>(), dlse.as<float>(), c.rows,
                          c.vocab, c.classes, kIgnore, nullptr);
    cross_entropy_forward(dlogits.get(), c.type, dtargets.as<int64_t>(), dloss2.as<float>(), dlse2.as<float>(),
                          c.rows, c.vocab, c.classes, kIgnore, nullptr);
    cross_entropy_reduce(dloss.as<float>(), dtargets.as<int64_t>(), c.rows, kIgnore, true, dmean.as<float>(),
                         dkept.as<int64_t>(), nullptr);
    cross_entropy_reduce(dloss.as<float>(), dtargets.as<int64_t>(), c.rows, kIgnore, true, dmean2.as<float>(),
                         nullptr, nullptr);
    cross_entropy_reduce(dloss.as<float>(), dtargets.as<int64_t>(), c.rows, kIgnore, false, dsum.as<float>(), nullptr,
                         nullptr);
    const DeviceBuffer dgrad_loss = testing::upload({0.7}, DType::F32);  // the mean's gradient, / kept on the device
    cross_entropy_backward(dlogits.get(), c.type, dtargets.as<int64_t>(), dlse.as<float>(), dgrad_loss.as<float>(),
                           dkept.as<int64_t>(), dgrad.get(), c.rows, c.vocab, c.classes, kIgnore, nullptr);

    // Losses and statistics are f32 from exactly rounded inputs: f32 tolerance for either logits type.
    testing::expect_close(testing::download(dlse, DType::F32, c.rows), lse, 1e-5, what + " lse");
    testing::expect_close(testing::download(dloss, DType::F32, c.rows), loss, 1e-5, what + " loss");
    testing::expect_close(testing::download(dmean, DType::F32, 1), {total.loss / double(total.kept)}, 1e-5,
                          what + " mean");
    testing::expect_close(testing::download(dsum, DType::F32, 1), {total.loss}, 1e-5, what + " sum");
    int64_t kept = 0;
    copy(&kept, dkept.get(), 8, CopyKind::DeviceToHost, 0);
    EXPECT_EQ(kept, total.kept) << what;
    testing::expect_close(testing::download(dgrad, c.type, n), grad, testing::tolerance(c.type), what + " grad");
    testing::expect_bit_identical(dlse, dlse2, what + " lse");
    testing::expect_bit_identical(dloss, dloss2, what + " loss");
    testing::expect_bit_identical(dmean, dmean2, what + " mean");
  }
}

TEST(CudaCrossEntropy, AllRowsIgnoredGiveZeroMeanAndZeroGradient) {
  KRAIT_REQUIRE_GPU();
  Rng rng(22);
  const int64_t rows = 3, vocab = 40;
  const std::vector<double> logits = testing::random_values(rng, rows * vocab, -2, 2, DType::F32);
  const std::vector<int64_t> targets(rows, kIgnore);
  const DeviceBuffer dlogits = testing::upload(logits, DType::F32), dtargets = testing::upload_ids(targets);
  DeviceBuffer dloss(rows * 4), dlse(rows * 4), dmean(4), dgrad(rows * vocab * 4);
  cross_entropy_forward(dlogits.get(), DType::F32, dtargets.as<int64_t>(), dloss.as<float>(), dlse.as<float>(), rows,
                        vocab, vocab, kIgnore, nullptr);
  cross_entropy_reduce(dloss.as<float>(), dtargets.as<int64_t>(), rows, kIgnore, true, dmean.as<float>(), nullptr,
                       nullptr);
  DeviceBuffer dkept(8);
  cross_entropy_reduce(dloss.as<float>(), dtargets.as<int64_t>(), rows, kIgnore, true, dmean.as<float>(),
                       dkept.as<int64_t>(), nullptr);
  const DeviceBuffer dgrad_loss = testing::upload({1.0}, DType::F32);
  cross_entropy_backward(dlogits.get(), DType::F32, dtargets.as<int64_t>(), dlse.as<float>(), dgrad_loss.as<float>(),
                         dkept.as<int64_t>(), dgrad.get(), rows, vocab, vocab, kIgnore, nullptr);
  EXPECT_EQ(testing::download(dmean, DType::F32, 1)[0], 0.0);
  EXPECT_EQ(testing::download(dgrad, DType::F32, rows * vocab), std::vector<double>(rows * vocab, 0.0));
}

TEST(CudaCrossEntropy, FirstInvalidTarget) {
  KRAIT_REQUIRE_GPU();
  std::vector<int64_t> targets(5000, 3);
  targets[17] = kIgnore;
  DeviceBuffer scratch(8);
  {
    const DeviceBuffer d = testing::upload_ids(targets);
    find_first_invalid_target(d.as<int64_t>(), 5000, 10, kIgnore, scratch.as<int64_t>(), nullptr);
    EXPECT_EQ(download_index(scratch), -1);
  }
  targets[4321] = 10;
  targets[2500] = -1;
  const DeviceBuffer d = testing::upload_ids(targets);
  find_first_invalid_target(d.as<int64_t>(), 5000, 10, kIgnore, scratch.as<int64_t>(), nullptr);
  EXPECT_EQ(download_index(scratch), 2500);
  EXPECT_EQ(download_index(scratch), cpu::first_invalid_target(targets.data(), 5000, 10, kIgnore));
}

}  // namespace
}  // namespace krait::kernels::cuda
