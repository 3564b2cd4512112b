// `krait bench` subcommands that need a GPU say so on a machine without one, instead of a CUDA
// driver message.
#include <gtest/gtest.h>

#include "autograd/device.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/spawn.h"

namespace krait::train {
namespace {

TEST(BenchWithoutGpu, ScanAndAttentionSayThereIsNoCudaDevice) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a CUDA device";
  const testing::TempDir dir;
  for (const std::string command : {"scan", "attention"}) {
    const std::string output = dir.file(command + ".txt");
    EXPECT_EQ(testing::wait_exit_code(testing::spawn_krait({"bench", command}, output)), 1);
    const std::string text = testing::read_output(output);
    EXPECT_NE(text.find("bench " + command + ": needs a CUDA device, and "), std::string::npos) << text;
    EXPECT_EQ(text.find("driver version"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace krait::train
