// autograd/tensor.cpp — Tensor and Storage (see tensor.h).
#include "autograd/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "autograd/cuda_context.h"
#include "common/error.h"
#include "kernels/cpu/cast.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/cast.h"
#include "kernels/cuda/device.h"
#endif

namespace krait {

struct Tensor::Impl {
  Shape shape;
  DType dtype = DType::F32;
  std::shared_ptr<Storage> storage;
  size_t byte_offset = 0;  // where this tensor starts in the storage (view_range)
  bool requires_grad = false;
  std::shared_ptr<GradSlot> slot;
};

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    KRAIT_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    n *= d;
  }
  return n;
}

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string index = text.substr(5);
    KRAIT_CHECK(!index.empty() && index.find_first_not_of("0123456789") == std::string::npos,
                "device '", text, "': expected cpu, cuda or cuda:N");
    return cuda(std::stoi(index));
  }
  KRAIT_FAIL("device '", text, "': expected cpu, cuda or cuda:N");
}

bool cuda_available() { return cuda_device_count() > 0; }

int cuda_device_count() {
#if KRAIT_HAS_CUDA
  return kernels::cuda::device_count();
#else
  return 0;
#endif
}

// ---------------------------------------------------------------------------------------------
Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cpu()) {
    constexpr size_t kAlign = 64;  // a cache line, and enough for any vector load
    data_ = std::aligned_alloc(kAlign, std::max(kAlign, (bytes + kAlign - 1) / kAlign * kAlign));
    KRAIT_CHECK(data_ != nullptr, "out of host memory: asked for ", bytes, " bytes");
    return;
  }
#if KRAIT_HAS_CUDA
  KRAIT_CHECK(device.index < kernels::cuda::device_count(), "device ", device.str(), " is not present (",
              kernels::cuda::device_count(), " CUDA devices)");
  data_ = cuda::allocate(bytes, device.index);
#else
  KRAIT_FAIL("device ", device.str(), " requested but Krait was built without CUDA");
#endif
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    std::free(data_);
    return;
  }
  cuda::release(data_, bytes_, device_.index);
}

// ---------------------------------------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<Impl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  return from_vector(std::vector<double>(shape_numel(shape), value), shape, dtype, device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  KRAIT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
              " values for shape ", shape_str(shape));
  Tensor host = empty(shape, dtype);
  kernels::cpu::cast(values.data(), DType::F64, host.raw_data(), dtype, host.numel());
  return host.to(device);
}

Tensor Tensor::from_indices(const std::vector<int64_t>& values, const Shape& shape, DType dtype, Device device) {
  KRAIT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_indices: ", values.size(),
              " values for shape ", shape_str(shape));
  Tensor host = empty(shape, dtype);
  kernels::cpu::cast(values.data(), DType::I64, host.raw_data(), dtype, host.numel());
  return host.to(device);
}

const Shape& Tensor::shape() const {
  KRAIT_CHECK(defined(), "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t axis) const {
  const int64_t d = dim();
  KRAIT_CHECK(axis >= -d && axis < d, "axis ", axis, " out of range for ", describe());
  return shape()[axis < 0 ? axis + d : axis];
}

int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return defined() ? impl_->dtype : DType::F32; }
Device Tensor::device() const { return defined() ? impl_->storage->device() : Device::cpu(); }
void* Tensor::raw_data() const {
  KRAIT_CHECK(defined(), "use of an undefined tensor");
  return static_cast<char*>(impl_->storage->data()) + impl_->byte_offset;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " on " + device().str();
}

void Tensor::check_dtype(DType expected, const char* what) const {
  KRAIT_CHECK(dtype() == expected, what, ": tensor is ", describe(), ", expected dtype ", dtype_name(expected));
}

void Tensor::copy_from(const Tensor& src) const {
  KRAIT_CHECK(src.shape() == shape(), "copy_from: shape ", shape_str(src.shape()), " into ", describe());
  const Device from = src.device(), to = device();
  if (from.is_cpu() && to.is_cpu()) {
    if (src.dtype() == dtype()) std::memcpy(raw_data(), src.raw_data(), nbytes());
    else kernels::cpu::cast(src.raw_data(), src.dtype(), raw_data(), dtype(), numel());
    return;
  }
#if KRAIT_HAS_CUDA
  namespace cu = kernels::cuda;
  if (src.dtype() != dtype()) {
    // Convert on whichever side holds the source, then move the converted bytes.
    if (from == to) {
      cu::cast(src.raw_data(), src.dtype(), raw_data(), dtype(), numel(), cuda::stream(to.index));
    } else if (from.is_cuda()) {
      Tensor converted = Tensor::empty(shape(), dtype(), from);
      cu::cast(src.raw_data(), src.dtype(), converted.raw_data(), dtype(), numel(), cuda::stream(from.index));
      copy_from(converted);
    } else {
      copy_from(src.to(dtype()));
    }
    return;
  }
  if (from.is_cpu()) cu::copy(raw_data(), src.raw_data(), nbytes(), cu::CopyKind::HostToDevice, to.index);
  else if (to.is_cpu()) cu::copy(raw_data(), src.raw_data(), nbytes(), cu::CopyKind::DeviceToHost, from.index);
  else cu::copy(raw_data(), src.raw_data(), nbytes(), cu::CopyKind::DeviceToDevice, to.index);
#else
  KRAIT_FAIL("copy between ", src.describe(), " and ", describe(), ": Krait was built without CUDA");
#endif
}

void Tensor::fill_zero() const {
  if (device().is_cpu()) {
    std::memset(raw_data(), 0, nbytes());
    return;
  }
#if KRAIT_HAS_CUDA
  kernels::cuda::memset_zero(raw_data(), nbytes(), device().index);
#endif
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_from(*this);
  // The host has waited for this device: report any validation an op left on it (cuda_context.h).
  if (device().is_cuda() && !target.is_cuda()) cuda::run_deferred_checks(device().index);
  return out;
}

Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  Tensor out = empty(shape(), target, device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::view(const Shape& new_shape) const {
  KRAIT_CHECK(shape_numel(new_shape) == numel(), "view: cannot view ", describe(), " as ", shape_str(new_shape));
  auto impl = std::make_shared<Impl>();
  impl->shape = new_shape;
  impl->dtype = dtype();
  impl->storage = impl_->storage;
  impl->byte_offset = impl_->byte_offset;
  return Tensor(std::move(impl));
}

Tensor Tensor::view_range(int64_t offset, const Shape& new_shape) const {
  const int64_t n = shape_numel(new_shape);
  KRAIT_CHECK(offset >= 0 && n >= 0 && offset + n <= numel(), "view_range: elements [", offset, ", ", offset + n,
              ") as ", shape_str(new_shape), " are not inside ", describe());
  Tensor out = view({numel()});
  out.impl_->shape = new_shape;
  out.impl_->byte_offset += static_cast<size_t>(offset) * dtype_size(dtype());
  return out;
}

Tensor Tensor::detach() const { return view(shape()); }

std::vector<double> Tensor::to_doubles() const {
  std::vector<double> values(numel());
  const Tensor host = to(Device::cpu());
  kernels::cpu::cast(host.raw_data(), dtype(), values.data(), DType::F64, numel());
  return values;
}

double Tensor::item() const {
  KRAIT_CHECK(numel() == 1, "item(): tensor ", describe(), " has more than one element");
  return to_doubles()[0];
}

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool enabled) {
  KRAIT_CHECK(!enabled || is_floating(dtype()), "requires_grad on non-floating tensor ", describe());
  impl_->requires_grad = enabled;
  if (enabled && !impl_->slot) impl_->slot = std::make_shared<GradSlot>(GradSlot{Tensor(), true});
  if (!enabled) impl_->slot.reset();
  return *this;
}

Tensor Tensor::grad() const { return impl_->slot ? impl_->slot->grad : Tensor(); }

void Tensor::set_grad(const Tensor& grad) const {
  KRAIT_CHECK(impl_->slot, "set_grad on ", describe(), " which does not require grad");
  KRAIT_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad: gradient ", grad.describe(), " for ",
              describe());
  impl_->slot->grad = grad;
}

void Tensor::zero_grad() const {
  if (impl_->slot) impl_->slot->grad = Tensor();
}

const std::shared_ptr<GradSlot>& Tensor::grad_slot() const { return impl_->slot; }

void Tensor::attach_grad_slot(std::shared_ptr<GradSlot> slot) {
  impl_->requires_grad = true;
  impl_->slot = std::move(slot);
}

bool Tensor::same_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

}  // namespace krait
