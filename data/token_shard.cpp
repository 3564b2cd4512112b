// data/token_shard.cpp — writing and memory-mapping binary token shards.
#include "data/token_shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "data/token_ids.h"

namespace krait::data {

// The header is copied field by field and the ids are read in place from the mapping, both in the
// host's byte order, which the format fixes as little-endian.
static_assert(std::endian::native == std::endian::little, "token shards assume a little-endian host");

namespace {

// Header field offsets, matching the layout in token_shard.h.
constexpr size_t kVersionAt = 8, kWidthAt = 12, kCountAt = 16, kVocabAt = 24, kReservedAt = 28;

template <typename T>
T load(const unsigned char* bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes + at, sizeof(T));
  return value;
}

template <typename T>
void store(unsigned char* bytes, size_t at, T value) {
  std::memcpy(bytes + at, &value, sizeof(T));
}

std::string printable(const unsigned char* bytes, size_t n) {
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] >= 0x20 && bytes[i] < 0x7f) {
      os << static_cast<char>(bytes[i]);
    } else {
      static const char* hex = "0123456789abcdef";
      os << "\\x" << hex[bytes[i] >> 4] << hex[bytes[i] & 15];
    }
  }
  return os.str();
}

template <typename Stored>
void write_ids_as(std::ofstream& file, std::span<const int32_t> ids) {
  std::vector<Stored> chunk;
  constexpr size_t kChunk = 1 << 16;
  for (size_t begin = 0; begin < ids.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, ids.size() - begin);
    chunk.assign(ids.begin() + begin, ids.begin() + begin + n);
    file.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(n * sizeof(Stored)));
  }
}

template <typename Stored>
void copy_ids_from(const unsigned char* ids, uint64_t offset, uint64_t count, int32_t* out) {
  const Stored* first = reinterpret_cast<const Stored*>(ids) + offset;
  std::copy(first, first + count, out);
}

}  // namespace

void write_token_shard(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size,
                       uint32_t bytes_per_token) {
  check_vocab_size(path, vocab_size);
  check_bytes_per_token(path, bytes_per_token, vocab_size);
  check_ids_below(path, ids.data(), ids.size(), vocab_size);

  unsigned char header[kTokenShardHeaderBytes] = {};
  std::memcpy(header, kTokenShardMagic, sizeof(kTokenShardMagic));
  store<uint32_t>(header, kVersionAt, kTokenShardVersion);
  store<uint32_t>(header, kWidthAt, bytes_per_token);
  store<uint64_t>(header, kCountAt, ids.size());
  store<uint32_t>(header, kVocabAt, vocab_size);
  store<uint32_t>(header, kReservedAt, 0);

  const std::string temp = path + ".tmp";
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    KRAIT_CHECK(file, temp, ": cannot open for writing: ", std::strerror(errno));
    file.write(reinterpret_cast<const char*>(header), sizeof(header));
    if (bytes_per_token == 2) {
      write_ids_as<uint16_t>(file, ids);
    } else {
      write_ids_as<uint32_t>(file, ids);
    }
    file.close();
    if (!file) {
      std::filesystem::remove(temp);
      KRAIT_FAIL(temp, ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    KRAIT_FAIL("cannot rename ", temp, " to ", path, ": ", ec.message());
  }
}

TokenShardFile::TokenShardFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  KRAIT_CHECK(fd >= 0, path, ": cannot open token shard: ", std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int err = errno;
    ::close(fd);
    KRAIT_FAIL(path, ": cannot stat: ", std::strerror(err));
  }
  const uint64_t file_bytes = static_cast<uint64_t>(info.st_size);
  if (file_bytes < kTokenShardHeaderBytes) {
    ::close(fd);
    KRAIT_FAIL(path, ": file is ", file_bytes, " bytes, shorter than the ", kTokenShardHeaderBytes,
               "-byte token shard header");
  }
  map_bytes_ = file_bytes;
  map_ = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    KRAIT_FAIL(path, ": mmap of ", map_bytes_, " bytes failed: ", std::strerror(map_err));
  }

  // From here a failed check must unmap, which the destructor would not do for a half-built object.
  try {
    const auto* bytes = static_cast<const unsigned char*>(map_);
    KRAIT_CHECK(std::memcmp(bytes, kTokenShardMagic, sizeof(kTokenShardMagic)) == 0, path,
                ": not a Krait token shard: expected magic \"KRAITTOK\", found \"",
                printable(bytes, sizeof(kTokenShardMagic)), "\"");
    const uint32_t version = load<uint32_t>(bytes, kVersionAt);
    KRAIT_CHECK(version == kTokenShardVersion, path, ": unknown token shard version ", version,
                " (this build reads version ", kTokenShardVersion, ")");
    bytes_per_token_ = load<uint32_t>(bytes, kWidthAt);
    count_ = load<uint64_t>(bytes, kCountAt);
    vocab_size_ = load<uint32_t>(bytes, kVocabAt);
    const uint32_t reserved = load<uint32_t>(bytes, kReservedAt);
    check_bytes_per_token(path, bytes_per_token_, vocab_size_);
    check_vocab_size(path, vocab_size_);
    KRAIT_CHECK(reserved == 0, path, ": reserved header field must be 0, found ", reserved);

    const uint64_t max_count = (std::numeric_limits<uint64_t>::max() - kTokenShardHeaderBytes) / bytes_per_token_;
    KRAIT_CHECK(count_ <= max_count, path, ": header token count ", count_, " is impossibly large");
    const uint64_t expected = kTokenShardHeaderBytes + count_ * bytes_per_token_;
    KRAIT_CHECK(file_bytes >= expected, path, ": truncated: expected ", expected, " bytes, found ", file_bytes);
    KRAIT_CHECK(file_bytes == expected, path, ": trailing data: expected ", expected, " bytes, found ",
                file_bytes);

    ids_ = bytes + kTokenShardHeaderBytes;
    if (bytes_per_token_ == 2) {
      check_ids_below(path, reinterpret_cast<const uint16_t*>(ids_), count_, vocab_size_);
    } else {
      check_ids_below(path, reinterpret_cast<const uint32_t*>(ids_), count_, vocab_size_);
    }
  } catch (...) {
    ::munmap(map_, map_bytes_);
    throw;
  }
}

TokenShardFile::~TokenShardFile() { ::munmap(map_, map_bytes_); }

void TokenShardFile::read(uint64_t offset, uint64_t count, int32_t* out) const {
  KRAIT_CHECK(offset <= count_ && count <= count_ - offset, path_, ": read of ", count, " tokens at ", offset,
              " passes the end (", count_, " tokens)");
  if (bytes_per_token_ == 2) {
    copy_ids_from<uint16_t>(ids_, offset, count, out);
  } else {
    copy_ids_from<uint32_t>(ids_, offset, count, out);
  }
}

}  // namespace krait::data
