// data/token_source.cpp — open_tokens, write_tokens and check_vocab_fits.
#include "data/token_source.h"

#include "common/error.h"
#include "data/hdf5_tokens.h"
#include "data/token_ids.h"
#include "data/token_shard.h"

namespace krait::data {

std::unique_ptr<TokenSource> open_tokens(const std::string& path) {
  if (is_hdf5_path(path)) return std::make_unique<Hdf5TokenFile>(path);
  return std::make_unique<TokenShardFile>(path);
}

void write_tokens(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size) {
  const uint32_t bytes_per_token = bytes_per_token_for(vocab_size);
  if (is_hdf5_path(path)) {
    write_token_hdf5(path, ids, vocab_size, bytes_per_token);
  } else {
    write_token_shard(path, ids, vocab_size, bytes_per_token);
  }
}

void check_vocab_fits(const TokenSource& source, uint32_t model_vocab_size) {
  KRAIT_CHECK(source.vocab_size() <= model_vocab_size, source.path(), ": tokens were made with vocab_size ",
              source.vocab_size(), " but the model's vocab_size is ", model_vocab_size,
              "; ids up to ", source.vocab_size() - 1, " would index past its embedding table");
}

}  // namespace krait::data
