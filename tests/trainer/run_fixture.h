// tests/trainer/run_fixture.h — a temporary run: byte-level shards cut from the shipped corpus and a
// tiny recipe pointing at them, for tests of the training loop and the krait CLI.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "data/text_shards.h"

namespace krait::testing {

class RunFixture {
 public:
  explicit RunFixture(const std::string& name)
      : dir_(std::filesystem::temp_directory_path() / ("krait-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "data");
    // 64 KB of real text is plenty for a few dozen steps of a tiny model.
    std::ifstream corpus(KRAIT_SOURCE_DIR "/data/corpus/kjv.txt");
    std::string text(64 * 1024, '\0');
    corpus.read(text.data(), static_cast<std::streamsize>(text.size()));
    std::ofstream(dir_ / "data/text.txt") << text;
    data::text_files_to_shards({(dir_ / "data/text.txt").string()}, (dir_ / "data").string(), 0.1,
                               data::ShardFormat::binary);
  }
  ~RunFixture() { std::filesystem::remove_all(dir_); }

  // Writes a recipe for a tiny model (vary it with --set style overrides when loading).
  std::string recipe(const std::string& run_name, int64_t total_steps) const {
    const std::string path = (dir_ / (run_name + ".yaml")).string();
    std::ofstream(path) << "model: {d_model: 16, n_layer: 2, vocab_size: 257, d_state: 4}\n"
                        << "data:\n  train: " << (dir_ / "data/train.bin").string() << "\n  valid: "
                        << (dir_ / "data/valid.bin").string() << "\n  seq_len: 32\n  batch_size: 4\n"
                        << "optim: {lr: 0.01}\n"
                        << "schedule: {warmup_steps: 2, total_steps: " << total_steps << "}\n"
                        << "train:\n  seed: 5\n  run_dir: " << run_dir(run_name) << "\n  micro_batch: 2\n"
                        << "  eval_interval: 10\n  checkpoint_interval: 10\n  log_interval: 5\n"
                        << "eval: {max_batches: 2}\n";
    return path;
  }
  std::string run_dir(const std::string& run_name) const { return (dir_ / "runs" / run_name).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace krait::testing
