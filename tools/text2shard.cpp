// tools/text2shard.cpp — krait-text2shard: tokenizes UTF-8 text files (bytes, or byte-level BPE with
// --tokenizer) into a train shard and a validation shard (see data/text_shards.h for how each file is
// split).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "data/text_shards.h"

namespace {

constexpr const char* kUsage =
    "usage: krait-text2shard --out-dir DIR [--valid-fraction 0.05] [--format bin|h5] [--tokenizer PATH]\n"
    "                        [--threads N] FILE...\n"
    "Writes DIR/train.bin and DIR/valid.bin (or .h5): byte tokens (vocab 257, id 256 = end-of-text), or\n"
    "with --tokenizer the ids of a byte-level BPE tokenizer: a Hugging Face tokenizer.json, GPT-2's\n"
    "encoder.json or vocab.bpe (the other beside it), or a directory holding them (vocab: the largest id\n"
    "+ 1; its end-of-text token separates files). Special tokens written in the text are encoded as text.\n"
    "The last valid-fraction of each file, from a line start, goes to valid; the rest to train.\n"
    "A directory stands for the files under it, read in sorted path order (hidden ones skipped).\n"
    "Files are tokenized on N threads (default: one per core); the output does not depend on N.\n"
    "Input with no text is an error (exit 2).\n";

struct Options {
  std::string out_dir;
  double valid_fraction = 0.05;
  krait::data::ShardFormat format = krait::data::ShardFormat::binary;
  std::string tokenizer = "bytes";
  unsigned threads = 0;
  std::vector<std::string> files;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "krait-text2shard: " << message << "\n";
  std::exit(2);
}

double parse_fraction(const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  fail("--valid-fraction expects a number, found '" + text + "'");
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--out-dir") {
      options.out_dir = value();
    } else if (arg == "--valid-fraction") {
      options.valid_fraction = parse_fraction(value());
    } else if (arg == "--format") {
      const std::string format = value();
      if (format == "bin") {
        options.format = krait::data::ShardFormat::binary;
      } else if (format == "h5") {
        options.format = krait::data::ShardFormat::hdf5;
      } else {
        fail("--format expects bin or h5, found '" + format + "'");
      }
    } else if (arg == "--tokenizer") {
      options.tokenizer = value();
    } else if (arg == "--threads") {
      const std::string n = value();
      if (n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) == 0)
        fail("--threads expects a positive integer, found '" + n + "'");
      options.threads = static_cast<unsigned>(std::stoi(n));
    } else if (arg.starts_with("-")) {
      fail("unknown option '" + std::string(arg) + "' (see --help)");
    } else {
      options.files.emplace_back(arg);
    }
  }
  if (options.out_dir.empty()) fail("--out-dir is required (see --help)");
  if (options.files.empty()) fail("no input files (see --help)");
  return options;
}

}  // namespace

// The arguments with each directory replaced by its files, saying so.
std::vector<std::string> input_files(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const std::string& arg : args) {
    if (!std::filesystem::is_directory(arg)) {
      files.push_back(arg);
      continue;
    }
    const std::vector<std::string> in_dir = krait::data::text_files_in(arg);
    std::cout << arg << ": a directory; reading its " << in_dir.size() << " files in sorted order\n";
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    const std::vector<std::string> files = input_files(options.files);
    const auto tokenizer = krait::data::open_text_tokenizer(options.tokenizer);
    std::cout << "tokenizer: " << tokenizer->description() << "\n" << std::flush;
    const auto start = std::chrono::steady_clock::now();
    const auto counts = krait::data::text_files_to_shards(files, options.out_dir, options.valid_fraction,
                                                          options.format, *tokenizer, options.threads);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("files: %zu, %.2f MB of text, tokenized and written in %.2f s (%.2f MB/s)\n", files.size(),
                counts.text_bytes / 1e6, seconds, counts.text_bytes / 1e6 / seconds);
    std::cout << "train: " << counts.train_path << " " << counts.train_tokens << " tokens\n"
              << "valid: " << counts.valid_path << " " << counts.valid_tokens << " tokens\n"
              << "vocab_size: " << counts.vocab_size << "\n";
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return 0;
}
