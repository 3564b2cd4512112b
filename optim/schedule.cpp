// optim/schedule.cpp — the learning-rate schedule (see schedule.h).
#include "optim/schedule.h"

#include <cmath>
#include <numbers>

#include "common/error.h"

namespace krait {

LrDecay parse_lr_decay(const std::string& name) {
  if (name == "cosine") return LrDecay::Cosine;
  if (name == "linear") return LrDecay::Linear;
  if (name == "constant") return LrDecay::Constant;
  KRAIT_FAIL("unknown lr decay '", name, "' (expected cosine, linear or constant)");
}

const char* lr_decay_name(LrDecay decay) {
  switch (decay) {
    case LrDecay::Cosine: return "cosine";
    case LrDecay::Linear: return "linear";
    case LrDecay::Constant: return "constant";
  }
  return "?";
}

void LrSchedule::validate() const {
  KRAIT_CHECK(peak_lr >= 0.0 && std::isfinite(peak_lr), "LrSchedule: peak_lr must be finite and >= 0, got ",
              peak_lr);
  KRAIT_CHECK(min_lr >= 0.0, "LrSchedule: min_lr must be >= 0, got ", min_lr);
  KRAIT_CHECK(min_lr <= peak_lr, "LrSchedule: min_lr (", min_lr, ") exceeds peak_lr (", peak_lr, ")");
  KRAIT_CHECK(total_steps >= 1, "LrSchedule: total_steps must be >= 1, got ", total_steps);
  KRAIT_CHECK(warmup_steps >= 0, "LrSchedule: warmup_steps must be >= 0, got ", warmup_steps);
  KRAIT_CHECK(warmup_steps <= total_steps, "LrSchedule: warmup_steps (", warmup_steps, ") exceeds total_steps (",
              total_steps, ")");
}

double LrSchedule::lr_at(int64_t step) const {
  validate();
  KRAIT_CHECK(step >= 0, "LrSchedule::lr_at: step must be >= 0, got ", step);
  if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (decay == LrDecay::Constant) return peak_lr;
  if (step >= total_steps) return min_lr;
  const double q = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  const double fraction = decay == LrDecay::Cosine ? 0.5 * (1.0 + std::cos(std::numbers::pi * q)) : 1.0 - q;
  return min_lr + (peak_lr - min_lr) * fraction;
}

}  // namespace krait
