// data/token_shard.h — the binary token shard: its 32-byte header, write_token_shard, and
// TokenShardFile, a TokenSource that memory-maps a shard instead of loading it.
//
// Layout (little-endian): "KRAITTOK" | u32 version = 1 | u32 bytes per token (2 or 4) |
// u64 token count | u32 vocab_size | u32 reserved = 0 | count ids of that width.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "data/token_source.h"

namespace krait::data {

inline constexpr char kTokenShardMagic[8] = {'K', 'R', 'A', 'I', 'T', 'T', 'O', 'K'};
inline constexpr uint32_t kTokenShardVersion = 1;
inline constexpr size_t kTokenShardHeaderBytes = 32;

// Writes path + ".tmp" and renames it over path, so a reader never sees a half-written shard.
void write_token_shard(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size,
                       uint32_t bytes_per_token);

class TokenShardFile : public TokenSource {
 public:
  explicit TokenShardFile(const std::string& path);  // maps and validates the file, ids included
  ~TokenShardFile() override;
  TokenShardFile(const TokenShardFile&) = delete;
  TokenShardFile& operator=(const TokenShardFile&) = delete;

  uint64_t size() const override { return count_; }
  uint32_t vocab_size() const override { return vocab_size_; }
  void read(uint64_t offset, uint64_t count, int32_t* out) const override;
  const std::string& path() const override { return path_; }

  uint32_t bytes_per_token() const { return bytes_per_token_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const unsigned char* ids_ = nullptr;  // the first id, just past the header
  uint64_t count_ = 0;
  uint32_t vocab_size_ = 0;
  uint32_t bytes_per_token_ = 0;
};

}  // namespace krait::data
