// tests/data/bpe_fixtures.cpp — reading the BPE fixtures (see bpe_fixtures.h).
#include "tests/data/bpe_fixtures.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/json.h"

namespace krait::data::testing {

std::string bpe_fixture(const std::string& name) { return std::string(KRAIT_BPE_FIXTURES_DIR) + "/" + name; }

std::string read_file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> tricky_strings() {
  const JsonValue strings = parse_json(read_file_text(bpe_fixture("tricky.json")), "tricky.json");
  std::vector<std::string> out;
  for (const JsonValue& s : strings.items) out.push_back(s.text);
  return out;
}

static std::vector<int32_t> ids_of(const JsonValue& array) {
  std::vector<int32_t> ids;
  for (const JsonValue& id : array.items) ids.push_back(static_cast<int32_t>(id.integer()));
  return ids;
}

ExpectedIds expected_ids(const std::string& fixture) {
  const std::string name = "expected-" + fixture + ".json";
  const JsonValue root = parse_json(read_file_text(bpe_fixture(name)), name);
  ExpectedIds expected;
  for (const JsonValue& ids : root.find("ordinary")->items) expected.ordinary.push_back(ids_of(ids));
  for (const auto& [index, ids] : root.find("special")->members) expected.special[std::stoul(index)] = ids_of(ids);
  return expected;
}

std::string gpt2_as_tokenizer_json(bool merges_as_pairs) {
  std::istringstream lines(read_file_text(bpe_fixture("gpt2/vocab.bpe")));
  std::string line, merges;
  std::getline(lines, line);  // #version
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    merges += merges.empty() ? "" : ",";
    merges += merges_as_pairs ? "[" + json_quote(line.substr(0, space)) + "," + json_quote(line.substr(space + 1)) + "]"
                              : json_quote(line);
  }
  return R"({"version": "1.0", "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": false,
    "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "post_processor": null, "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
      "end_of_word_suffix": "", "fuse_unk": false, "vocab": )" +
         read_file_text(bpe_fixture("gpt2/encoder.json")) + R"(, "merges": [)" + merges + "]}}";
}

}  // namespace krait::data::testing
