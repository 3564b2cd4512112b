// kernels/cuda/gemm.cu — gemm through cuBLASLt (see gemm.h). cuBLASLt is column-major: a row-major
// C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T, which reads the row-major
// buffers as they are, with the transposes swapped into the operation flags.
#include "kernels/cuda/gemm.h"

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "kernels/cuda/check.h"

#define KRAIT_CUBLAS_CHECK(call)                                                                      \
  do {                                                                                                \
    const cublasStatus_t krait_status_ = (call);                                                      \
    if (krait_status_ != CUBLAS_STATUS_SUCCESS)                                                       \
      KRAIT_FAIL("cuBLASLt call ", #call, " failed: ", cublasGetStatusName(krait_status_), " (",      \
                 cublasGetStatusString(krait_status_), ")");                                          \
  } while (0)

namespace krait::kernels::cuda {
namespace {

cudaDataType_t cuda_type(DType t) {
  KRAIT_CHECK(t == DType::F32 || t == DType::BF16, "gemm: unsupported dtype ", dtype_name(t), " (f32 or bf16)");
  return t == DType::F32 ? CUDA_R_32F : CUDA_R_16BF;
}

// Owns the cuBLASLt descriptors of one call.
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~Descriptors() {
    if (preference) cublasLtMatmulPreferenceDestroy(preference);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// A column-major layout of rows x cols with leading dimension ld, repeated `batch` times `stride` apart.
void make_layout(cublasLtMatrixLayout_t* layout, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                 int64_t batch, int64_t stride) {
  KRAIT_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(layout, type, rows, cols, ld));
  const int32_t count = static_cast<int32_t>(batch);
  KRAIT_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
  KRAIT_CUBLAS_CHECK(
      cublasLtMatrixLayoutSetAttribute(*layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
}

// The heuristic's choice for one kind of call, asked once: cublasLtMatmulAlgoGetHeuristic costs tens of
// microseconds of host time, as much as a small product's whole kernel (generation runs hundreds of
// those per token). The choice depends on the shapes, types, workspace and beta, never on the
// pointers (their alignment is left at cuBLASLt's default assumption).
using AlgoKey = std::tuple<cublasLtHandle_t, int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, int64_t,
                           DType, DType, bool, size_t>;

const cublasLtMatmulAlgo_t& cached_algo(const AlgoKey& key, const std::function<cublasLtMatmulAlgo_t()>& choose) {
  static std::mutex mutex;
  static std::map<AlgoKey, cublasLtMatmulAlgo_t> algos;
  std::lock_guard lock(mutex);
  auto it = algos.find(key);
  if (it == algos.end()) it = algos.emplace(key, choose()).first;
  return it->second;
}

// One cuBLASLt call: C (m x n, row-major) = op(A) op(B) + beta C over `batch` matrices.
void matmul(const GemmContext& ctx, const GemmProblem& p, int64_t batch, int64_t stride_c, const void* a,
            const void* b, void* c, float beta) {
  const cudaDataType_t in = cuda_type(p.input_type), out = cuda_type(p.output_type);
  Descriptors d;
  KRAIT_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  // First operand of the column-major product is B: op(B)^T is B's buffer read as stored when !trans_b.
  const cublasOperation_t op_first = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  KRAIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof op_first));
  KRAIT_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof op_second));
  // Stored shapes read column-major: B (k x n) row-major is n x k column-major with ld n, and so on.
  if (p.trans_b) make_layout(&d.a, in, p.k, p.n, p.k, batch, p.stride_b);
  else make_layout(&d.a, in, p.n, p.k, p.n, batch, p.stride_b);
  if (p.trans_a) make_layout(&d.b, in, p.m, p.k, p.m, batch, p.stride_a);
  else make_layout(&d.b, in, p.k, p.m, p.k, batch, p.stride_a);
  make_layout(&d.c, out, p.n, p.m, p.n, batch, stride_c);

  const AlgoKey key{ctx.handle, p.m, p.n, p.k, p.trans_a, p.trans_b, batch, p.stride_a, p.stride_b, stride_c,
                    p.input_type, p.output_type, beta != 0.0f, ctx.workspace_bytes};
  const cublasLtMatmulAlgo_t& algo = cached_algo(key, [&] {
    KRAIT_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.preference));
    const uint64_t workspace = ctx.workspace_bytes;
    KRAIT_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace, sizeof workspace));
    cublasLtMatmulHeuristicResult_t heuristic{};
    int found = 0;
    KRAIT_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(ctx.handle, d.op, d.a, d.b, d.c, d.c, d.preference, 1,
                                                      &heuristic, &found));
    KRAIT_CHECK(found > 0, "gemm: cuBLASLt has no algorithm for m=", p.m, " n=", p.n, " k=", p.k, " batch=", batch);
    return heuristic.algo;
  });
  const float alpha = 1.0f;
  KRAIT_CUBLAS_CHECK(cublasLtMatmul(ctx.handle, d.op, &alpha, b, d.a, a, d.b, &beta, c, d.c, c, d.c, &algo,
                                    ctx.workspace, ctx.workspace_bytes, ctx.stream));
}

}  // namespace

void gemm(const GemmContext& ctx, const GemmProblem& p, const void* a, const void* b, void* c) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0 || p.batch == 0) {
    if (!p.accumulate) KRAIT_CUDA_CHECK(cudaMemsetAsync(c, 0, p.m * p.n * dtype_size(p.output_type), ctx.stream));
    return;
  }
  if (p.stride_c != 0 || p.batch == 1) {
    matmul(ctx, p, p.batch, p.stride_c, a, b, c, p.accumulate ? 1.0f : 0.0f);
    return;
  }
  // Batches reduced into one C: one call per batch, each adding into C, so the sum runs in batch order.
  const size_t in_size = dtype_size(p.input_type);
  for (int64_t i = 0; i < p.batch; ++i) {
    const auto* ai = static_cast<const char*>(a) + i * p.stride_a * in_size;
    const auto* bi = static_cast<const char*>(b) + i * p.stride_b * in_size;
    matmul(ctx, p, 1, 0, ai, bi, c, (i > 0 || p.accumulate) ? 1.0f : 0.0f);
  }
}

}  // namespace krait::kernels::cuda
