// train/dump.cpp — `krait dump` (see dump.h).
#include "train/dump.h"

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"
#include "common/rng.h"
#include "train/checkpoint_file.h"

namespace krait::train {
namespace {

void put_config(CheckpointWriter& out, const MambaConfig& c) {
  out.put_int("config/d_model", c.d_model);
  out.put_int("config/n_layer", c.n_layer);
  out.put_int("config/vocab_size", c.vocab_size);
  out.put_int("config/padded_vocab_size", c.padded_vocab_size());
  out.put_int("config/d_state", c.d_state);
  out.put_int("config/d_conv", c.d_conv);
  out.put_int("config/expand", c.expand);
  out.put_int("config/d_inner", c.d_inner());
  out.put_int("config/dt_rank", c.resolved_dt_rank());
  out.put_int("config/conv_bias", c.conv_bias);
  out.put_int("config/bias", c.bias);
  out.put_int("config/tie_embeddings", c.tie_embeddings);
  out.put_int("config/selective", c.selective.all());
  out.put_double("config/norm_eps", c.norm_eps);
}

}  // namespace

DumpResult dump_gradients(const Model& model, const MambaConfig& config, Device device, const DumpOptions& o,
                          const std::string& out_path) {
  KRAIT_CHECK(model.task() == Task::LM, "dump: compares a language model with PyTorch's MambaForCausalLM, not a ",
              task_name(model.task()), " model");
  // tools/torch_check.py rebuilds the full block, with delta, B and C all input-dependent or none.
  KRAIT_CHECK(config.conv && config.gate && (config.selective.all() || config.selective.none()),
              "dump: tools/torch_check.py models the full block with delta, B and C all input-dependent or none; "
              "it has no model.conv: false, model.gate: false or partial model.selective");
  KRAIT_CHECK(o.batch > 0 && o.seq_len > 0, "dump: batch and seq-len must be positive, got ", o.batch, " and ",
              o.seq_len);
  // Each row is seq_len + 1 random tokens; ids are its first seq_len, targets its last seq_len.
  Rng rng(o.seed);
  std::vector<int64_t> ids, targets;
  ids.reserve(o.batch * o.seq_len);
  targets.reserve(o.batch * o.seq_len);
  for (int64_t b = 0; b < o.batch; ++b) {
    std::vector<int64_t> row(o.seq_len + 1);
    for (int64_t& id : row) id = static_cast<int64_t>(rng.below(config.vocab_size));
    ids.insert(ids.end(), row.begin(), row.end() - 1);
    targets.insert(targets.end(), row.begin() + 1, row.end());
  }
  const Shape shape{o.batch, o.seq_len};
  const Tensor x = Tensor::from_indices(ids, shape, DType::I32, device);
  const Tensor y = Tensor::from_indices(targets, shape, DType::I32, device);

  const ModelOutput output = model.forward(ModelBatch{x, y, {}, {}});
  const Tensor loss = output.loss;
  const Tensor logits = output.logits.detach();
  DumpResult r;
  r.loss = loss.item();
  backward(loss);

  CheckpointWriter out;
  out.put_tensor("ids", Tensor::from_indices(ids, shape));
  out.put_tensor("targets", Tensor::from_indices(targets, shape));
  out.put_tensor("logits", logits.to(DType::F32));
  out.put_double("loss", r.loss);
  for (const Parameter& p : model.parameters()) {
    const Tensor grad = p.value.grad();
    KRAIT_CHECK(grad.defined(), "dump: parameter ", p.name, " received no gradient");
    out.put_tensor("grad/" + p.name, grad.to(DType::F32));
    ++r.parameters;
  }
  put_config(out, config);
  out.put_string("compute_dtype", dtype_name(model.compute_dtype()));
  out.put_string("device", device.str());
  out.write(out_path);
  return r;
}

}  // namespace krait::train
