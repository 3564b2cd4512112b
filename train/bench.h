// train/bench.h — `krait bench train`: times full training steps (forward, backward, clipping, AdamW)
// of a model (any backbone and head) on random tokens and reports tokens/s, step time, peak device memory and model-FLOPs
// utilization. Performance claims live here, not in tests.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "autograd/device.h"
#include "common/error.h"
#include "kernels/dtype.h"
#include "layers/model_spec.h"
#include "train/recipe.h"

namespace krait::train {

struct TrainBenchOptions {
  ModelSpec model;  // a classifier is timed on random labels (num_classes 0: 2 classes)
  int64_t micro_batch = 8;
  int64_t seq_len = 2048;
  Device device = Device::cuda();
  DType compute_dtype = DType::F32;  // bf16: mixed precision (fp32 master weights)
  bool recompute_layers = false;     // train.recompute: per-layer activation recomputation
  int warmup_steps = 3;
  int timed_steps = 10;
  double peak_tflops = 989.0;  // the card's dense bf16 tensor rate (H100 SXM), the MFU denominator
};

struct TrainBenchResult {
  int64_t parameters = 0;
  double step_ms = 0;
  double tokens_per_s = 0;
  double peak_memory_gib = 0;  // device memory held by tensors at the peak (CUDA only)
  double mfu = 0;              // model FLOPs/s over peak_tflops: flops_per_token (train/flops.h) * tokens/s
};

// Checks options.device first (require_cuda_device for a CUDA one).
TrainBenchResult bench_train(const TrainBenchOptions& options);

// Throws "<what>: needs a CUDA device, and ..." when this build has no CUDA backend or the machine no
// usable card (no driver included), before any CUDA call can fail with a driver message.
void require_cuda_device(const std::string& what);

// `krait bench data`: how fast the recipe's training data reaches the trainer — the time to open
// (and validate) it, then batches drawn through the prefetching sampler as fast as they come.
struct DataBenchResult {
  double open_seconds = 0;
  int64_t batches = 0, sequences = 0, ids = 0;
  double seconds = 0;
};
DataBenchResult bench_data(const Recipe& recipe, int64_t batches);
void print_data_bench(const Recipe& recipe, const DataBenchResult& result, std::ostream& out);

// `krait bench scan [SHAPES|sweep]` (train/bench_scan.cu): the CUDA selective scan at the Mamba shapes
// of the CUDA-backend issue against a naive sequential scan and each shape's floor, or ("sweep") its
// cost per token from L = 2K to 1M. Prints markdown tables; returns the process exit code.
int bench_scan(const std::string& mode);
// `krait bench attention [--shape B,L,H,Dh]` (train/bench_attention.cu): the CUDA causal attention in bf16,
// forward, backward and both, in ms and TFLOP/s, at Transformer++ shapes or the one given. Prints a
// markdown table; returns the process exit code.
#if KRAIT_HAS_CUDA
int bench_attention(const std::string& shape);
#else
inline int bench_attention(const std::string&) { KRAIT_FAIL("bench attention: Krait was built without CUDA"); }
#endif
void print_train_bench(const TrainBenchOptions& options, const TrainBenchResult& result, std::ostream& out);

}  // namespace krait::train
