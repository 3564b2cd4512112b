// tests/plot/test_png.cpp — the PNG writer: CRC-32 and Adler-32 check values, zlib streams that
// decode (tests/plot/inflate.h) to their input, and a PNG file's signature, chunks, CRCs and pixels.
#include <gtest/gtest.h>

#include <string>

#include "common/rng.h"
#include "tests/plot/inflate.h"
#include "tools/plot/png.h"

namespace krait::plot {
namespace {

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint8_t(s[at + 3]);
}

TEST(Png, ChecksumsMatchTheirCheckValues) {
  const auto digits = bytes_of("123456789");
  EXPECT_EQ(crc32(digits.data(), digits.size()), 0xcbf43926u);
  EXPECT_EQ(crc32(digits.data() + 4, 5, crc32(digits.data(), 4)), 0xcbf43926u);  // continued
  const auto wiki = bytes_of("Wikipedia");
  EXPECT_EQ(adler32(wiki.data(), wiki.size()), 0x11e60398u);
  EXPECT_EQ(adler32(nullptr, 0), 1u);
}

TEST(Png, ZlibStreamsDecodeToTheirInput) {
  Rng rng(3);
  std::vector<uint8_t> random(5000), runs, rows;
  for (auto& b : random) b = static_cast<uint8_t>(rng.uniform() * 256);
  for (int i = 0; i < 70000; ++i) runs.push_back(static_cast<uint8_t>(i / 1000 % 3 == 0 ? 255 : i % 7));
  for (int i = 0; i < 40000; ++i) rows.push_back(static_cast<uint8_t>((i % 3001) * 7 % 251));  // repeats 3001 back
  for (const auto& data : {std::vector<uint8_t>{}, bytes_of("a"), bytes_of("abcabcabcabcabcabc"), random, runs, rows}) {
    const auto stream = zlib_compress(data);
    EXPECT_EQ(testing::inflate(stream), data);
    if (data.size() > 10000) {
      EXPECT_LT(stream.size(), data.size() / 10);  // runs and repeated rows compress
    }
  }
}

TEST(Png, FileHasSignatureChunksWithValidCrcsAndThePixels) {
  Image image(7, 3, {255, 255, 255});
  image.blend(2, 1, {10, 20, 30}, 1);
  image.blend(6, 2, {200, 0, 100}, 1);
  const std::string png = encode_png(image);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::vector<std::string> types;
  std::vector<uint8_t> idat;
  for (size_t at = 8; at < png.size();) {
    ASSERT_LE(at + 12, png.size());
    const uint32_t length = be32(png, at);
    ASSERT_LE(at + 12 + length, png.size());
    const std::string type = png.substr(at + 4, 4);
    const auto* typed = reinterpret_cast<const uint8_t*>(png.data() + at + 4);
    EXPECT_EQ(be32(png, at + 8 + length), crc32(typed, length + 4)) << type;
    if (type == "IHDR") {
      ASSERT_EQ(length, 13u);
      EXPECT_EQ(be32(png, at + 8), 7u);
      EXPECT_EQ(be32(png, at + 12), 3u);
      EXPECT_EQ(png.substr(at + 16, 5), std::string("\x08\x02\x00\x00\x00", 5));
    }
    if (type == "IDAT") idat.insert(idat.end(), typed + 4, typed + 4 + length);
    types.push_back(type);
    at += 12 + length;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  const auto scanlines = testing::inflate(idat);
  ASSERT_EQ(scanlines.size(), 3u * (1 + 7 * 3));
  for (int y = 0; y < 3; ++y) {
    EXPECT_EQ(scanlines[y * 22], 0) << "filter type of row " << y;
    for (int x = 0; x < 7; ++x) {
      const Rgb pixel = image.at(x, y);
      const size_t i = y * 22 + 1 + x * 3;
      EXPECT_EQ((Rgb{scanlines[i], scanlines[i + 1], scanlines[i + 2]}), pixel) << x << "," << y;
    }
  }
  EXPECT_EQ(image.at(2, 1), (Rgb{10, 20, 30}));
}

}  // namespace
}  // namespace krait::plot
