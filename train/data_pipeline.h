// train/data_pipeline.h — DataPipeline: the recipe's `data` section opened for one rank: the training
// sampler (prefetched on a worker thread) and the validation pass, over token files or sequence sets
// (prepared HDF5, FASTA, WAV) or generated synthetic tasks, with what the model must agree with
// (vocabulary, class names).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/sampler.h"
#include "data/sequence_set.h"
#include "data/token_source.h"
#include "train/recipe.h"

namespace krait::train {

class DataPipeline {
 public:
  enum class Open { TrainAndValid, ValidOnly };
  // Opens data.train (unless ValidOnly) and data.valid (when set) as data.format says; throws naming
  // the key and file.
  explicit DataPipeline(const Recipe& recipe, Open open = Open::TrainAndValid, int rank = 0, int world_size = 1);
  ~DataPipeline();

  data::TrainSampler& train();
  bool has_valid() const { return valid_tokens_ != nullptr || valid_set_ != nullptr || synthetic_; }
  // Evaluations also count next-token accuracy (the synthetic tasks, whose loss counts only the
  // tokens to recall).
  bool token_accuracy() const { return synthetic_; }
  // A fresh pass over data.valid for this rank; has_valid() must hold.
  // whole: this rank scores the whole set, as a single rank would (expert parallelism needs every rank
  // in every batch, with batches of one size); else its share of it.
  std::unique_ptr<data::EvalPass> valid_pass(int64_t batch_size, int64_t max_batches, bool whole = false) const;

  uint32_t vocab_size() const;                          // every id of the opened sets is below it
  const std::vector<std::string>& class_names() const;  // empty for unlabeled data
  std::string describe() const;  // one line for the log: format, files, sizes, classes, vocabulary

 private:
  Recipe recipe_;
  int rank_, world_size_;
  std::unique_ptr<data::TokenSource> train_tokens_, valid_tokens_;
  std::unique_ptr<data::SequenceSet> train_set_, valid_set_;
  std::unique_ptr<data::TrainSampler> train_sampler_;
  bool synthetic_ = false;
};

}  // namespace krait::train
