// data/bpe_tokenizer.cpp — BpeTokenizer (see bpe_tokenizer.h).
#include "data/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <queue>
#include <unordered_map>

#include "common/error.h"
#include "data/bpe_unicode.h"

namespace krait::data {
namespace {

constexpr uint32_t kNoRank = UINT32_MAX;
// Words up to this many bytes are merged by rescanning an array of pair ranks (fast for the short
// words of ordinary text); longer ones through a priority queue (n log n for a 10k-letter word).
constexpr size_t kHeapWordBytes = 64;
// Pieces up to this many bytes are cached per encode call; longer ones rarely repeat.
constexpr size_t kCachedWordBytes = 256;

const std::array<char32_t, 256>& byte_chars() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

// Open addressing from a pair of ids to the merge's rank and the merged token.
class MergeTable {
 public:
  struct Merge {
    uint32_t rank = kNoRank;
    int32_t merged = -1;
  };

  explicit MergeTable(size_t count) {
    size_t capacity = 16;
    while (capacity < 2 * count) capacity *= 2;
    keys_.assign(capacity, kEmpty);
    values_.resize(capacity);
    mask_ = capacity - 1;
  }

  void set(int32_t left, int32_t right, Merge merge) {
    const uint64_t key = pack(left, right);
    size_t i = slot(key);
    while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
    keys_[i] = key;
    values_[i] = merge;
  }

  Merge find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == kEmpty) return {};
    }
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;
  static uint64_t pack(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }

  std::vector<uint64_t> keys_;
  std::vector<Merge> values_;
  size_t mask_ = 0;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using WordIds = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Per encode call: the pieces seen so far and their ids.
struct WordCache {
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> words;  // offset, count
  std::vector<int32_t> ids;
};

}  // namespace

char32_t gpt2_byte_char(uint8_t b) { return byte_chars()[b]; }

int gpt2_char_byte(char32_t c) {
  static const std::unordered_map<char32_t, int> inverse = [] {
    std::unordered_map<char32_t, int> m;
    for (int b = 0; b < 256; ++b) m[byte_chars()[b]] = b;
    return m;
  }();
  const auto it = inverse.find(c);
  return it == inverse.end() ? -1 : it->second;
}

struct BpeTokenizer::Impl {
  std::string description;
  std::vector<std::string> token_bytes;  // by id
  std::vector<bool> is_token;            // by id
  std::array<int32_t, 256> byte_ids;     // the single-byte tokens, -1 where missing
  MergeTable merges{0};
  WordIds whole_words;  // raw bytes -> id, for ignore_merges
  std::vector<BpeAddedToken> added;  // longest first
  std::array<bool, 256> added_first_byte{};
  std::optional<SplitPattern> split;
  bool add_prefix_space = false, nfc = false, ignore_merges = false;
  int32_t end_of_text = -1;

  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void merge_long_word(std::vector<int32_t>& symbols) const;
  void encode_word(std::string_view word, WordCache& cache, std::vector<int32_t>& out) const;
  void encode_stretch(std::string_view text, WordCache& cache, std::vector<int32_t>& out) const;
  const BpeAddedToken* added_at(std::string_view text, size_t at, bool special_tokens) const;
};

// Decodes a vocabulary entry's byte-to-unicode spelling into its bytes, or nullopt when a character
// spells no byte.
static std::optional<std::string> spelled_bytes(std::string_view token) {
  std::string bytes;
  for (size_t i = 0; i < token.size();) {
    const Utf8Char c = decode_utf8(token, i);
    const int b = c.code == Utf8Char::kInvalidCode ? -1 : gpt2_char_byte(c.code);
    if (b < 0) return std::nullopt;
    bytes += static_cast<char>(b);
    i += c.length;
  }
  return bytes;
}

BpeTokenizer::BpeTokenizer(const BpeDefinition& d) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const std::string& where = d.source;
  KRAIT_CHECK(!d.vocab.empty(), where, ": the vocabulary is empty");
  int64_t max_id = -1;
  const auto check_id = [&](int64_t id, std::string_view token) {
    KRAIT_CHECK(id >= 0 && id <= kMaxId, where, ": token '", token, "' has id ", id, ", outside [0, ", kMaxId, "]");
    max_id = std::max(max_id, id);
  };
  for (const auto& [token, id] : d.vocab) check_id(id, token);
  for (const BpeAddedToken& t : d.added_tokens) {
    KRAIT_CHECK(!t.content.empty(), where, ": added token ", t.id, " is empty");
    check_id(t.id, t.content);
  }
  m.token_bytes.resize(max_id + 1);
  m.is_token.assign(max_id + 1, false);
  m.byte_ids.fill(-1);

  WordIds spelled;  // vocabulary spelling -> id, to resolve the merges
  for (const auto& [token, id] : d.vocab) {
    const std::optional<std::string> bytes = spelled_bytes(token);
    KRAIT_CHECK(bytes, where, ": vocabulary token '", token, "' (id ", id,
                ") has a character outside GPT-2's byte-to-unicode alphabet: not a byte-level BPE vocabulary");
    KRAIT_CHECK(!m.is_token[id], where, ": id ", id, " is given to two tokens, '", token, "' and an earlier one");
    KRAIT_CHECK(spelled.emplace(token, static_cast<int32_t>(id)).second, where, ": token '", token,
                "' appears twice");
    m.token_bytes[id] = *bytes;
    m.is_token[id] = true;
    if (bytes->size() == 1) m.byte_ids[static_cast<unsigned char>((*bytes)[0])] = static_cast<int32_t>(id);
    if (d.ignore_merges) m.whole_words.emplace(*bytes, static_cast<int32_t>(id));
  }

  m.merges = MergeTable(d.merges.size());
  for (size_t rank = 0; rank < d.merges.size(); ++rank) {
    const auto& [left, right] = d.merges[rank];
    const auto id_of = [&](const std::string& token) {
      const auto it = spelled.find(token);
      KRAIT_CHECK(it != spelled.end(), where, ": merge ", rank + 1, " ('", left, "' '", right, "'): '", token,
                  "' is not in the vocabulary");
      return it->second;
    };
    // A repeated pair takes its later rank, as in GPT-2's encoder.py and Hugging Face tokenizers.
    m.merges.set(id_of(left), id_of(right), {static_cast<uint32_t>(rank), id_of(left + right)});
  }

  // Added tokens decode to their text: through the byte-to-unicode alphabet when every character is
  // in it (as Hugging Face's ByteLevel decoder does), else as the text itself.
  for (const BpeAddedToken& t : d.added_tokens) {
    m.token_bytes[t.id] = spelled_bytes(t.content).value_or(t.content);
    m.is_token[t.id] = true;
    m.added.push_back(t);
    m.added_first_byte[static_cast<unsigned char>(t.content[0])] = true;
  }
  std::stable_sort(m.added.begin(), m.added.end(),
                   [](const BpeAddedToken& a, const BpeAddedToken& b) { return a.content.size() > b.content.size(); });
  for (const std::string_view name : {"<|endoftext|>", "<|end_of_text|>", "</s>"}) {
    const auto added = std::find_if(m.added.begin(), m.added.end(), [&](const auto& t) { return t.content == name; });
    const auto vocab = spelled.find(name);
    if (added != m.added.end()) m.end_of_text = static_cast<int32_t>(added->id);
    else if (vocab != spelled.end()) m.end_of_text = vocab->second;
    if (m.end_of_text >= 0) break;
  }

  m.split = d.split;
  m.add_prefix_space = d.add_prefix_space;
  m.nfc = d.nfc;
  m.ignore_merges = d.ignore_merges;
  m.description = "byte-level BPE " + where + ": " + std::to_string(d.vocab.size()) + " tokens + " +
                  std::to_string(d.added_tokens.size()) + " added, " + std::to_string(d.merges.size()) +
                  " merges, pre-tokenizer " + (d.split ? split_pattern_name(*d.split) : "none") +
                  (d.nfc ? ", NFC" : "") + (d.add_prefix_space ? ", prefix space" : "") +
                  (d.ignore_merges ? ", ignore_merges" : "") + "; vocab_size " + std::to_string(max_id + 1);
}

BpeTokenizer::~BpeTokenizer() = default;
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;

void BpeTokenizer::Impl::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<int32_t> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto byte = static_cast<unsigned char>(word[i]);
    const int32_t id = byte_ids[byte];
    if (id < 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", byte);
      KRAIT_FAIL("BPE encode: the vocabulary has no token for byte ", hex, " (", description,
                 "); is the text valid UTF-8 there?");
    }
    symbols[i] = id;
  }
  if (word.size() > kHeapWordBytes) {
    merge_long_word(symbols);
  } else {
    // ranks[i]: the rank of merging symbols i and i + 1.
    std::vector<MergeTable::Merge> pairs(symbols.size() > 0 ? symbols.size() - 1 : 0);
    for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[i] = merges.find(symbols[i], symbols[i + 1]);
    while (!pairs.empty()) {
      size_t best = 0;
      for (size_t i = 1; i < pairs.size(); ++i) {
        if (pairs[i].rank < pairs[best].rank) best = i;
      }
      if (pairs[best].rank == kNoRank) break;
      symbols[best] = pairs[best].merged;
      symbols.erase(symbols.begin() + best + 1);
      pairs.erase(pairs.begin() + best);
      if (best > 0) pairs[best - 1] = merges.find(symbols[best - 1], symbols[best]);
      if (best < pairs.size()) pairs[best] = merges.find(symbols[best], symbols[best + 1]);
    }
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

// The same merges in the same order through a queue of candidate pairs by (rank, position); a pair
// whose symbols have changed since it was queued is skipped when it comes up.
void BpeTokenizer::Impl::merge_long_word(std::vector<int32_t>& symbols) const {
  const size_t n = symbols.size();
  std::vector<size_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1;  // i - 1 wraps at 0: "none"
  struct Candidate {
    uint32_t rank;
    size_t left;
    int32_t left_id, right_id, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](size_t left) {
    if (left >= n || next[left] >= n) return;
    const MergeTable::Merge m = merges.find(symbols[left], symbols[next[left]]);
    if (m.rank != kNoRank) queue.push({m.rank, left, symbols[left], symbols[next[left]], m.merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const size_t right = next[c.left];
    if (!alive[c.left] || right >= n || symbols[c.left] != c.left_id || symbols[right] != c.right_id) continue;
    symbols[c.left] = c.merged;
    alive[right] = false;
    next[c.left] = next[right];
    if (next[right] < n) prev[next[right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (alive[i]) symbols[kept++] = symbols[i];
  }
  symbols.resize(kept);
}

void BpeTokenizer::Impl::encode_word(std::string_view word, WordCache& cache, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    const int32_t id = byte_ids[static_cast<unsigned char>(word[0])];
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (ignore_merges) {
    if (const auto it = whole_words.find(word); it != whole_words.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (word.size() > kCachedWordBytes) {
    merge_word(word, out);
    return;
  }
  if (const auto it = cache.words.find(word); it != cache.words.end()) {
    const auto [offset, count] = it->second;
    out.insert(out.end(), cache.ids.begin() + offset, cache.ids.begin() + offset + count);
    return;
  }
  const size_t start = out.size();
  merge_word(word, out);
  const auto offset = static_cast<uint32_t>(cache.ids.size());
  cache.ids.insert(cache.ids.end(), out.begin() + start, out.end());
  cache.words.emplace(std::string(word), std::pair(offset, static_cast<uint32_t>(out.size() - start)));
}

void BpeTokenizer::Impl::encode_stretch(std::string_view text, WordCache& cache, std::vector<int32_t>& out) const {
  std::string prefixed;
  if (add_prefix_space && !text.starts_with(' ')) {
    prefixed = " " + std::string(text);
    text = prefixed;
  }
  if (!split) {
    encode_word(text, cache, out);
    return;
  }
  for (size_t at = 0; at < text.size();) {
    const size_t end = piece_end(*split, text, at);
    encode_word(text.substr(at, end - at), cache, out);
    at = end;
  }
}

const BpeAddedToken* BpeTokenizer::Impl::added_at(std::string_view text, size_t at, bool special_tokens) const {
  if (!added_first_byte[static_cast<unsigned char>(text[at])]) return nullptr;
  for (const BpeAddedToken& t : added) {  // longest first
    if ((special_tokens || !t.special) && text.substr(at, t.content.size()) == t.content) return &t;
  }
  return nullptr;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool special_tokens) const {
  const Impl& m = *impl_;
  std::string normalized;
  if (m.nfc) {
    normalized = to_nfc(text);
    text = normalized;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3);
  WordCache cache;
  size_t stretch = 0;
  for (size_t at = 0; at < text.size() && !m.added.empty(); ++at) {
    const BpeAddedToken* token = m.added_at(text, at, special_tokens);
    if (token == nullptr) continue;
    if (at > stretch) m.encode_stretch(text.substr(stretch, at - stretch), cache, out);
    out.push_back(static_cast<int32_t>(token->id));
    stretch = at + token->content.size();
    at = stretch - 1;
  }
  if (stretch < text.size()) m.encode_stretch(text.substr(stretch), cache, out);
  return out;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  const Impl& m = *impl_;
  std::string text;
  for (const int32_t id : ids) {
    KRAIT_CHECK(id >= 0 && static_cast<size_t>(id) < m.is_token.size() && m.is_token[id], "BPE decode: id ", id,
                " is not a token of ", m.description);
    text += m.token_bytes[id];
  }
  return text;
}

uint32_t BpeTokenizer::vocab_size() const { return static_cast<uint32_t>(impl_->token_bytes.size()); }
int32_t BpeTokenizer::end_of_text() const { return impl_->end_of_text; }
const std::string& BpeTokenizer::description() const { return impl_->description; }

}  // namespace krait::data
