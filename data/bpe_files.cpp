// data/bpe_files.cpp — tokenizer.json and encoder.json + vocab.bpe readers (see bpe_files.h).
#include "data/bpe_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "common/file_text.h"
#include "common/error.h"
#include "common/json.h"

namespace krait::data {
namespace {

namespace fs = std::filesystem;

std::string read_text_file(const std::string& path) { return read_file_text(path, "tokenizer file"); }

// Typed access to a JSON object's members, with errors naming the file and the key path.
class Fields {
 public:
  Fields(const JsonValue& object, std::string where, std::string path)
      : object_(object), where_(std::move(where)), path_(std::move(path)) {
    KRAIT_CHECK(object.is_object(), where_, ": ", path_.empty() ? "the file" : path_, " must be a JSON object, not ",
                json_kind_name(object));
  }

  std::string key(const std::string& name) const { return path_.empty() ? name : path_ + "." + name; }
  // The member, or nullptr when it is absent or null.
  const JsonValue* get(const std::string& name) const {
    const JsonValue* v = object_.find(name);
    return v == nullptr || v->kind == JsonValue::Kind::Null ? nullptr : v;
  }
  const JsonValue& need(const std::string& name) const {
    const JsonValue* v = get(name);
    KRAIT_CHECK(v, where_, ": ", key(name), " is missing");
    return *v;
  }
  std::string string(const std::string& name, const std::string& fallback = "") const {
    const JsonValue* v = get(name);
    if (v == nullptr) return fallback;
    KRAIT_CHECK(v->kind == JsonValue::Kind::String, where_, ": ", key(name), " must be a string, not ",
                json_kind_name(*v));
    return v->text;
  }
  bool boolean(const std::string& name, bool fallback) const {
    const JsonValue* v = get(name);
    if (v == nullptr) return fallback;
    KRAIT_CHECK(v->kind == JsonValue::Kind::Bool, where_, ": ", key(name), " must be true or false, not ",
                json_kind_name(*v));
    return v->boolean;
  }
  int64_t integer(const std::string& name) const {
    const JsonValue& v = need(name);
    KRAIT_CHECK(v.is_integer(), where_, ": ", key(name), " must be an integer, not ",
                v.kind == JsonValue::Kind::Number ? v.text : json_kind_name(v));
    return v.integer();
  }
  void refuse(const std::string& name, const std::string& why) const {
    KRAIT_CHECK(get(name) == nullptr, where_, ": ", key(name), " is set: ", why);
  }

 private:
  const JsonValue& object_;
  std::string where_, path_;
};

std::vector<std::pair<std::string, int64_t>> read_vocab(const JsonValue& vocab, const std::string& where,
                                                        const std::string& path) {
  Fields(vocab, where, path);  // checks it is an object
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(vocab.members.size());
  for (const auto& [token, id] : vocab.members) {
    KRAIT_CHECK(id.is_integer(), where, ": ", path, "[\"", token, "\"] must be an integer id, not ",
                id.kind == JsonValue::Kind::Number ? id.text : json_kind_name(id));
    out.emplace_back(token, id.integer());
  }
  return out;
}

// "a b" -> (a, b): exactly one space, neither side empty.
std::optional<std::pair<std::string, std::string>> split_merge(std::string_view line) {
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos)
    return std::nullopt;
  return std::pair(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
}

std::vector<std::pair<std::string, std::string>> read_merges(const JsonValue& merges, const std::string& where) {
  KRAIT_CHECK(merges.kind == JsonValue::Kind::Array, where, ": model.merges must be an array, not ",
              json_kind_name(merges));
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.items.size());
  for (size_t i = 0; i < merges.items.size(); ++i) {
    const JsonValue& m = merges.items[i];
    if (m.kind == JsonValue::Kind::String) {
      auto pair = split_merge(m.text);
      KRAIT_CHECK(pair, where, ": model.merges[", i, "] is \"", m.text, "\": expected two tokens separated by one space");
      out.push_back(std::move(*pair));
    } else {
      KRAIT_CHECK(m.kind == JsonValue::Kind::Array && m.items.size() == 2 &&
                      m.items[0].kind == JsonValue::Kind::String && m.items[1].kind == JsonValue::Kind::String,
                  where, ": model.merges[", i, "] must be a string \"a b\" or a pair [\"a\", \"b\"]");
      out.emplace_back(m.items[0].text, m.items[1].text);
    }
  }
  return out;
}

void read_model(const JsonValue& model, const std::string& where, BpeDefinition& d) {
  const Fields f(model, where, "model");
  const std::string type = f.string("type", "BPE");
  KRAIT_CHECK(type == "BPE", where, ": model.type is '", type, "': only BPE models are read");
  f.refuse("dropout", "BPE dropout makes encoding random; set it to null");
  KRAIT_CHECK(f.string("continuing_subword_prefix").empty() && f.string("end_of_word_suffix").empty(), where,
              ": model.continuing_subword_prefix / end_of_word_suffix are set: not a byte-level BPE (GPT-2 style)");
  KRAIT_CHECK(!f.boolean("byte_fallback", false), where,
              ": model.byte_fallback is true: a SentencePiece-style BPE, not byte-level; not supported");
  d.ignore_merges = f.boolean("ignore_merges", false);
  d.vocab = read_vocab(f.need("vocab"), where, "model.vocab");
  d.merges = read_merges(f.need("merges"), where);
}

void read_normalizer(const JsonValue* normalizer, const std::string& where, BpeDefinition& d) {
  if (normalizer == nullptr) return;
  const Fields f(*normalizer, where, "normalizer");
  const std::string type = f.string("type");
  if (type == "Sequence") {
    const JsonValue& steps = f.need("normalizers");
    KRAIT_CHECK(steps.kind == JsonValue::Kind::Array, where, ": normalizer.normalizers must be an array");
    for (const JsonValue& step : steps.items) read_normalizer(&step, where, d);
    return;
  }
  KRAIT_CHECK(type == "NFC", where, ": normalizer '", type, "' is not supported (only NFC, or none)");
  d.nfc = true;
}

void read_pre_tokenizer_step(const JsonValue& step, const std::string& where, bool& byte_level, BpeDefinition& d) {
  const Fields f(step, where, "pre_tokenizer");
  const std::string type = f.string("type");
  const auto set_split = [&](SplitPattern pattern) {
    KRAIT_CHECK(!d.split, where, ": the pre-tokenizer splits twice (a Split and a ByteLevel with use_regex): "
                "not supported");
    d.split = pattern;
  };
  if (type == "Sequence") {
    const JsonValue& steps = f.need("pretokenizers");
    KRAIT_CHECK(steps.kind == JsonValue::Kind::Array, where, ": pre_tokenizer.pretokenizers must be an array");
    for (const JsonValue& s : steps.items) read_pre_tokenizer_step(s, where, byte_level, d);
  } else if (type == "ByteLevel") {
    byte_level = true;
    d.add_prefix_space = f.boolean("add_prefix_space", true);
    if (f.boolean("use_regex", true)) set_split(SplitPattern::Gpt2);
  } else if (type == "Split") {
    KRAIT_CHECK(!byte_level, where, ": a Split after ByteLevel would split the byte-mapped text: not supported");
    const Fields pattern(f.need("pattern"), where, "pre_tokenizer.pattern");
    const std::string regex = pattern.string("Regex");
    const std::optional<SplitPattern> known = split_pattern_of(regex);
    KRAIT_CHECK(known, where, ": unknown pre-tokenizer pattern ", regex.empty() ? "(not a Regex)" : "'" + regex + "'",
                "; known: the GPT-2 pattern '", split_pattern_regex(SplitPattern::Gpt2), "' and the Llama-3 pattern '",
                split_pattern_regex(SplitPattern::Llama3), "'");
    KRAIT_CHECK(f.string("behavior") == "Isolated" && !f.boolean("invert", false), where,
                ": a Split pre-tokenizer must have behavior Isolated and invert false, found behavior '",
                f.string("behavior"), "'");
    set_split(*known);
  } else {
    KRAIT_FAIL(where, ": pre-tokenizer '", type, "' is not supported (known: ByteLevel; Split with the GPT-2 or "
               "Llama-3 pattern; a Sequence of them)");
  }
}

void read_added_tokens(const JsonValue* added, const std::string& where, BpeDefinition& d) {
  if (added == nullptr) return;
  KRAIT_CHECK(added->kind == JsonValue::Kind::Array, where, ": added_tokens must be an array");
  for (size_t i = 0; i < added->items.size(); ++i) {
    const Fields f(added->items[i], where, "added_tokens[" + std::to_string(i) + "]");
    BpeAddedToken t;
    t.id = f.integer("id");
    t.content = f.string("content");
    t.special = f.boolean("special", false);
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      KRAIT_CHECK(!f.boolean(flag, false), where, ": added token '", t.content, "' has ", flag,
                  " true: not supported");
    }
    d.added_tokens.push_back(std::move(t));
  }
}

// Hugging Face tokenizers does not take an added token's id from the file: it gives the token its
// vocabulary id, else the id after the vocabulary (counted in entries) and the added tokens before
// it, and only warns when the file says otherwise. A file that disagrees is refused, so that an id
// never means one token here and another there.
void check_added_ids(const BpeDefinition& d, const std::string& where) {
  std::unordered_map<std::string, int64_t> ids(d.vocab.begin(), d.vocab.end());
  const auto vocab_entries = static_cast<int64_t>(d.vocab.size());
  int64_t max_added = -1;
  for (const BpeAddedToken& t : d.added_tokens) {
    const auto known = ids.find(t.content);
    const int64_t expected = known != ids.end() ? known->second
                             : max_added >= vocab_entries ? max_added + 1
                                                          : vocab_entries;
    KRAIT_CHECK(t.id == expected, where, ": added token '", t.content, "' has id ", t.id,
                ", but Hugging Face tokenizers would give it ", expected, " (its vocabulary id, else the next id after "
                "the vocabulary's ", vocab_entries, " entries and the added tokens before it)");
    ids.emplace(t.content, t.id);
    max_added = std::max(max_added, t.id);
  }
}

}  // namespace

BpeDefinition read_hf_tokenizer_json(const std::string& json, const std::string& where) {
  const JsonValue root = parse_json(json, where);
  const Fields f(root, where, "");
  BpeDefinition d;
  d.source = where;
  read_model(f.need("model"), where, d);
  read_normalizer(f.get("normalizer"), where, d);
  bool byte_level = false;
  if (const JsonValue* pre = f.get("pre_tokenizer")) read_pre_tokenizer_step(*pre, where, byte_level, d);
  KRAIT_CHECK(byte_level, where, ": the pre-tokenizer has no ByteLevel step: not a byte-level BPE");
  if (const JsonValue* decoder = f.get("decoder")) {
    const std::string type = Fields(*decoder, where, "decoder").string("type");
    KRAIT_CHECK(type == "ByteLevel", where, ": decoder '", type, "' is not supported (only ByteLevel)");
  }
  read_added_tokens(f.get("added_tokens"), where, d);
  check_added_ids(d, where);
  return d;
}

BpeDefinition read_gpt2_vocab(const std::string& encoder_json, const std::string& encoder_where,
                              const std::string& vocab_bpe, const std::string& vocab_bpe_where) {
  BpeDefinition d;
  d.source = encoder_where + " + " + vocab_bpe_where;
  d.vocab = read_vocab(parse_json(encoder_json, encoder_where), encoder_where, "the vocabulary");
  std::istringstream lines(vocab_bpe);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.starts_with("#version"))) continue;
    auto pair = split_merge(line);
    KRAIT_CHECK(pair, vocab_bpe_where, ":", number, ": expected a merge, two tokens separated by one space; found '",
                line, "'");
    d.merges.push_back(std::move(*pair));
  }
  d.split = SplitPattern::Gpt2;
  for (const auto& [token, id] : d.vocab) {
    if (token == "<|endoftext|>") d.added_tokens.push_back({token, id, true});
  }
  return d;
}

BpeTokenizer load_bpe_tokenizer(const std::string& path) {
  const fs::path p(path);
  const auto gpt2 = [](const fs::path& encoder, const fs::path& merges) {
    for (const fs::path& f : {encoder, merges})
      KRAIT_CHECK(fs::is_regular_file(f), f.string(), ": not found (GPT-2's encoder.json and vocab.bpe go together)");
    return BpeTokenizer(read_gpt2_vocab(read_text_file(encoder.string()), encoder.string(),
                                        read_text_file(merges.string()), merges.string()));
  };
  if (fs::is_directory(p)) {
    if (fs::is_regular_file(p / "tokenizer.json")) return load_bpe_tokenizer((p / "tokenizer.json").string());
    KRAIT_CHECK(fs::is_regular_file(p / "encoder.json"), path,
                ": a directory with neither tokenizer.json nor GPT-2's encoder.json and vocab.bpe");
    return gpt2(p / "encoder.json", p / "vocab.bpe");
  }
  if (p.filename() == "vocab.bpe") return gpt2(p.parent_path() / "encoder.json", p);
  if (p.filename() == "encoder.json") return gpt2(p, p.parent_path() / "vocab.bpe");
  return BpeTokenizer(read_hf_tokenizer_json(read_text_file(path), path));
}

}  // namespace krait::data
