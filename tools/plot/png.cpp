// tools/plot/png.cpp — crc32, adler32, zlib_compress and encode_png (see png.h).
#include "tools/plot/png.h"

#include <algorithm>
#include <array>

namespace krait::plot {
namespace {

constexpr int kMinMatch = 3, kMaxMatch = 258, kWindow = 32768, kHashBits = 15, kMaxChain = 64;

// Bits packed into bytes from the least significant bit up (RFC 1951, 3.1.1).
class BitWriter {
 public:
  // The `count` low bits of `value`, least significant first (header fields and extra bits).
  void bits(uint32_t value, int count) {
    for (int i = 0; i < count; ++i) bit((value >> i) & 1);
  }
  // A Huffman code of `length` bits, most significant first.
  void code(uint32_t value, int length) {
    for (int i = length - 1; i >= 0; --i) bit((value >> i) & 1);
  }
  std::vector<uint8_t> finish() {
    if (used_) bytes_.push_back(current_);
    used_ = 0, current_ = 0;
    return std::move(bytes_);
  }

 private:
  void bit(uint32_t b) {
    current_ |= static_cast<uint8_t>(b << used_);
    if (++used_ == 8) bytes_.push_back(current_), used_ = 0, current_ = 0;
  }
  std::vector<uint8_t> bytes_;
  uint8_t current_ = 0;
  int used_ = 0;
};

// The fixed literal/length code of symbol 0..287 (RFC 1951, 3.2.6).
void literal_code(BitWriter& out, int symbol) {
  if (symbol < 144) out.code(0x30 + symbol, 8);
  else if (symbol < 256) out.code(0x190 + symbol - 144, 9);
  else if (symbol < 280) out.code(symbol - 256, 7);
  else out.code(0xc0 + symbol - 280, 8);
}

// Base values and extra-bit counts of the length codes 257..285 and the distance codes 0..29.
struct CodeTable {
  std::array<int, 29> length_base{}, length_extra{};
  std::array<int, 30> distance_base{}, distance_extra{};
  CodeTable() {
    for (int i = 0; i < 28; ++i) {
      length_extra[i] = i < 8 ? 0 : (i - 4) / 4;
      length_base[i] = i == 0 ? 3 : length_base[i - 1] + (1 << length_extra[i - 1]);
    }
    length_base[28] = 258;
    for (int i = 0; i < 30; ++i) {
      distance_extra[i] = i < 4 ? 0 : i / 2 - 1;
      distance_base[i] = i == 0 ? 1 : distance_base[i - 1] + (1 << distance_extra[i - 1]);
    }
  }
};

void match_codes(BitWriter& out, const CodeTable& table, int length, int distance) {
  const int l = static_cast<int>(std::upper_bound(table.length_base.begin(), table.length_base.end(), length) -
                                 table.length_base.begin()) - 1;
  literal_code(out, 257 + l);
  out.bits(length - table.length_base[l], table.length_extra[l]);
  const int d = static_cast<int>(std::upper_bound(table.distance_base.begin(), table.distance_base.end(), distance) -
                                 table.distance_base.begin()) - 1;
  out.code(d, 5);
  out.bits(distance - table.distance_base[d], table.distance_extra[d]);
}

uint32_t hash3(const uint8_t* p) {
  return ((p[0] << 10) ^ (p[1] << 5) ^ p[2]) & ((1u << kHashBits) - 1);
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void chunk(std::string& out, const char* type, const uint8_t* data, size_t size) {
  put32(out, static_cast<uint32_t>(size));
  const size_t start = out.size();
  out.append(type, 4);
  out.append(reinterpret_cast<const char*>(data), size);
  put32(out, crc32(reinterpret_cast<const uint8_t*>(out.data() + start), size + 4));
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const auto kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[n] = c;
    }
    return table;
  }();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler) {
  constexpr uint32_t kBase = 65521;
  uint32_t a = adler & 0xffff, b = adler >> 16;
  for (size_t i = 0; i < size; ++i) {
    a = (a + data[i]) % kBase;
    b = (b + a) % kBase;
  }
  return (b << 16) | a;
}

std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& data) {
  static const CodeTable kTable;
  BitWriter out;
  out.bits(0x78, 8);  // CM 8 (deflate), CINFO 7 (32 KiB window)
  out.bits(0x01, 8);  // FCHECK: 0x7801 is a multiple of 31; no dictionary, fastest level
  out.bits(1, 1);     // BFINAL
  out.bits(1, 2);     // BTYPE 01: fixed Huffman codes
  std::vector<int> head(1 << kHashBits, -1), previous(data.size(), -1);
  const int n = static_cast<int>(data.size());
  auto insert = [&](int i) {
    if (i + kMinMatch > n) return;
    const uint32_t h = hash3(&data[i]);
    previous[i] = head[h];
    head[h] = i;
  };
  for (int i = 0; i < n;) {
    int best = 0, best_distance = 0;
    if (i + kMinMatch <= n) {
      const int limit = std::min(kMaxMatch, n - i);
      int chain = 0;
      for (int j = head[hash3(&data[i])]; j >= 0 && i - j <= kWindow && chain < kMaxChain; j = previous[j], ++chain) {
        int length = 0;
        while (length < limit && data[j + length] == data[i + length]) ++length;
        if (length > best) best = length, best_distance = i - j;
        if (best == limit) break;
      }
    }
    if (best >= kMinMatch) {
      match_codes(out, kTable, best, best_distance);
      for (int k = 0; k < best; ++k) insert(i + k);
      i += best;
    } else {
      literal_code(out, data[i]);
      insert(i);
      ++i;
    }
  }
  literal_code(out, 256);  // end of block
  std::vector<uint8_t> bytes = out.finish();
  const uint32_t check = adler32(data.data(), data.size());
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>((check >> shift) & 0xff));
  return bytes;
}

std::string encode_png(const Image& image) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string header;
  put32(header, static_cast<uint32_t>(image.width));
  put32(header, static_cast<uint32_t>(image.height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace
  chunk(png, "IHDR", reinterpret_cast<const uint8_t*>(header.data()), header.size());
  const size_t row = static_cast<size_t>(image.width) * 3;
  std::vector<uint8_t> scanlines;
  scanlines.reserve((row + 1) * image.height);
  for (int y = 0; y < image.height; ++y) {
    scanlines.push_back(0);  // filter type 0: none
    scanlines.insert(scanlines.end(), image.rgb.begin() + y * row, image.rgb.begin() + (y + 1) * row);
  }
  const std::vector<uint8_t> compressed = zlib_compress(scanlines);
  chunk(png, "IDAT", compressed.data(), compressed.size());
  chunk(png, "IEND", nullptr, 0);
  return png;
}

}  // namespace krait::plot
