// autograd/device.h — Device: where a tensor's storage lives (the host, or CUDA card n).
#pragma once

#include <string>

namespace krait {

struct Device {
  enum class Type : unsigned char { CPU, CUDA };
  Type type = Type::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {Type::CUDA, index}; }
  bool is_cpu() const { return type == Type::CPU; }
  bool is_cuda() const { return type == Type::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

  // Parses "cpu", "cuda" or "cuda:N"; throws krait::Error on anything else.
  static Device parse(const std::string& text);
};

// Whether this build has the CUDA backend and a card is present.
bool cuda_available();
// How many CUDA cards this process sees (0 in a build without CUDA).
int cuda_device_count();

}  // namespace krait
