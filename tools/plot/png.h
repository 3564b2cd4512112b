// tools/plot/png.h — a self-contained PNG writer (RGB8, written from the PNG specification): CRC-32,
// Adler-32, a zlib stream (RFC 1950) of one fixed-Huffman deflate block (RFC 1951) with greedy
// LZ77 matching, and encode_png.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/plot/raster.h"

namespace krait::plot {

// CRC-32 (ISO 3309, reflected polynomial 0xedb88320), as PNG chunks carry it; `crc` continues an
// earlier value (start from 0).
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// Adler-32 (RFC 1950) of `data`, continuing `adler` (start from 1).
uint32_t adler32(const uint8_t* data, size_t size, uint32_t adler = 1);

// `data` as a zlib stream: header 0x78 0x01, one final deflate block with the fixed Huffman codes
// (literals and length/distance pairs from a 32 KiB window), the Adler-32 of `data`, big-endian.
std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& data);

// The image as a PNG file: signature, IHDR (8-bit RGB, not interlaced), one IDAT (rows with
// filter type 0, compressed by zlib_compress) and IEND.
std::string encode_png(const Image& image);

}  // namespace krait::plot
