// autograd/tensor.h — Tensor: a shape, a dtype, a device and reference-counted contiguous row-major
// storage, plus the autograd state (requires_grad and the gradient slot). Copies of a Tensor share
// storage; to() and clone() copy. Differentiable computation lives in ops.h, not here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/device.h"
#include "kernels/bf16.h"
#include "kernels/dtype.h"

namespace krait {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

// Owns one allocation on one device.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// What a new tensor is made of and where it lives (layers take this for their parameters).
struct TensorOptions {
  DType dtype = DType::F32;
  Device device = Device::cpu();
  TensorOptions() = default;
  TensorOptions(DType dtype_, Device device_ = Device::cpu()) : dtype(dtype_), device(device_) {}  // NOLINT: implicit
};

struct GradSlot;
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<bf16>() { return DType::BF16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype, Device device = Device::cpu());
  // Host values converted to dtype and placed on device; values.size() must equal the shape's numel.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype,
                            Device device = Device::cpu());
  static Tensor from_indices(const std::vector<int64_t>& values, const Shape& shape, DType dtype = DType::I64,
                             Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return numel() * dtype_size(dtype()); }
  std::string describe() const;  // e.g. "f32[2, 3] on cpu"

  void* raw_data() const;
  // Typed pointer; throws when T does not match the dtype.
  template <typename T> T* data() const {
    check_dtype(dtype_of<T>(), "data<T>()");
    return static_cast<T*>(raw_data());
  }

  Tensor to(Device device) const;  // a copy (or this tensor when already there)
  Tensor to(DType dtype) const;    // a converted copy (or this tensor when already that type)
  Tensor clone() const;            // a copy with its own storage, not tracked by autograd
  // Same storage seen with another shape of equal numel (not tracked by autograd; see ops::reshape).
  Tensor view(const Shape& shape) const;
  // Same storage: `shape` seen from element `offset` on (e.g. one parameter's part of a flat
  // gradient bucket). Not tracked by autograd.
  Tensor view_range(int64_t offset, const Shape& shape) const;
  Tensor detach() const;  // shares storage, drops the autograd state

  // Host copies of the values, for tests, logging and checkpoints.
  std::vector<double> to_doubles() const;
  double item() const;  // the single value of a one-element tensor

  // Autograd state. A tensor that requires grad and is not produced by a recorded op is a leaf:
  // backward() accumulates into its grad() across calls until zero_grad().
  bool requires_grad() const;
  Tensor& set_requires_grad(bool enabled);
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;
  const std::shared_ptr<GradSlot>& grad_slot() const;
  void attach_grad_slot(std::shared_ptr<GradSlot> slot);

  void copy_from(const Tensor& src) const;  // same shape; converts dtype, crosses devices
  void fill_zero() const;

  bool same_storage(const Tensor& other) const;

 private:
  struct Impl;
  explicit Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<Impl> impl_;
};

// The gradient accumulator of a tensor taking part in autograd. Nodes on the tape hold the slots of
// their inputs and outputs, not the tensors, so recording an op does not keep its activations alive.
struct GradSlot {
  Tensor grad;
  bool is_leaf = false;
  // A leaf's gradient storage kept across steps (e.g. its part of a data-parallel bucket): when
  // defined, backward writes the gradient into it instead of allocating one, and zero_grad keeps it.
  Tensor buffer;
};

}  // namespace krait
