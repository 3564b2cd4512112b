// data/dna_tokenizer.cpp — DnaTokenizer (see dna_tokenizer.h).
#include "data/dna_tokenizer.h"

#include <algorithm>
#include <array>

#include "common/error.h"

namespace krait::data {

namespace {

// Letter -> id for the 256 byte values; -1 where the byte is not an IUPAC nucleotide code.
constexpr std::array<int8_t, 256> make_base_ids() {
  std::array<int8_t, 256> ids{};
  ids.fill(-1);
  const auto set = [&](char upper, int32_t id) {
    ids[static_cast<unsigned char>(upper)] = static_cast<int8_t>(id);
    ids[static_cast<unsigned char>(upper - 'A' + 'a')] = static_cast<int8_t>(id);
  };
  set('A', DnaTokenizer::kA);
  set('C', DnaTokenizer::kC);
  set('G', DnaTokenizer::kG);
  set('T', DnaTokenizer::kT);
  set('U', DnaTokenizer::kT);
  for (char code : std::string_view("NRYKMSWBDHV")) set(code, DnaTokenizer::kN);
  return ids;
}

constexpr std::array<int8_t, 256> kBaseIds = make_base_ids();
constexpr std::string_view kIdChars = "ACGTN_|";
static_assert(kIdChars.size() == DnaTokenizer::kVocabSize);

void check_id(int32_t id, size_t position) {
  KRAIT_CHECK(id >= 0 && static_cast<uint32_t>(id) < DnaTokenizer::kVocabSize, "DnaTokenizer: id ", id,
              " at position ", position, " is outside the vocabulary [0, ", DnaTokenizer::kVocabSize, ")");
}

}  // namespace

int32_t DnaTokenizer::base_id(char c) { return kBaseIds[static_cast<unsigned char>(c)]; }

std::vector<uint16_t> DnaTokenizer::encode(std::string_view bases) const {
  std::vector<uint16_t> ids;
  encode_append(bases, ids);
  return ids;
}

void DnaTokenizer::encode_append(std::string_view bases, std::vector<uint16_t>& out) const {
  out.reserve(out.size() + bases.size());
  for (size_t i = 0; i < bases.size(); ++i) {
    const int32_t id = base_id(bases[i]);
    KRAIT_CHECK(id >= 0, "DnaTokenizer: character '", bases[i], "' (byte ",
                static_cast<int>(static_cast<unsigned char>(bases[i])), ") at position ", i,
                " is not an IUPAC nucleotide code");
    out.push_back(static_cast<uint16_t>(id));
  }
}

std::string DnaTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text(ids.size(), ' ');
  for (size_t i = 0; i < ids.size(); ++i) {
    check_id(ids[i], i);
    text[i] = kIdChars[static_cast<size_t>(ids[i])];
  }
  return text;
}

std::vector<int32_t> DnaTokenizer::complement_table() { return {kT, kG, kC, kA, kN, kPad, kEndOfSequence}; }

void DnaTokenizer::reverse_complement(std::span<int32_t> ids) {
  static const std::vector<int32_t> complement = complement_table();
  for (size_t i = 0; i < ids.size(); ++i) check_id(ids[i], i);
  std::reverse(ids.begin(), ids.end());
  for (int32_t& id : ids) id = complement[static_cast<size_t>(id)];
}

}  // namespace krait::data
