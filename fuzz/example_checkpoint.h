// fuzz/example_checkpoint.h — the small checkpoint the fuzz seeds and the checkpoint target start from:
// f32, bf16 and i64 tensors and each kind of scalar state.
#pragma once

#include <string>

#include "autograd/tensor.h"
#include "train/checkpoint_file.h"

namespace krait::fuzz {

inline void write_example_checkpoint(const std::string& path) {
  CheckpointWriter writer;
  writer.put_tensor("model/layers.0.weight", Tensor::from_vector({1, -2, 3.5, 0, 1e-3, 7}, {2, 3}, DType::F32));
  writer.put_tensor("model/norm.bf16", Tensor::from_vector({0.5, -1}, {2}, DType::BF16));
  writer.put_tensor("optim/count", Tensor::from_indices({1, 2}, {2}, DType::I64));
  writer.put_int("state/step", 10);
  writer.put_double("state/loss", 2.25);
  writer.put_u64s("state/sampler", {1, 2, 3});
  writer.put_string("state/recipe", "model: {d_model: 8}\n");
  writer.write(path);
}

}  // namespace krait::fuzz
