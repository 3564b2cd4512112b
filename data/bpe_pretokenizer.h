// data/bpe_pretokenizer.h — the pre-tokenizer regexes of byte-level BPE tokenizers, matched by hand:
// a scanner over Unicode character classes (data/bpe_unicode.h) that cuts text into the same pieces
// as the regex would, each then encoded by BPE on its own. Two patterns are known:
//
//   GPT-2 (also GPT-NeoX, RoBERTa; Hugging Face's ByteLevel with use_regex):
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama-3 (also GPT-4's cl100k_base):
//     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Every character falls into some alternative, so the pieces cover the text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace krait::data {

enum class SplitPattern { Gpt2, Llama3 };

// The pattern whose regex is exactly `regex` (as written in a tokenizer.json), or nullopt.
std::optional<SplitPattern> split_pattern_of(std::string_view regex);
std::string_view split_pattern_regex(SplitPattern pattern);
const char* split_pattern_name(SplitPattern pattern);  // "gpt2", "llama3"

// The end of the piece that starts at `at` (< text.size()): where the pattern's first match at `at`
// ends. Invalid UTF-8 bytes count as characters of class Other.
size_t piece_end(SplitPattern pattern, std::string_view text, size_t at);

}  // namespace krait::data
