// data/token_source.h — TokenSource, the read-only view of a tokenized corpus that the batchers draw
// from; open_tokens and write_tokens, which pick the file format by extension; check_vocab_fits.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace krait::data {

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  virtual uint64_t size() const = 0;        // number of tokens
  virtual uint32_t vocab_size() const = 0;  // every id is < vocab_size
  // Copies tokens [offset, offset + count) into out; throws if the range passes the end.
  virtual void read(uint64_t offset, uint64_t count, int32_t* out) const = 0;
  virtual const std::string& path() const = 0;
};

// ".h5" / ".hdf5" open as HDF5 (a /tokens dataset), anything else as a binary token shard.
// Both validate the whole file on open, ids included.
std::unique_ptr<TokenSource> open_tokens(const std::string& path);

// Writes ids in the format the extension names, in 2-byte ids when vocab_size allows, else 4.
void write_tokens(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size);

// Throws unless every id the source may hold is a valid index into a model's embedding table.
void check_vocab_fits(const TokenSource& source, uint32_t model_vocab_size);

}  // namespace krait::data
