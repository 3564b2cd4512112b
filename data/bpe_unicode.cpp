// data/bpe_unicode.cpp — UTF-8 decoding, character classes and NFC (see bpe_unicode.h).
#include "data/bpe_unicode.h"

#include <algorithm>
#include <array>
#include <vector>

namespace krait::data {
namespace {

struct ClassRange {
  char32_t first, last;
  uint8_t value;
};
struct CombiningRange {
  char32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  char32_t code;
  uint16_t offset;  // into kDecompositionPool
  uint8_t length;
};
struct Composition {
  char32_t first, second, composite;
};

#include "data/bpe_unicode_tables.inc"

// Hangul syllables compose and decompose by arithmetic (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

template <typename Range>
const Range* find_range(const Range* begin, const Range* end, char32_t code) {
  const Range* it = std::upper_bound(begin, end, code, [](char32_t c, const Range& r) { return c < r.first; });
  if (it == begin || (it - 1)->last < code) return nullptr;
  return it - 1;
}

// Classes of the Basic Multilingual Plane, one byte each, looked up directly; the rest by search.
const std::array<uint8_t, 0x10000>& bmp_classes() {
  static const std::array<uint8_t, 0x10000> table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (const ClassRange& r : kClassRanges) {
      for (char32_t c = r.first; c <= r.last && c < 0x10000; ++c) t[c] = r.value;
    }
    return t;
  }();
  return table;
}

uint8_t combining_class(char32_t code) {
  if (code < 0x300) return 0;
  const CombiningRange* r = find_range(std::begin(kCombiningRanges), std::end(kCombiningRanges), code);
  return r ? r->ccc : 0;
}

bool nfc_unstable(char32_t code) {
  return code >= 0x300 && find_range(std::begin(kNfcUnstableRanges), std::end(kNfcUnstableRanges), code);
}

void decompose(char32_t code, std::vector<char32_t>& out) {
  if (code >= kSBase && code < kSBase + kSCount) {
    const char32_t s = code - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), code,
                                    [](const Decomposition& d, char32_t c) { return d.code < c; });
  if (it == std::end(kDecompositions) || it->code != code) {
    out.push_back(code);
    return;
  }
  out.insert(out.end(), kDecompositionPool + it->offset, kDecompositionPool + it->offset + it->length);
}

// The primary composite of (first, second), or 0.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount)
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount)
    return first + (second - kTBase);
  const auto* it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::pair(first, second),
                                    [](const Composition& c, const std::pair<char32_t, char32_t>& key) {
                                      return std::pair(c.first, c.second) < key;
                                    });
  if (it == std::end(kCompositions) || it->first != first || it->second != second) return 0;
  return it->composite;
}

// NFC of one segment: a character NFC leaves alone followed by characters it may change.
void normalize_segment(const std::vector<char32_t>& segment, std::string& out) {
  std::vector<char32_t> chars;
  for (char32_t c : segment) decompose(c, chars);
  // Canonical ordering: a stable sort of each run of nonzero combining classes.
  for (size_t i = 1; i < chars.size(); ++i) {
    const uint8_t ccc = combining_class(chars[i]);
    if (ccc == 0) continue;
    for (size_t j = i; j > 0; --j) {
      const uint8_t prev = combining_class(chars[j - 1]);
      if (prev == 0 || prev <= ccc) break;
      std::swap(chars[j - 1], chars[j]);
    }
  }
  // Canonical composition: a character joins the last starter unless a character between them has
  // class 0 or a class >= its own (UAX #15). Before the first starter nothing composes (class 256).
  std::vector<char32_t> composed{chars[0]};
  size_t starter = 0;
  int last_ccc = combining_class(chars[0]) == 0 ? 0 : 256;
  for (size_t i = 1; i < chars.size(); ++i) {
    const char32_t c = chars[i];
    const int ccc = combining_class(c);
    if (last_ccc < ccc || last_ccc == 0) {
      if (const char32_t composite = compose(composed[starter], c); composite != 0) {
        composed[starter] = composite;
        continue;
      }
    }
    if (ccc == 0) starter = composed.size();
    last_ccc = ccc;
    composed.push_back(c);
  }
  for (char32_t c : composed) append_utf8(out, c);
}

}  // namespace

Utf8Char decode_utf8(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(at);
  if (b0 < 0x80) return {b0, 1};
  constexpr Utf8Char kInvalid{Utf8Char::kInvalidCode, 1};
  uint32_t length;
  char32_t code, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2, code = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3, code = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4, code = b0 & 0x07, min = 0x10000;
  } else {
    return kInvalid;
  }
  if (at + length > text.size()) return kInvalid;
  for (uint32_t k = 1; k < length; ++k) {
    const unsigned char b = byte(at + k);
    if ((b & 0xC0) != 0x80) return kInvalid;
    code = (code << 6) | (b & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code < 0xE000)) return kInvalid;
  return {code, length};
}

CharClass char_class(char32_t code) {
  if (code < 0x10000) return static_cast<CharClass>(bmp_classes()[code]);
  const ClassRange* r = find_range(std::begin(kClassRanges), std::end(kClassRanges), code);
  return r ? static_cast<CharClass>(r->value) : CharClass::Other;
}

std::string to_nfc(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    // Find the next character NFC may change; everything before it stays as it is.
    size_t i = at, last_starter = std::string_view::npos;
    while (i < text.size()) {
      const Utf8Char c = decode_utf8(text, i);
      if (c.code != Utf8Char::kInvalidCode && nfc_unstable(c.code)) break;
      last_starter = c.code == Utf8Char::kInvalidCode ? std::string_view::npos : i;
      i += c.length;
    }
    if (i == text.size()) {
      out.append(text.substr(at));
      break;
    }
    // The stable starter just before it may compose with it, so the segment starts there.
    const size_t segment_start = last_starter != std::string_view::npos ? last_starter : i;
    out.append(text.substr(at, segment_start - at));
    std::vector<char32_t> segment;
    size_t j = segment_start;
    while (j < text.size()) {
      const Utf8Char c = decode_utf8(text, j);
      if (c.code == Utf8Char::kInvalidCode || (j > segment_start && !nfc_unstable(c.code))) break;
      segment.push_back(c.code);
      j += c.length;
    }
    normalize_segment(segment, out);
    at = j;
  }
  return out;
}

const char* unicode_version() { return kUnicodeVersion; }

}  // namespace krait::data
