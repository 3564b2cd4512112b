// data/token_ids.h — the rules on token ids that both shard formats share: which vocab sizes are
// allowed, how many bytes an id is stored in, and the scan that rejects ids outside the vocab.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"

namespace krait::data {

// Ids are handed out as int32, so the largest vocab is 2^31 (ids 0 .. 2^31 - 1).
inline constexpr uint64_t kMaxVocabSize = uint64_t{1} << 31;

// 2 bytes while every id fits in uint16, else 4.
inline uint32_t bytes_per_token_for(uint32_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

inline void check_vocab_size(const std::string& path, uint64_t vocab_size) {
  KRAIT_CHECK(vocab_size >= 1 && vocab_size <= kMaxVocabSize, path, ": vocab_size must be in [1, ",
              kMaxVocabSize, "], found ", vocab_size);
}

inline void check_bytes_per_token(const std::string& path, uint64_t bytes_per_token, uint32_t vocab_size) {
  KRAIT_CHECK(bytes_per_token == 2 || bytes_per_token == 4, path,
              ": bytes per token must be 2 (uint16) or 4 (uint32), found ", bytes_per_token);
  KRAIT_CHECK(bytes_per_token == 4 || vocab_size <= 65536, path, ": vocab_size ", vocab_size,
              " does not fit in 2-byte tokens");
}

// Throws on the first id outside [0, vocab_size); first_position is ids[0]'s index in the file.
template <typename Id>
void check_ids_below(const std::string& path, const Id* ids, uint64_t count, uint32_t vocab_size,
                     uint64_t first_position = 0) {
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t id = static_cast<int64_t>(ids[i]);
    KRAIT_CHECK(id >= 0 && id < static_cast<int64_t>(vocab_size), path, ": token id ", id, " at position ",
                first_position + i, " is outside the vocabulary [0, ", vocab_size, ")");
  }
}

}  // namespace krait::data
