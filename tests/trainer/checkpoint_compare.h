// tests/trainer/checkpoint_compare.h — expects two checkpoints to hold bit-identical parameters (and,
// when asked, AdamW's moments): what a resumed, recomputed or restarted run must reproduce.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "train/checkpoint_file.h"

namespace krait::testing {

inline void expect_identical_checkpoints(const std::string& a_path, const std::string& b_path,
                                         bool with_moments = false) {
  const CheckpointReader a(a_path), b(b_path);
  const std::vector<std::string> names = a.list("model");
  ASSERT_FALSE(names.empty()) << a_path << " holds no parameters";
  std::vector<std::string> groups{"model/"};
  if (with_moments) groups.insert(groups.end(), {"optim/exp_avg/", "optim/exp_avg_sq/"});
  for (const std::string& name : names) {
    for (const std::string& group : groups) {
      const Tensor x = a.tensor(group + name), y = b.tensor(group + name);
      ASSERT_EQ(x.shape(), y.shape()) << group << name;
      ASSERT_EQ(x.dtype(), y.dtype()) << group << name;
      EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()), 0)
          << group << name << " differs between " << a_path << " and " << b_path;
    }
  }
}

}  // namespace krait::testing
