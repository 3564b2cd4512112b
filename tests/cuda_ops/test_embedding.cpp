// The CUDA embedding against cpu::embedding_*: the gather is exact; the scatter-add gradient matches the double
// reference (with rows hit thousands of times, rows never hit, and dims that do and do not fill packs) and
// repeats bit for bit; invalid ids are found, give zero rows forward and are left out backward.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/embedding.h"
#include "kernels/cuda/embedding.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

struct Case {
  int64_t n, vocab, dim;
  DType type;
};

const Case kCases[] = {{1, 7, 37, DType::F32},        {2049, 50280, 64, DType::F32}, {2049, 50280, 37, DType::BF16},
                       {8193, 97, 520, DType::F32},   {8193, 97, 520, DType::BF16},  {7, 3, 1000, DType::F32},
                       {20000, 1000, 5, DType::F32}};

// A third of the ids on row 1 (a hot row), the rest spread over the vocabulary.
std::vector<int64_t> make_ids(Rng& rng, int64_t n, int64_t vocab) {
  std::vector<int64_t> ids(n);
  for (int64_t& id : ids) id = rng.below(3) == 0 ? 1 % vocab : int64_t(rng.below(vocab));
  return ids;
}

std::string label(const Case& c) {
  return std::string(dtype_name(c.type)) + " n=" + std::to_string(c.n) + " vocab=" + std::to_string(c.vocab) +
         " dim=" + std::to_string(c.dim);
}

TEST(CudaEmbedding, MatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(51);
  for (const Case& c : kCases) {
    const std::string what = label(c);
    const std::vector<int64_t> ids = make_ids(rng, c.n, c.vocab);
    const std::vector<double> weight = testing::random_values(rng, c.vocab * c.dim, -1, 1, c.type);
    const std::vector<double> grad_out = testing::random_values(rng, c.n * c.dim, -1, 1, c.type);
    std::vector<double> out(c.n * c.dim), grad_weight(c.vocab * c.dim);
    cpu::embedding_forward(weight.data(), ids.data(), out.data(), c.n, c.dim);
    cpu::embedding_backward(grad_out.data(), ids.data(), grad_weight.data(), c.n, c.vocab, c.dim);

    const DeviceBuffer dids = testing::upload_ids(ids), dweight = testing::upload(weight, c.type),
                       dgrad_out = testing::upload(grad_out, c.type);
    DeviceBuffer dout(c.n * c.dim * dtype_size(c.type)), dgrad_weight(c.vocab * c.dim * 4),
        dgrad_weight2(c.vocab * c.dim * 4), workspace(embedding_backward_workspace_bytes(c.n, c.vocab));
    embedding_forward(dweight.get(), c.type, dids.as<int64_t>(), dout.get(), c.n, c.vocab, c.dim, nullptr);
    for (DeviceBuffer* dgw : {&dgrad_weight, &dgrad_weight2})
      embedding_backward(dgrad_out.get(), c.type, dids.as<int64_t>(), dgw->as<float>(), workspace.get(), c.n, c.vocab,
                         c.dim, nullptr);
    testing::expect_close(testing::download(dout, c.type, c.n * c.dim), out, 0.0, what + " forward");
    testing::expect_close(testing::download(dgrad_weight, DType::F32, c.vocab * c.dim), grad_weight, 1e-5,
                          what + " grad_weight");
    testing::expect_bit_identical(dgrad_weight, dgrad_weight2, what + " grad_weight");
  }
}

TEST(CudaEmbedding, InvalidIds) {
  KRAIT_REQUIRE_GPU();
  Rng rng(52);
  const int64_t n = 3000, vocab = 50, dim = 8;
  std::vector<int64_t> ids = make_ids(rng, n, vocab);
  DeviceBuffer scratch(8);
  {
    const DeviceBuffer dids = testing::upload_ids(ids);
    find_first_invalid_id(dids.as<int64_t>(), n, vocab, scratch.as<int64_t>(), nullptr);
    EXPECT_EQ(download_index(scratch), -1);
  }
  ids[2999] = -7;
  ids[1234] = vocab;
  EXPECT_EQ(cpu::first_invalid_id(ids.data(), n, vocab), 1234);
  const DeviceBuffer dids = testing::upload_ids(ids);
  find_first_invalid_id(dids.as<int64_t>(), n, vocab, scratch.as<int64_t>(), nullptr);
  EXPECT_EQ(download_index(scratch), 1234);

  // Forward: zero rows for the invalid ids. Backward: the valid positions alone.
  const std::vector<double> weight = testing::random_values(rng, vocab * dim, -1, 1, DType::F32);
  const std::vector<double> grad_out = testing::random_values(rng, n * dim, -1, 1, DType::F32);
  std::vector<int64_t> valid_ids = ids;
  std::vector<double> valid_grad_out = grad_out, out(n * dim, 0.0), grad_weight(vocab * dim);
  for (int64_t i : {1234, 2999}) {
    valid_ids[i] = 0;
    for (int64_t c = 0; c < dim; ++c) valid_grad_out[i * dim + c] = 0.0;
  }
  cpu::embedding_forward(weight.data(), valid_ids.data(), out.data(), n, dim);
  for (int64_t i : {1234, 2999})
    for (int64_t c = 0; c < dim; ++c) out[i * dim + c] = 0.0;
  cpu::embedding_backward(valid_grad_out.data(), valid_ids.data(), grad_weight.data(), n, vocab, dim);

  const DeviceBuffer dweight = testing::upload(weight, DType::F32), dgrad_out = testing::upload(grad_out, DType::F32);
  DeviceBuffer dout(n * dim * 4), dgrad_weight(vocab * dim * 4);
  DeviceBuffer workspace(embedding_backward_workspace_bytes(n, vocab));
  embedding_forward(dweight.get(), DType::F32, dids.as<int64_t>(), dout.get(), n, vocab, dim, nullptr);
  embedding_backward(dgrad_out.get(), DType::F32, dids.as<int64_t>(), dgrad_weight.as<float>(), workspace.get(), n,
                     vocab, dim, nullptr);
  testing::expect_close(testing::download(dout, DType::F32, n * dim), out, 0.0, "forward");
  testing::expect_close(testing::download(dgrad_weight, DType::F32, vocab * dim), grad_weight, 1e-5, "grad_weight");
}

}  // namespace
}  // namespace krait::kernels::cuda
