// LrSchedule: warmup, cosine/linear/constant decay, the floor after total_steps, validation.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "optim/schedule.h"

namespace krait {
namespace {

// Warmup 10, total 110: decay runs over steps 10..109 (100 steps), midpoint at step 60.
const LrSchedule kCosine{.peak_lr = 1e-3, .min_lr = 1e-4, .warmup_steps = 10, .total_steps = 110};

TEST(LrSchedule, WarmupIsLinearFromStepZero) {
  EXPECT_DOUBLE_EQ(kCosine.lr_at(0), 1e-4);      // peak * 1 / 10
  EXPECT_DOUBLE_EQ(kCosine.lr_at(4), 5e-4);      // peak * 5 / 10
  EXPECT_DOUBLE_EQ(kCosine.lr_at(9), 1e-3);      // last warmup step reaches peak
  EXPECT_DOUBLE_EQ(kCosine.lr_at(10), 1e-3);     // first decay step is still peak
}

TEST(LrSchedule, CosineDecaysToMinLr) {
  EXPECT_NEAR(kCosine.lr_at(60), (1e-3 + 1e-4) / 2, 1e-18);
  EXPECT_NEAR(kCosine.lr_at(35), 1e-4 + 9e-4 * 0.5 * (1 + std::sqrt(0.5)), 1e-18);  // q = 1/4
  EXPECT_GT(kCosine.lr_at(109), 1e-4);
  EXPECT_EQ(kCosine.lr_at(110), 1e-4);
  EXPECT_EQ(kCosine.lr_at(1000000), 1e-4);
}

TEST(LrSchedule, LinearDecay) {
  LrSchedule s = kCosine;
  s.decay = LrDecay::Linear;
  EXPECT_DOUBLE_EQ(s.lr_at(9), 1e-3);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1e-3);
  EXPECT_NEAR(s.lr_at(60), 5.5e-4, 1e-18);
  EXPECT_NEAR(s.lr_at(85), 1e-4 + 9e-4 * 0.25, 1e-18);
  EXPECT_EQ(s.lr_at(110), 1e-4);
  EXPECT_EQ(s.lr_at(500), 1e-4);
}

TEST(LrSchedule, ConstantHoldsPeakAfterWarmup) {
  LrSchedule s = kCosine;
  s.decay = LrDecay::Constant;
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-4);
  EXPECT_EQ(s.lr_at(10), 1e-3);
  EXPECT_EQ(s.lr_at(109), 1e-3);
  EXPECT_EQ(s.lr_at(500), 1e-3);
}

TEST(LrSchedule, NoWarmupStartsAtPeak) {
  const LrSchedule s{.peak_lr = 2.0, .min_lr = 0.0, .warmup_steps = 0, .total_steps = 4};
  EXPECT_EQ(s.lr_at(0), 2.0);
  EXPECT_NEAR(s.lr_at(2), 1.0, 1e-15);
  EXPECT_EQ(s.lr_at(4), 0.0);
}

TEST(LrSchedule, ValidationErrors) {
  auto with = [](auto change) {
    LrSchedule s = kCosine;
    change(s);
    return s;
  };
  EXPECT_NO_THROW(kCosine.validate());
  EXPECT_THROW(with([](LrSchedule& s) { s.min_lr = 2e-3; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.warmup_steps = 111; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.warmup_steps = -1; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.total_steps = 0; s.warmup_steps = 0; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.peak_lr = -1.0; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.min_lr = -1e-5; }).validate(), Error);
  EXPECT_THROW(with([](LrSchedule& s) { s.min_lr = 2e-3; }).lr_at(0), Error);
  EXPECT_THROW(kCosine.lr_at(-1), Error);
}

TEST(LrSchedule, DecayNames) {
  for (LrDecay d : {LrDecay::Cosine, LrDecay::Linear, LrDecay::Constant})
    EXPECT_EQ(parse_lr_decay(lr_decay_name(d)), d);
  EXPECT_THROW(parse_lr_decay("exponential"), Error);
}

}  // namespace
}  // namespace krait
