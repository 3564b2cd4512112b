// train/dump.cpp — `krait dump` (see dump.h).
#include "train/dump.h"

#include <charconv>
#include <cstring>
#include <fstream>

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"
#include "common/rng.h"
#include "data/token_shard.h"
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

// The first `count` ids of a token shard or a text file of whitespace-separated decimal ids.
std::vector<int64_t> read_token_ids(const std::string& path, size_t count, int64_t vocab_size) {
  std::ifstream in(path, std::ios::binary);
  KRAIT_CHECK(in, "dump --tokens: cannot open '", path, "': ", std::strerror(errno));
  char magic[sizeof data::kTokenShardMagic] = {};
  in.read(magic, sizeof magic);
  std::vector<int64_t> ids;
  if (in.gcount() == sizeof magic && std::memcmp(magic, data::kTokenShardMagic, sizeof magic) == 0) {
    const data::TokenShardFile shard(path);
    KRAIT_CHECK(shard.size() >= count, "dump --tokens: '", path, "' holds ", shard.size(), " ids; the batch needs ",
                count);
    std::vector<int32_t> values(count);
    shard.read(0, count, values.data());
    ids.assign(values.begin(), values.end());
  } else {
    in.clear();
    in.seekg(0);
    std::string word;
    while (ids.size() < count && in >> word) {
      int64_t id = -1;
      const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
      KRAIT_CHECK(ec == std::errc() && end == word.data() + word.size() && id >= 0, "dump --tokens: '", path,
                  "': id ", ids.size(), " is '", word, "', not a non-negative integer");
      ids.push_back(id);
    }
    KRAIT_CHECK(ids.size() == count, "dump --tokens: '", path, "' holds ", ids.size(), " ids; the batch needs ",
                count);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    KRAIT_CHECK(ids[i] < vocab_size, "dump --tokens: '", path, "': id ", i, " is ", ids[i],
                ", not below the model's vocab_size ", vocab_size);
  }
  return ids;
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
  // Each row is seq_len + 1 tokens (random, or the file's); ids are its first seq_len, targets its last.
  const size_t row_len = static_cast<size_t>(o.seq_len + 1);
  std::vector<int64_t> tokens;
  if (o.tokens_path.empty()) {
    Rng rng(o.seed);
    tokens.resize(o.batch * row_len);
    for (int64_t& id : tokens) id = static_cast<int64_t>(rng.below(config.vocab_size));
  } else {
    tokens = read_token_ids(o.tokens_path, o.batch * row_len, config.vocab_size);
  }
  std::vector<int64_t> ids, targets;
  ids.reserve(o.batch * o.seq_len);
  targets.reserve(o.batch * o.seq_len);
  for (int64_t b = 0; b < o.batch; ++b) {
    const auto row = tokens.begin() + b * row_len;
    ids.insert(ids.end(), row, row + o.seq_len);
    targets.insert(targets.end(), row + 1, row + row_len);
  }
  const Shape shape{o.batch, o.seq_len};
  const Tensor x = Tensor::from_indices(ids, shape, DType::I32, device);
  const Tensor y = Tensor::from_indices(targets, shape, DType::I32, device);

  const ModelOutput output = model.forward(ModelBatch{x, y, {}, {}, true});
  const Tensor loss = output.loss;
  const Tensor logits = output.logits.detach();
  DumpResult r;
  r.loss = loss.item();
  backward(loss);

  CheckpointWriter out;
  out.put_tensor("ids", Tensor::from_indices(ids, shape));
  out.put_tensor("targets", Tensor::from_indices(targets, shape));
  // f32, or f64 for an f64 model (bf16 logits widen to f32).
  const DType out_dtype = model.compute_dtype() == DType::F64 ? DType::F64 : DType::F32;
  out.put_tensor("logits", logits.to(out_dtype));
  out.put_double("loss", r.loss);
  for (const Parameter& p : model.parameters()) {
    const Tensor grad = p.value.grad();
    KRAIT_CHECK(grad.defined(), "dump: parameter ", p.name, " received no gradient");
    out.put_tensor("grad/" + p.name, grad.to(out_dtype));
    ++r.parameters;
  }
  put_config(out, config);
  out.put_string("compute_dtype", dtype_name(model.compute_dtype()));
  out.put_string("device", device.str());
  out.write(out_path);
  return r;
}

}  // namespace krait::train
