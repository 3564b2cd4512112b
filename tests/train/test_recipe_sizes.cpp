// tests/train/test_recipe_sizes.cpp — sizes too large for 64-bit arithmetic are refused with the key
// named. Found with the recipe fuzz target (fuzz/recipe.cpp) under UndefinedBehaviorSanitizer: each
// of these recipes overflowed a signed 64-bit multiplication or addition before.
#include <gtest/gtest.h>

#include "tests/train/recipe_text.h"

namespace krait::train {
namespace {

using testing::error_of;
using testing::inserted;
using testing::kMinimal;
using testing::mentions;
using testing::with_line;

TEST(RecipeSizes, TokensPerStepBeyond64BitsAreRefused) {  // batch_size x seq_len overflowed
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 7, "  seq_len: 4294967296"), {"data.batch_size=4294967296"}),
                       "configs/x.yaml:7: data.seq_len must be below 2^31 (got 4294967296)"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"data.batch_size=4294967296"}), "data.batch_size must be below 2^31"));
}

TEST(RecipeSizes, RunTokensBeyond2To63AreRefused) {  // total_steps() rounding up, and to_yaml's token count
  const std::string tokens = error_of(with_line(kMinimal, 8, "  total_tokens: 9223372036854775807"));
  EXPECT_TRUE(mentions(tokens, "configs/x.yaml:8: the run's tokens (schedule.total_steps x data.batch_size x "
                               "data.seq_len) must be below 2^63")) << tokens;
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 8, "  total_steps: 9223372036854775807")), "below 2^63"));
}

TEST(RecipeSizes, ModelSizesFrom2To31AreRefused) {  // the padded vocabulary, auto dt_rank and d_ff overflowed
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 4, "  vocab_size: 9223372036854775807")),
                       "configs/x.yaml:4: model.vocab_size must be below 2^31"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model: 9223372036854775807")),
                       "configs/x.yaml:2: model.d_model must be below 2^31"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.backbone=transformer", "model.n_head=2",
                                           "model.d_model=4611686018427387904"}),
                       "model.d_model must be below 2^31"));
}

TEST(RecipeSizes, CopyTokensNearTheInt64LimitAreRefused) {  // 2 x copy_tokens overflowed
  const std::string message = error_of(kMinimal, {"data.format=synthetic", "data.copy_tokens=4611686018427387904"});
  EXPECT_TRUE(mentions(message, "data.copy_tokens must be >= 1 and at most half of data.seq_len")) << message;
}

}  // namespace
}  // namespace krait::train
