// Tensor basics: construction, dtype conversion, views, and the errors that name what went wrong.
#include <gtest/gtest.h>

#include "autograd/tensor.h"
#include "common/error.h"

namespace krait {
namespace {

TEST(Tensor, FromVectorKeepsShapeAndValues) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(t.describe(), "f32[2, 3] on cpu");
}

TEST(Tensor, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 lies halfway between two bf16 values and rounds to the even one (1.0);
  // 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
  Tensor t = Tensor::from_vector({1.0 + 1.0 / 256, 1.0 + 3.0 / 256, -2.5}, {3}, DType::BF16);
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{1.0, 1.0 + 1.0 / 64, -2.5}));
}

TEST(Tensor, DtypeConversionCopies) {
  Tensor a = Tensor::from_vector({1.5, -2.25}, {2}, DType::F64);
  Tensor b = a.to(DType::F32);
  EXPECT_EQ(b.dtype(), DType::F32);
  EXPECT_FALSE(b.same_storage(a));
  EXPECT_EQ(b.to_doubles(), (std::vector<double>{1.5, -2.25}));
  Tensor i = a.to(DType::I64);
  EXPECT_EQ(i.to_doubles(), (std::vector<double>{1, -2}));
}

TEST(Tensor, ViewSharesStorage) {
  Tensor a = Tensor::zeros({2, 3}, DType::F32);
  Tensor v = a.view({3, 2});
  v.data<float>()[5] = 7.0f;
  EXPECT_EQ(a.to_doubles()[5], 7.0);
  EXPECT_THROW(a.view({4}), Error);
}

TEST(Tensor, ViewRangeSeesPartOfTheStorage) {
  const Tensor flat = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7}, {8}, DType::F32);
  const Tensor part = flat.view_range(2, {2, 2});
  EXPECT_TRUE(part.same_storage(flat));
  EXPECT_EQ(part.to_doubles(), (std::vector<double>{2, 3, 4, 5}));
  part.copy_from(Tensor::from_vector({9, 9, 9, 9}, {2, 2}, DType::F32));
  EXPECT_EQ(flat.to_doubles(), (std::vector<double>{0, 1, 9, 9, 9, 9, 6, 7}));
  EXPECT_EQ(part.view_range(1, {2}).to_doubles(), (std::vector<double>{9, 9})) << "offsets add up";
  EXPECT_EQ(part.view({4}).to_doubles(), part.to_doubles()) << "a view keeps the offset";
  EXPECT_THROW(flat.view_range(7, {2}), Error);
  EXPECT_THROW(flat.view_range(-1, {1}), Error);
}

TEST(Tensor, WrongTypedAccessNamesTheTensor) {
  Tensor a = Tensor::zeros({2}, DType::F32);
  try {
    a.data<double>();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32[2] on cpu"), std::string::npos) << e.what();
  }
}

TEST(Tensor, FromVectorRejectsWrongCount) {
  EXPECT_THROW(Tensor::from_vector({1, 2, 3}, {2, 2}, DType::F32), Error);
}

TEST(Device, ParsesNames) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_THROW(Device::parse("cuda:x"), Error);
}

TEST(Tensor, CudaRoundTripAndCast) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Tensor host = Tensor::from_vector({1.0, -2.5, 3.25, 1.0 + 3.0 / 256}, {4}, DType::F32);
  Tensor dev = host.to(Device::cuda());
  EXPECT_TRUE(dev.device().is_cuda());
  EXPECT_EQ(dev.to(Device::cpu()).to_doubles(), host.to_doubles());
  // Casting on the device rounds like the host cast.
  Tensor dev_bf16 = dev.to(DType::BF16);
  EXPECT_EQ(dev_bf16.to_doubles(), host.to(DType::BF16).to_doubles());
  EXPECT_EQ(dev.to(DType::F64).to_doubles(), host.to_doubles());
}

}  // namespace
}  // namespace krait
