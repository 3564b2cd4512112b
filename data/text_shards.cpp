// data/text_shards.cpp — converting text files into train and valid token shards.
#include "data/text_shards.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/byte_tokenizer.h"
#include "data/token_source.h"

namespace krait::data {
namespace {

std::string read_file(const std::string& path) {
  KRAIT_CHECK(!std::filesystem::is_directory(path), path, ": is a directory, not a text file");
  std::ifstream file(path, std::ios::binary);
  KRAIT_CHECK(file, path, ": cannot open: ", std::strerror(errno));
  std::ostringstream contents;
  contents << file.rdbuf();
  KRAIT_CHECK(!file.bad(), path, ": read failed");
  return contents.str();
}

void append_document(std::vector<int32_t>& shard, const ByteTokenizer& tokenizer, std::string_view text) {
  if (text.empty()) return;
  const std::vector<int32_t> ids = tokenizer.encode(text);
  shard.insert(shard.end(), ids.begin(), ids.end());
  shard.push_back(ByteTokenizer::kEndOfText);
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
                                     double valid_fraction, ShardFormat format) {
  KRAIT_CHECK(!files.empty(), "text_files_to_shards: no input files");
  KRAIT_CHECK(valid_fraction >= 0.0 && valid_fraction < 1.0,
              "text_files_to_shards: valid fraction must be in [0, 1), found ", valid_fraction);
  const ByteTokenizer tokenizer;
  std::vector<int32_t> train, valid;
  for (const std::string& path : files) {
    const std::string text = read_file(path);
    const size_t split = valid_split_point(text, valid_fraction);
    append_document(train, tokenizer, std::string_view(text).substr(0, split));
    append_document(valid, tokenizer, std::string_view(text).substr(split));
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
  write_tokens(counts.train_path, train, ByteTokenizer::kVocabSize);
  write_tokens(counts.valid_path, valid, ByteTokenizer::kVocabSize);
  counts.train_tokens = train.size();
  counts.valid_tokens = valid.size();
  return counts;
}

}  // namespace krait::data
