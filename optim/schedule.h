// optim/schedule.h — LrSchedule: the learning rate as a function of the 0-based optimizer step —
// linear warmup, then cosine, linear or no decay.
#pragma once

#include <cstdint>
#include <string>

namespace krait {

enum class LrDecay { Cosine, Linear, Constant };

// "cosine", "linear" or "constant"; throws krait::Error on anything else.
LrDecay parse_lr_decay(const std::string& name);
const char* lr_decay_name(LrDecay decay);

// For step s (0-based; s is the update about to be made), with W = warmup_steps, N = total_steps:
//   s < W:       peak_lr * (s + 1) / W                       (linear warmup; reaches peak at s = W - 1)
//   W <= s < N:  with progress q = (s - W) / (N - W) in [0, 1),
//                  Cosine:   min_lr + (peak_lr - min_lr) * (1 + cos(pi * q)) / 2
//                  Linear:   min_lr + (peak_lr - min_lr) * (1 - q)
//                  Constant: peak_lr
//   s >= N:      min_lr (Constant: peak_lr; min_lr is not used)
// So Cosine gives peak_lr at s = W and (peak_lr + min_lr) / 2 at s = W + (N - W) / 2.
struct LrSchedule {
  double peak_lr = 0.0;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  LrDecay decay = LrDecay::Cosine;

  // Throws krait::Error naming the first field out of range: requires 0 <= min_lr <= peak_lr,
  // 0 <= warmup_steps <= total_steps and total_steps >= 1.
  void validate() const;
  // Validates, then evaluates the rule above; step must be >= 0.
  double lr_at(int64_t step) const;
};

}  // namespace krait
