// data/bpe_unicode.h — the Unicode facts byte-level BPE needs, from a table generated out of Python's
// unicodedata (data/bpe_unicode_tables.inc; tools/unicode/gen_bpe_unicode_tables.py): UTF-8
// decoding that tolerates invalid bytes, the character classes the GPT-2 and Llama-3 pre-tokenizer
// patterns test (\p{L}, \p{N}, \s), and NFC normalization (GPT-NeoX's tokenizer normalizes to NFC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace krait::data {

// Space is the White_Space property (what \s matches in the reference regex engines), Letter the
// general categories L*, Number N*; everything else, marks included, is Other.
enum class CharClass : uint8_t { Other = 0, Letter = 1, Number = 2, Space = 3 };

// One character of UTF-8 text. A byte that does not start a valid, shortest-form UTF-8 sequence of a
// scalar value is a character of its own: code kInvalidCode, length 1, class Other.
struct Utf8Char {
  static constexpr char32_t kInvalidCode = 0x110000;
  char32_t code;
  uint32_t length;
};

// The character starting at text[at] (at < text.size()).
Utf8Char decode_utf8(std::string_view text, size_t at);
using krait::append_utf8;  // common/utf8.h

CharClass char_class(char32_t code);

// The text in Normalization Form C (canonical decomposition, reordering, composition). Invalid UTF-8
// bytes pass through unchanged, each a starter that nothing composes with.
std::string to_nfc(std::string_view text);

// The Unicode version of the tables ("14.0.0").
const char* unicode_version();

}  // namespace krait::data
