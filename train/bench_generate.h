// train/bench_generate.h — `krait bench generate`: a language model's recurrent generation timed as
// mamba_ssm's benchmark times its own (tools/bench/generate_mamba.py): a batch of random prompts, one
// parallel prefill, then greedy decoding on the device (the next token never goes through the host)
// until each sequence has new_tokens more, repeated; reports the prefill time, the time per decoding
// step, and new tokens per second end to end.
#pragma once

#include <cstdint>
#include <iosfwd>

#include "autograd/device.h"
#include "kernels/dtype.h"
#include "layers/model_spec.h"

namespace krait::train {

struct GenerateBenchOptions {
  ModelSpec model;  // a language model whose backbone has a recurrence (Mamba)
  Device device = Device::cuda();
  DType compute_dtype = DType::BF16;
  int64_t batch = 1;
  int64_t prompt_len = 2048;
  int64_t new_tokens = 128;  // the prefill yields the first, each step one more
  int repeats = 3;           // timed runs after one warm-up run; the median is reported
};

struct GenerateBenchResult {
  int64_t parameters = 0;
  double prefill_ms = 0;     // prompt to the first new token
  double step_ms = 0;        // one decoding step for the whole batch
  double total_ms = 0;       // prefill and every step
  double tokens_per_s = 0;   // batch * new_tokens / total
  double decode_tokens_per_s = 0;  // batch / step
  double peak_memory_gib = 0;      // CUDA only
};

GenerateBenchResult bench_generate(const GenerateBenchOptions& options);
void print_generate_bench(const GenerateBenchOptions& options, const GenerateBenchResult& result, std::ostream& out);

}  // namespace krait::train
