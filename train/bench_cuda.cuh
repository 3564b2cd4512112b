// train/bench_cuda.cuh — what the CUDA benchmarks (bench_scan.cu, bench_attention.cu) share: raw device
// buffers and the event timer that reports the median of kBenchIterations runs after kBenchWarmup.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "kernels/cuda/check.h"

namespace krait::train::bench {

inline constexpr int kBenchIterations = 20;  // timed runs; the median is reported
inline constexpr int kBenchWarmup = 3;

// cudaMalloc'd bytes (null for 0 bytes), never freed: a benchmark process is short.
inline void* device_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes > 0) KRAIT_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

// Median milliseconds of fn over kBenchIterations runs after kBenchWarmup, each timed with events on the
// default stream.
inline double median_ms(const std::function<void()>& fn) {
  cudaEvent_t start, stop;
  KRAIT_CUDA_CHECK(cudaEventCreate(&start));
  KRAIT_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < kBenchWarmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < kBenchIterations; ++i) {
    KRAIT_CUDA_CHECK(cudaEventRecord(start));
    fn();
    KRAIT_CUDA_CHECK(cudaEventRecord(stop));
    KRAIT_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    KRAIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  KRAIT_CUDA_CHECK(cudaEventDestroy(start));
  KRAIT_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace krait::train::bench
