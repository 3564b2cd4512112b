// kernels/cuda/adamw.cu — the multi-tensor AdamW update, sum of squares and in-place scaling (see adamw.h).
// One block per chunk of kChunk elements of one buffer; f32 buffers whose size and pointers allow it are
// read as float4.
#include "kernels/cuda/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "kernels/cuda/check.h"

namespace krait::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 16384;  // elements per block (a multiple of every pack width)
constexpr size_t kAlign = 256;     // workspace regions start on this boundary

size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
int64_t chunks_of(int64_t numel) { return (numel + kChunk - 1) / kChunk; }
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Table rows. first_chunk: the launch's first block for this buffer; packed: read as float4.
struct AdamWRow {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t numel;
  int64_t first_chunk;
  bool packed;
  float decay, m_weight, beta2, v_weight, neg_step_size, bias_correction2_sqrt, eps;
};

struct BufferRow {
  float* data;
  int64_t numel;
  int64_t first_chunk;
  bool packed;
};

template <int V> struct alignas(sizeof(float) * V) Floats {
  float v[V];
};

// The row of this block: the last one whose first chunk is <= blockIdx.x (empty buffers have no row).
template <typename Row> __device__ Row find_row(const Row* table, int count) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table[mid].first_chunk <= int64_t(blockIdx.x)) lo = mid;
    else hi = mid - 1;
  }
  return table[lo];
}

// Calls f(i) for every V-float pack i of this block's chunk of the row.
template <int V, typename Row, typename F> __device__ void for_each_pack(const Row& row, F&& f) {
  const int64_t chunk = blockIdx.x - row.first_chunk;
  const int64_t begin = chunk * kChunk / V, end = std::min(row.numel, (chunk + 1) * kChunk) / V;
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) f(i);
}

// The sum of v over the block, in a fixed order; called at most once per kernel (warp_sums is not reused).
template <typename T> __device__ T block_sum(T v) {
  __shared__ T warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  T total = 0;
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  return total;
}

// cpu::adamw_step's per-element arithmetic with explicit round-to-nearest operations, so that no
// multiply-add is fused and the results are those of the host code.
__device__ void adamw_element(const AdamWRow& r, float& p, float g, float& m, float& v) {
  m = fabsf(r.m_weight) < 0.5f ? __fadd_rn(m, __fmul_rn(r.m_weight, __fsub_rn(g, m)))
                               : __fsub_rn(g, __fmul_rn(__fsub_rn(g, m), __fsub_rn(1.0f, r.m_weight)));
  v = __fadd_rn(__fmul_rn(v, r.beta2), __fmul_rn(__fmul_rn(r.v_weight, g), g));
  const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(v), r.bias_correction2_sqrt), r.eps);
  p = __fadd_rn(__fmul_rn(p, r.decay), __fmul_rn(r.neg_step_size, __fdiv_rn(m, denom)));
}

template <int V> __device__ void adamw_pack(const AdamWRow& r, int64_t i) {
  using F = Floats<V>;
  F p = reinterpret_cast<const F*>(r.param)[i], m = reinterpret_cast<const F*>(r.exp_avg)[i],
    v = reinterpret_cast<const F*>(r.exp_avg_sq)[i];
  const F g = reinterpret_cast<const F*>(r.grad)[i];
#pragma unroll
  for (int j = 0; j < V; ++j) adamw_element(r, p.v[j], g.v[j], m.v[j], v.v[j]);
  reinterpret_cast<F*>(r.param)[i] = p;
  reinterpret_cast<F*>(r.exp_avg)[i] = m;
  reinterpret_cast<F*>(r.exp_avg_sq)[i] = v;
}

__global__ void __launch_bounds__(kThreads) adamw_kernel(const AdamWRow* table, int count) {
  const AdamWRow row = find_row(table, count);
  if (row.packed) for_each_pack<4>(row, [&](int64_t i) { adamw_pack<4>(row, i); });
  else for_each_pack<1>(row, [&](int64_t i) { adamw_pack<1>(row, i); });
}

template <int V> __device__ double pack_squares(const BufferRow& r, int64_t i) {
  const Floats<V> x = reinterpret_cast<const Floats<V>*>(r.data)[i];
  double sum = 0.0;
#pragma unroll
  for (int j = 0; j < V; ++j) sum += double(x.v[j]) * double(x.v[j]);
  return sum;
}

// partial[block] = the sum of squares of the block's chunk.
__global__ void __launch_bounds__(kThreads) sum_squares_kernel(const BufferRow* table, int count, double* partial) {
  const BufferRow row = find_row(table, count);
  double sum = 0.0;
  if (row.packed) for_each_pack<4>(row, [&](int64_t i) { sum += pack_squares<4>(row, i); });
  else for_each_pack<1>(row, [&](int64_t i) { sum += pack_squares<1>(row, i); });
  sum = block_sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// One block: *result = sum of partial[0, n), each thread over a fixed stride, then the block in a fixed tree.
// Unrolled so that a thread's loads are in flight together (the sum is a dependent chain; the loads are not).
__global__ void __launch_bounds__(kThreads) sum_partials_kernel(const double* partial, int64_t n, double* result) {
  double sum = 0.0;
#pragma unroll 16
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += partial[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *result = sum;
}

template <int V> __device__ void scale_pack(const BufferRow& r, float alpha, int64_t i) {
  Floats<V>& x = reinterpret_cast<Floats<V>*>(r.data)[i];
  Floats<V> y = x;
#pragma unroll
  for (int j = 0; j < V; ++j) y.v[j] = __fmul_rn(y.v[j], alpha);
  x = y;
}

__global__ void __launch_bounds__(kThreads) scale_kernel(const BufferRow* table, int count, float alpha) {
  const BufferRow row = find_row(table, count);
  if (row.packed) for_each_pack<4>(row, [&](int64_t i) { scale_pack<4>(row, alpha, i); });
  else for_each_pack<1>(row, [&](int64_t i) { scale_pack<1>(row, alpha, i); });
}

// The rows of the non-empty buffers and the number of chunks (blocks) they make.
std::vector<BufferRow> buffer_rows(const FloatBuffer* buffers, int count, int64_t& chunks) {
  std::vector<BufferRow> rows;
  chunks = 0;
  for (int i = 0; i < count; ++i) {
    const FloatBuffer& b = buffers[i];
    if (b.numel == 0) continue;
    rows.push_back({b.data, b.numel, chunks, b.numel % 4 == 0 && aligned16(b.data)});
    chunks += chunks_of(b.numel);
  }
  return rows;
}

template <typename Row> void upload(const std::vector<Row>& rows, void* workspace, cudaStream_t stream) {
  KRAIT_CHECK(workspace != nullptr, "cuda multi-tensor kernel: no workspace for the table of ", rows.size(),
              " buffers");
  KRAIT_CUDA_CHECK(
      cudaMemcpyAsync(workspace, rows.data(), rows.size() * sizeof(Row), cudaMemcpyHostToDevice, stream));
}

void check_grid(int64_t chunks) {
  KRAIT_CHECK(chunks <= INT32_MAX, "cuda multi-tensor kernel: ", chunks, " chunks of ", kChunk,
              " elements are more than one launch takes");
}

}  // namespace

size_t adamw_workspace_bytes(int count) { return size_t(count) * sizeof(AdamWRow); }

void adamw_step(const AdamWTensor* tensors, int count, void* workspace, cudaStream_t stream) {
  std::vector<AdamWRow> rows;
  int64_t chunks = 0;
  for (int i = 0; i < count; ++i) {
    const AdamWTensor& t = tensors[i];
    if (t.numel == 0) continue;
    // The scalar factors exactly as cpu::adamw_step computes them.
    const cpu::AdamWHyper& h = t.hyper;
    const double step = static_cast<double>(h.step);
    AdamWRow row{};
    row.param = t.param;
    row.grad = t.grad;
    row.exp_avg = t.exp_avg;
    row.exp_avg_sq = t.exp_avg_sq;
    row.numel = t.numel;
    row.first_chunk = chunks;
    row.packed = t.numel % 4 == 0 && aligned16(t.param) && aligned16(t.grad) && aligned16(t.exp_avg) &&
                 aligned16(t.exp_avg_sq);
    row.decay = static_cast<float>(1.0 - h.lr * h.weight_decay);
    row.m_weight = static_cast<float>(1.0 - h.beta1);
    row.beta2 = static_cast<float>(h.beta2);
    row.v_weight = static_cast<float>(1.0 - h.beta2);
    row.neg_step_size = static_cast<float>(-h.lr / (1.0 - std::pow(h.beta1, step)));
    row.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(h.beta2, step)));
    row.eps = static_cast<float>(h.eps);
    rows.push_back(row);
    chunks += chunks_of(t.numel);
  }
  if (rows.empty()) return;
  check_grid(chunks);
  upload(rows, workspace, stream);
  adamw_kernel<<<chunks, kThreads, 0, stream>>>(static_cast<const AdamWRow*>(workspace), int(rows.size()));
  KRAIT_CUDA_CHECK_LAUNCH("adamw adamw_kernel");
}

size_t sum_squares_workspace_bytes(const FloatBuffer* buffers, int count) {
  int64_t chunks = 0;
  const std::vector<BufferRow> rows = buffer_rows(buffers, count, chunks);
  return align_up(rows.size() * sizeof(BufferRow)) + size_t(chunks) * sizeof(double);
}

void sum_squares(const FloatBuffer* buffers, int count, double* result, void* workspace, cudaStream_t stream) {
  int64_t chunks = 0;
  const std::vector<BufferRow> rows = buffer_rows(buffers, count, chunks);
  if (rows.empty()) {
    KRAIT_CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(double), stream));
    return;
  }
  check_grid(chunks);
  upload(rows, workspace, stream);
  const auto* table = static_cast<const BufferRow*>(workspace);
  const size_t table_bytes = align_up(rows.size() * sizeof(BufferRow));
  double* partial = reinterpret_cast<double*>(static_cast<char*>(workspace) + table_bytes);
  sum_squares_kernel<<<chunks, kThreads, 0, stream>>>(table, int(rows.size()), partial);
  KRAIT_CUDA_CHECK_LAUNCH("adamw (gradient norm) sum_squares_kernel");
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(partial, chunks, result);
  KRAIT_CUDA_CHECK_LAUNCH("adamw (gradient norm) sum_partials_kernel");
}

size_t scale_inplace_workspace_bytes(int count) { return size_t(count) * sizeof(BufferRow); }

void scale_inplace(const FloatBuffer* buffers, int count, float alpha, void* workspace, cudaStream_t stream) {
  int64_t chunks = 0;
  const std::vector<BufferRow> rows = buffer_rows(buffers, count, chunks);
  if (rows.empty()) return;
  check_grid(chunks);
  upload(rows, workspace, stream);
  scale_kernel<<<chunks, kThreads, 0, stream>>>(static_cast<const BufferRow*>(workspace), int(rows.size()), alpha);
  KRAIT_CUDA_CHECK_LAUNCH("adamw (gradient scaling) scale_kernel");
}

}  // namespace krait::kernels::cuda
