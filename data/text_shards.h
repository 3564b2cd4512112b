// data/text_shards.h — text_files_to_shards, the work behind krait-text2shard: tokenize text files
// (bytes or BPE) on several threads and write them as a train shard and a validation shard that
// share no text; text_files_in, the files of a directory argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/text_tokenizer.h"

namespace krait::data {

enum class ShardFormat { binary, hdf5 };  // DIR/{train,valid}.bin or DIR/{train,valid}.h5

struct TextShardCounts {
  std::string train_path, valid_path;
  uint64_t train_tokens = 0, valid_tokens = 0;  // end-of-text separators included
  uint64_t text_bytes = 0;                      // of all the files
  uint32_t vocab_size = 0;
};

// Each file is split in two at valid_split_point: the head goes to train, the tail to valid, and
// each non-empty part is followed by the tokenizer's end-of-text, so documents stay separated within
// a shard. Files are tokenized on `threads` threads (0: one per core), each file whole by one thread,
// and written in the order given, so the shards do not depend on the thread count. The ids are held
// in memory while converting. Creates out_dir if needed. Throws when a path is a directory (expand
// it with text_files_in), when the files hold no text for the train shard, or when the tokenizer
// has no end-of-text token.
TextShardCounts text_files_to_shards(const std::vector<std::string>& files, const std::string& out_dir,
                                     double valid_fraction, ShardFormat format,
                                     const TextTokenizer& tokenizer = byte_text_tokenizer(), unsigned threads = 0);

// The regular files under dir (recursively, names starting with '.' skipped) in sorted path order,
// for krait-text2shard's directory arguments; throws when there are none.
std::vector<std::string> text_files_in(const std::string& dir);

// Where a text's validation tail begins: valid_fraction of its bytes from the end, moved forward
// to the start of the next line so neither part holds a broken line (or, with no later newline,
// to the next UTF-8 character boundary). A fraction of 0 gives text.size().
size_t valid_split_point(std::string_view text, double valid_fraction);

}  // namespace krait::data
