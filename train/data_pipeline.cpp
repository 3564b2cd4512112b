// train/data_pipeline.cpp — DataPipeline (see data_pipeline.h).
#include "train/data_pipeline.h"

#include <sstream>

#include "common/error.h"
#include "data/dna_tokenizer.h"
#include "data/eval_batcher.h"
#include "data/fasta_set.h"
#include "data/hdf5_sequences.h"
#include "data/prefetch_sampler.h"
#include "data/random_batcher.h"
#include "data/synthetic_tasks.h"
#include "data/wav_set.h"
#include "data/window_sampler.h"

namespace krait::train {
namespace {

std::vector<std::string> split_paths(const std::string& joined) {
  std::vector<std::string> paths;
  std::stringstream in(joined);
  for (std::string path; std::getline(in, path, ',');)
    if (!path.empty()) paths.push_back(path);
  return paths;
}

data::WavSetOptions wav_options(const DataSection& d) {
  data::WavSetOptions o;
  o.sample_rate = static_cast<int>(d.sample_rate);
  o.on_rate_mismatch = d.resample ? data::OnRateMismatch::Resample : data::OnRateMismatch::Reject;
  o.quantize.kind = d.quantize == AudioQuantize::MuLaw ? data::Quantization::MuLaw : data::Quantization::Linear;
  o.quantize.bits = d.quantize == AudioQuantize::MuLaw ? 8 : static_cast<int>(d.quantize_bits);
  o.labels = d.labels == AudioLabels::Folder     ? data::LabelSource::Folder
             : d.labels == AudioLabels::Manifest ? data::LabelSource::Manifest
                                                 : data::LabelSource::None;
  o.manifest = d.manifest;
  o.clip_samples = d.clip_samples;
  return o;
}

// Opens one split as a sequence set; `dna` says whether its ids are DNA bases (for reverse complement).
std::unique_ptr<data::SequenceSet> open_set(const DataSection& d, const std::string& path, bool& dna) {
  switch (d.format) {
    case DataFormat::Hdf5: {
      data::SequenceDatasetInfo info;
      auto set = data::open_sequence_hdf5(path, &info);
      dna = info.kind == data::SequenceKind::dna;
      KRAIT_CHECK(info.kind != data::SequenceKind::audio || static_cast<int64_t>(info.sample_rate) == d.sample_rate,
                  path, ": audio at ", info.sample_rate, " Hz, but data.sample_rate is ", d.sample_rate,
                  "; prepare it again with krait-prepare audio --sample-rate ", d.sample_rate,
                  " --resample, or set data.sample_rate");
      return set;
    }
    case DataFormat::Fasta: {
      data::FastaSetOptions o;
      o.manifest = d.manifest;
      o.label_by = d.label_by == LabelBy::File ? data::LabelKey::File : data::LabelKey::Record;
      dna = true;
      return std::make_unique<data::InMemorySequenceSet>(data::read_fasta_set(split_paths(path), o));
    }
    case DataFormat::Wav:
      dna = false;
      return std::make_unique<data::InMemorySequenceSet>(data::read_wav_set(split_paths(path), wav_options(d)));
    case DataFormat::Tokens:
    case DataFormat::Synthetic: break;
  }
  KRAIT_FAIL("data.format: ", to_string(d.format), " is not a sequence format");
}

data::SyntheticOptions synthetic_options(const Recipe& r, int64_t seq_len) {
  data::SyntheticOptions o;
  o.task = data::parse_synthetic_task(r.data.task);
  o.seq_len = seq_len;
  o.vocab_size = r.model.vocab_size();
  o.copy_tokens = r.data.copy_tokens;
  return o;
}

// The validation examples come from their own seed, apart from the training stream's.
uint64_t eval_seed(const Recipe& r) { return static_cast<uint64_t>(r.train.seed) ^ 0x5eed0fe7a15e7ULL; }

std::string summary(const data::SequenceSet& set) {
  std::ostringstream out;
  out << set.path() << ": " << set.num_records() << " records, " << set.total_length() << " ids";
  if (set.labeled()) {
    out << ", " << set.class_names().size() << " classes (";
    for (size_t i = 0; i < set.class_names().size(); ++i) out << (i ? ", " : "") << set.class_names()[i];
    out << ")";
  }
  return out.str();
}

}  // namespace

DataPipeline::DataPipeline(const Recipe& recipe, Open open, int rank, int world_size)
    : recipe_(recipe), rank_(rank), world_size_(world_size) {
  const DataSection& d = recipe.data;
  if (d.format == DataFormat::Synthetic) {
    synthetic_ = true;
    if (open == Open::ValidOnly) return;
    train_sampler_ = std::make_unique<data::PrefetchSampler>(std::make_unique<data::SyntheticSampler>(
        synthetic_options(recipe, d.seq_len), recipe.micro_batch(world_size), static_cast<uint64_t>(recipe.train.seed),
        rank, world_size));
    return;
  }
  if (open == Open::ValidOnly) {
    KRAIT_CHECK(!d.valid.empty(), "evaluation: the recipe has no data.valid; pass --set data.valid=PATH");
    bool dna = false;
    if (d.format == DataFormat::Tokens) {
      valid_tokens_ = data::open_tokens(d.valid);
    } else {
      valid_set_ = open_set(d, d.valid, dna);
    }
    return;
  }
  const int64_t micro_batch = recipe.micro_batch(world_size);
  const uint64_t seed = static_cast<uint64_t>(recipe.train.seed);
  std::unique_ptr<data::TrainSampler> sampler;
  if (d.format == DataFormat::Tokens) {
    KRAIT_CHECK(!d.reverse_complement, "data.reverse_complement is for DNA sequence sets, not token files");
    train_tokens_ = data::open_tokens(d.train);
    if (!d.valid.empty()) valid_tokens_ = data::open_tokens(d.valid);
    sampler = std::make_unique<data::RandomBatcher>(*train_tokens_, micro_batch, d.seq_len, seed, rank, world_size);
  } else {
    bool dna = false, valid_dna = false;
    train_set_ = open_set(d, d.train, dna);
    if (!d.valid.empty()) valid_set_ = open_set(d, d.valid, valid_dna);
    const bool classify = recipe.model.task == Task::Classify;
    KRAIT_CHECK(!valid_set_ || valid_set_->class_names() == train_set_->class_names(), "data.valid: '", d.valid,
                "' has the classes ", summary(*valid_set_), " but data.train has ", summary(*train_set_),
                "; both must list the same classes in the same order");
    KRAIT_CHECK(!d.reverse_complement || dna, "data.reverse_complement: '", d.train,
                "' does not hold DNA, so its ids have no complement");
    data::WindowOptions options{micro_batch, d.seq_len, classify, {}};
    if (d.reverse_complement) options.complement = data::DnaTokenizer::complement_table();
    sampler = std::make_unique<data::WindowSampler>(*train_set_, options, seed, rank, world_size);
  }
  train_sampler_ = std::make_unique<data::PrefetchSampler>(std::move(sampler));
}

DataPipeline::~DataPipeline() = default;

data::TrainSampler& DataPipeline::train() {
  KRAIT_CHECK(train_sampler_ != nullptr, "DataPipeline: opened for evaluation only, without data.train");
  return *train_sampler_;
}

std::unique_ptr<data::EvalPass> DataPipeline::valid_pass(int64_t batch_size, int64_t max_batches, bool whole) const {
  const int rank = whole ? 0 : rank_, world = whole ? 1 : world_size_;
  KRAIT_CHECK(has_valid(), "evaluation: the recipe has no data.valid");
  if (synthetic_)
    return std::make_unique<data::SyntheticEvalPass>(synthetic_options(recipe_, recipe_.data.seq_len), batch_size,
                                                     recipe_.data.eval_examples, eval_seed(recipe_), rank, world);
  if (valid_tokens_)
    return std::make_unique<data::EvalBatcher>(*valid_tokens_, batch_size, recipe_.data.seq_len, rank, world,
                                               max_batches);
  const data::WindowOptions options{batch_size, recipe_.data.seq_len, recipe_.model.task == Task::Classify, {}};
  return std::make_unique<data::WindowEvalPass>(*valid_set_, options, rank, world, max_batches);
}

uint32_t DataPipeline::vocab_size() const {
  if (synthetic_) return static_cast<uint32_t>(recipe_.model.vocab_size());
  uint32_t v = train_tokens_ ? train_tokens_->vocab_size() : train_set_ ? train_set_->vocab_size() : 0;
  if (valid_tokens_) v = std::max(v, valid_tokens_->vocab_size());
  if (valid_set_) v = std::max(v, valid_set_->vocab_size());
  return v;
}

const std::vector<std::string>& DataPipeline::class_names() const {
  static const std::vector<std::string> none;
  return train_set_ ? train_set_->class_names() : valid_set_ ? valid_set_->class_names() : none;
}

std::string DataPipeline::describe() const {
  std::ostringstream out;
  out << to_string(recipe_.data.format);
  if (synthetic_)
    out << " " << recipe_.data.task << ", " << recipe_.data.seq_len << " tokens per example, "
        << recipe_.data.eval_examples << " validation examples";
  if (train_tokens_) out << ": train " << train_tokens_->path() << " (" << train_tokens_->size() << " tokens)";
  if (valid_tokens_) out << ", valid " << valid_tokens_->path() << " (" << valid_tokens_->size() << " tokens)";
  if (train_set_) out << ": train " << summary(*train_set_);
  if (valid_set_) out << "; valid " << summary(*valid_set_);
  out << "; vocabulary " << recipe_.model.vocab_size();
  return out.str();
}

}  // namespace krait::train
