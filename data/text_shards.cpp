// data/text_shards.cpp — converting text files into train and valid token shards.
#include "data/text_shards.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/file_text.h"
#include "common/error.h"
#include "data/token_source.h"

namespace krait::data {
namespace {

// One file's ids: its head for train and its tail for valid, each followed by end-of-text.
struct FileIds {
  std::vector<int32_t> train, valid;
  uint64_t bytes = 0;
  std::exception_ptr error;
};

std::vector<int32_t> document_ids(const TextTokenizer& tokenizer, std::string_view text) {
  if (text.empty()) return {};
  std::vector<int32_t> ids = tokenizer.encode(text);
  ids.push_back(tokenizer.end_of_text());
  return ids;
}

FileIds tokenize_file(const std::string& path, const TextTokenizer& tokenizer, double valid_fraction) {
  FileIds ids;
  try {
    const std::string text = read_file_text(path, "text file");
    const size_t split = valid_split_point(text, valid_fraction);
    ids.train = document_ids(tokenizer, std::string_view(text).substr(0, split));
    ids.valid = document_ids(tokenizer, std::string_view(text).substr(split));
    ids.bytes = text.size();
  } catch (const Error& e) {
    const std::string what = e.what();
    ids.error = std::make_exception_ptr(what.starts_with(path) ? e : Error(path + ": " + what));
  } catch (...) {
    ids.error = std::current_exception();
  }
  return ids;
}

// Every file's ids, in the order of `files`, from `threads` workers taking files in turn.
std::vector<FileIds> tokenize_files(const std::vector<std::string>& files, const TextTokenizer& tokenizer,
                                    double valid_fraction, unsigned threads) {
  std::vector<FileIds> results(files.size());
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) results[i] = tokenize_file(files[i], tokenizer, valid_fraction);
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, files.size()));
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (std::thread& w : workers) w.join();
  for (const FileIds& r : results) {
    if (r.error) std::rethrow_exception(r.error);
  }
  return results;
}

}  // namespace

std::vector<std::string> text_files_in(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path().string());
  }
  KRAIT_CHECK(!files.empty(), dir, ": a directory with no files to read");
  std::sort(files.begin(), files.end());
  return files;
}

size_t valid_split_point(std::string_view text, double valid_fraction) {
  const size_t valid_bytes = static_cast<size_t>(std::llround(static_cast<double>(text.size()) * valid_fraction));
  size_t split = text.size() - std::min(valid_bytes, text.size());
  if (split == 0 || split == text.size() || text[split - 1] == '\n') return split;
  const size_t newline = text.find('\n', split);
  if (newline != std::string_view::npos) return newline + 1;
  while (split < text.size() && (static_cast<unsigned char>(text[split]) & 0xC0) == 0x80) ++split;
  return split;
}

TextShardCounts text_files_to_shards(const std::vector<std::string>& files, const std::string& out_dir,
                                     double valid_fraction, ShardFormat format, const TextTokenizer& tokenizer,
                                     unsigned threads) {
  KRAIT_CHECK(!files.empty(), "text_files_to_shards: no input files");
  KRAIT_CHECK(valid_fraction >= 0.0 && valid_fraction < 1.0,
              "text_files_to_shards: valid fraction must be in [0, 1), found ", valid_fraction);
  KRAIT_CHECK(tokenizer.end_of_text() >= 0, "the tokenizer (", tokenizer.description(),
              ") has no end-of-text token to separate documents");
  std::vector<int32_t> train, valid;
  uint64_t text_bytes = 0;
  for (FileIds& ids : tokenize_files(files, tokenizer, valid_fraction, threads)) {
    train.insert(train.end(), ids.train.begin(), ids.train.end());
    valid.insert(valid.end(), ids.valid.begin(), ids.valid.end());
    text_bytes += ids.bytes;
    ids = FileIds();  // its memory back before the next is copied
  }
  KRAIT_CHECK(!valid.empty() || !train.empty(), "no text: the ", files.size(), " input file",
              files.size() == 1 ? " is" : "s are", " empty");
  KRAIT_CHECK(!train.empty(), "no text for the train shard: the validation tail took all of it; lower the "
              "valid fraction");

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  KRAIT_CHECK(!ec, out_dir, ": cannot create directory: ", ec.message());
  const std::string extension = format == ShardFormat::hdf5 ? ".h5" : ".bin";
  TextShardCounts counts;
  counts.train_path = (std::filesystem::path(out_dir) / ("train" + extension)).string();
  counts.valid_path = (std::filesystem::path(out_dir) / ("valid" + extension)).string();
  write_tokens(counts.train_path, train, tokenizer.vocab_size());
  write_tokens(counts.valid_path, valid, tokenizer.vocab_size());
  counts.train_tokens = train.size();
  counts.valid_tokens = valid.size();
  counts.text_bytes = text_bytes;
  counts.vocab_size = tokenizer.vocab_size();
  return counts;
}

}  // namespace krait::data
