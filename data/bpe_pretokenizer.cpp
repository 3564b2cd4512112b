// data/bpe_pretokenizer.cpp — the GPT-2 and Llama-3 pre-tokenizer patterns as scanners (see
// bpe_pretokenizer.h). Each alternative of a regex is tried in order at the piece's start, as a
// backtracking regex engine tries them; the comments quote the alternative.
#include "data/bpe_pretokenizer.h"

#include <array>

#include "data/bpe_unicode.h"

namespace krait::data {
namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Char {
  char32_t code;
  uint32_t length;
  CharClass cls;
};

// The text's characters with their classes; ASCII without a table lookup.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool at_end(size_t at) const { return at >= text_.size(); }

  Char get(size_t at) const {
    const unsigned char b = static_cast<unsigned char>(text_[at]);
    if (b < 0x80) return {b, 1, kAscii[b]};
    const Utf8Char c = decode_utf8(text_, at);
    return {c.code, c.length, c.code == Utf8Char::kInvalidCode ? CharClass::Other : char_class(c.code)};
  }

  // The end of the run of characters of class `cls` starting at `at`.
  size_t run(size_t at, CharClass cls) const {
    while (!at_end(at)) {
      const Char c = get(at);
      if (c.cls != cls) break;
      at += c.length;
    }
    return at;
  }

  // 's|'t|'re|'ve|'m|'ll|'d at `at` (text_[at] is an apostrophe): the match's end, or 0. With
  // ignore_case the letters match either case, and s also matches U+017F (long s), which case-folds
  // to it.
  size_t contraction(size_t at, bool ignore_case) const {
    const auto letter = [&](size_t i, char lower) -> size_t {  // bytes of a match at i, or 0
      if (at_end(i)) return 0;
      const char c = text_[i];
      if (c == lower) return 1;
      if (!ignore_case) return 0;
      if (c == lower - 'a' + 'A') return 1;
      if (lower == 's' && text_.substr(i, 2) == "\xC5\xBF") return 2;
      return 0;
    };
    const size_t i = at + 1;
    for (const char single : {'s', 't', 'm', 'd'}) {
      if (const size_t n = letter(i, single)) return i + n;
    }
    for (const std::string_view pair : {"re", "ve", "ll"}) {
      if (const size_t n = letter(i, pair[0])) {
        if (const size_t m = letter(i + n, pair[1])) return i + n + m;
      }
    }
    return 0;
  }

  // \s+(?!\S)|\s+ at `at` (a space character): the whole run if it ends the text, else the run but
  // its last character (which stays for the next piece), or one character when that is all.
  size_t spaces(size_t at) const {
    size_t end = at, last = at;
    while (!at_end(end)) {
      const Char c = get(end);
      if (c.cls != CharClass::Space) break;
      last = end;
      end += c.length;
    }
    if (at_end(end) || last == at) return end;
    return last;
  }

  // \s*[\r\n]+ at `at` (a space character): through the last \r or \n of the run, or 0 when the run
  // has none.
  size_t spaces_to_newline(size_t at) const {
    size_t end = 0;
    for (size_t i = at; !at_end(i);) {
      const Char c = get(i);
      if (c.cls != CharClass::Space) break;
      i += c.length;
      if (c.code == '\r' || c.code == '\n') end = i;
    }
    return end;
  }

 private:
  static constexpr auto kAscii = [] {
    std::array<CharClass, 128> t{};
    for (int c = 0; c < 128; ++c) {
      t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? CharClass::Letter
             : c >= '0' && c <= '9'                            ? CharClass::Number
             : (c >= 9 && c <= 13) || c == ' '                 ? CharClass::Space
                                                               : CharClass::Other;
    }
    return t;
  }();

  std::string_view text_;
};

size_t gpt2_piece_end(const Scanner& s, size_t at) {
  const Char c0 = s.get(at);
  // 's|'t|'re|'ve|'m|'ll|'d
  if (c0.code == '\'') {
    if (const size_t end = s.contraction(at, false)) return end;
  }
  // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': an optional space, then a run of one class.
  size_t start = at;
  CharClass cls = c0.cls;
  if (c0.code == ' ' && !s.at_end(at + 1)) {
    start = at + 1;
    cls = s.get(start).cls;
  }
  if (cls != CharClass::Space) return s.run(start, cls);
  // \s+(?!\S)|\s+
  return s.spaces(at);
}

size_t llama3_piece_end(const Scanner& s, size_t at) {
  const Char c0 = s.get(at);
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c0.code == '\'') {
    if (const size_t end = s.contraction(at, true)) return end;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.cls == CharClass::Letter) return s.run(at, CharClass::Letter);
  const bool newline = c0.code == '\r' || c0.code == '\n';
  if (!newline && c0.cls != CharClass::Number && !s.at_end(at + c0.length) &&
      s.get(at + c0.length).cls == CharClass::Letter)
    return s.run(at + c0.length, CharClass::Letter);
  // \p{N}{1,3}
  if (c0.cls == CharClass::Number) {
    size_t end = at + c0.length;
    for (int n = 1; n < 3 && !s.at_end(end) && s.get(end).cls == CharClass::Number; ++n) end += s.get(end).length;
    return end;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t start = at;
  if (c0.code == ' ' && !s.at_end(at + 1) && s.get(at + 1).cls == CharClass::Other) start = at + 1;
  if (s.get(start).cls == CharClass::Other) {
    size_t end = s.run(start, CharClass::Other);
    while (!s.at_end(end) && (s.get(end).code == '\r' || s.get(end).code == '\n')) ++end;
    return end;
  }
  // \s*[\r\n]+
  if (const size_t end = s.spaces_to_newline(at)) return end;
  // \s+(?!\S)|\s+
  return s.spaces(at);
}

}  // namespace

std::optional<SplitPattern> split_pattern_of(std::string_view regex) {
  if (regex == kGpt2Regex) return SplitPattern::Gpt2;
  if (regex == kLlama3Regex) return SplitPattern::Llama3;
  return std::nullopt;
}

std::string_view split_pattern_regex(SplitPattern pattern) {
  return pattern == SplitPattern::Gpt2 ? kGpt2Regex : kLlama3Regex;
}

const char* split_pattern_name(SplitPattern pattern) { return pattern == SplitPattern::Gpt2 ? "gpt2" : "llama3"; }

size_t piece_end(SplitPattern pattern, std::string_view text, size_t at) {
  const Scanner scanner(text);
  return pattern == SplitPattern::Gpt2 ? gpt2_piece_end(scanner, at) : llama3_piece_end(scanner, at);
}

}  // namespace krait::data
