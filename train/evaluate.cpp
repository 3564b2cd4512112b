// train/evaluate.cpp — evaluation pass (see evaluate.h).
#include "train/evaluate.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "data/eval_batcher.h"

namespace krait::train {

double EvalResult::perplexity() const { return std::exp(loss); }
double EvalResult::bits_per_token() const { return loss / std::log(2.0); }

std::pair<Tensor, Tensor> batch_tensors(const data::Batch& batch, Device device) {
  const Shape shape{batch.batch_size, batch.seq_len};
  Tensor ids = Tensor::empty(shape, DType::I32), targets = Tensor::empty(shape, DType::I32);
  std::memcpy(ids.raw_data(), batch.inputs.data(), ids.nbytes());
  std::memcpy(targets.raw_data(), batch.targets.data(), targets.nbytes());
  return {ids.to(device), targets.to(device)};
}

EvalResult evaluate(const MambaLM& model, const data::TokenSource& source, int64_t batch_size,
                    int64_t seq_len, int64_t max_batches, Device device) {
  NoGradGuard no_grad;
  data::EvalBatcher batcher(source, batch_size, seq_len, 0, 1, max_batches);
  data::Batch batch;
  double nll_sum = 0;
  EvalResult result;
  while (batcher.next(batch)) {
    const auto [ids, targets] = batch_tensors(batch, device);
    nll_sum += model.loss(ids, targets, -100, ops::Reduction::Sum).item();
    result.tokens += batch.batch_size * batch.seq_len;
  }
  KRAIT_CHECK(result.tokens > 0, "evaluation: '", source.path(), "' holds no window of ",
              seq_len + 1, " tokens");
  result.loss = nll_sum / static_cast<double>(result.tokens);
  return result;
}

}  // namespace krait::train
