// tests/plot/inflate.h — a small zlib (RFC 1950) decoder for the tests: stored and fixed-Huffman
// deflate blocks (RFC 1951) only, the kinds png.cpp writes; it checks the header and the Adler-32.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tools/plot/png.h"

namespace krait::plot::testing {

class Inflater {
 public:
  explicit Inflater(const std::vector<uint8_t>& stream) : in_(stream) {}

  std::vector<uint8_t> run() {
    if (in_.size() < 6 || (in_[0] & 0x0f) != 8 || ((in_[0] << 8) | in_[1]) % 31 != 0)
      throw std::runtime_error("bad zlib header");
    position_ = 16;
    for (bool last = false; !last;) {
      last = bits(1);
      const uint32_t type = bits(2);
      if (type == 0) stored();
      else if (type == 1) fixed();
      else throw std::runtime_error("unsupported block type");
    }
    const size_t end = (position_ + 7) / 8;
    if (end + 4 != in_.size()) throw std::runtime_error("trailing bytes after the Adler-32");
    const uint32_t adler = (uint32_t(in_[end]) << 24) | (in_[end + 1] << 16) | (in_[end + 2] << 8) | in_[end + 3];
    if (adler != adler32(out_.data(), out_.size())) throw std::runtime_error("Adler-32 mismatch");
    return out_;
  }

 private:
  uint32_t bits(int count) {
    uint32_t value = 0;
    for (int i = 0; i < count; ++i, ++position_) {
      if (position_ / 8 >= in_.size()) throw std::runtime_error("stream ends early");
      value |= ((in_[position_ / 8] >> (position_ % 8)) & 1u) << i;
    }
    return value;
  }
  uint32_t huffman(int count) {  // count more bits appended to a code read most significant first
    uint32_t value = 0;
    for (int i = 0; i < count; ++i) value = (value << 1) | bits(1);
    return value;
  }
  void stored() {
    position_ = (position_ + 7) / 8 * 8;
    const uint32_t length = bits(16), complement = bits(16);
    if ((length ^ 0xffff) != complement) throw std::runtime_error("stored block length check");
    for (uint32_t i = 0; i < length; ++i) out_.push_back(static_cast<uint8_t>(bits(8)));
  }
  int literal() {
    uint32_t code = huffman(7);
    if (code <= 0x17) return 256 + code;
    code = (code << 1) | huffman(1);
    if (code >= 0x30 && code <= 0xbf) return code - 0x30;
    if (code >= 0xc0 && code <= 0xc7) return 280 + code - 0xc0;
    code = (code << 1) | huffman(1);
    if (code >= 0x190 && code <= 0x1ff) return 144 + code - 0x190;
    throw std::runtime_error("bad literal code");
  }
  void fixed() {
    static const int kLengthBase[] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int kLengthExtra[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const int kDistanceBase[] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                        193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    for (;;) {
      const int symbol = literal();
      if (symbol < 256) out_.push_back(static_cast<uint8_t>(symbol));
      else if (symbol == 256) return;
      else {
        const int l = symbol - 257;
        if (l > 28) throw std::runtime_error("bad length code");
        const int length = kLengthBase[l] + static_cast<int>(bits(kLengthExtra[l]));
        const int d = static_cast<int>(huffman(5));
        if (d > 29) throw std::runtime_error("bad distance code");
        const int distance = kDistanceBase[d] + static_cast<int>(bits(d < 4 ? 0 : d / 2 - 1));
        if (static_cast<size_t>(distance) > out_.size()) throw std::runtime_error("distance before the start");
        for (int i = 0; i < length; ++i) out_.push_back(out_[out_.size() - distance]);
      }
    }
  }

  const std::vector<uint8_t>& in_;
  std::vector<uint8_t> out_;
  size_t position_ = 0;
};

inline std::vector<uint8_t> inflate(const std::vector<uint8_t>& stream) { return Inflater(stream).run(); }

}  // namespace krait::plot::testing
