// fuzz/safetensors.cpp — fuzzes the safetensors reader (train/safetensors.h, SafetensorsReader):
// validate the header, then read every tensor of a dtype Krait reads.
#include "train/safetensors.h"

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] {
    const krait::train::SafetensorsReader reader(path);
    for (const auto& [name, info] : reader.tensors()) {
      krait::fuzz::expect_clean([&] {
        if (reader.read(name).size() != static_cast<size_t>(info.numel)) __builtin_trap();
      });
    }
  });
  return 0;
}
