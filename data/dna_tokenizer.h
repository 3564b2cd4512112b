// data/dna_tokenizer.h — DnaTokenizer: nucleotides to ids A=0 C=1 G=2 T=3 N=4, plus pad=5 and
// end-of-sequence=6 (vocab_size 7), and the complement map for reverse-complement augmentation.
//
// Encoding folds case, reads U (RNA) as T and every other IUPAC ambiguity code (R Y K M S W B D H V)
// as N. Decoding writes uppercase bases, pad as '_' and end-of-sequence as '|'.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace krait::data {

class DnaTokenizer {
 public:
  static constexpr int32_t kA = 0, kC = 1, kG = 2, kT = 3, kN = 4;
  static constexpr int32_t kPad = 5;
  static constexpr int32_t kEndOfSequence = 6;
  static constexpr uint32_t kVocabSize = 7;
  static constexpr char kPadChar = '_';
  static constexpr char kEndOfSequenceChar = '|';

  // The id of an IUPAC nucleotide letter (either case), or -1 for any other character.
  static int32_t base_id(char c);

  // One id per base; throws naming the position on a character that is not an IUPAC letter.
  std::vector<uint16_t> encode(std::string_view bases) const;
  void encode_append(std::string_view bases, std::vector<uint16_t>& out) const;

  // Throws on an id outside [0, kVocabSize).
  std::string decode(std::span<const int32_t> ids) const;

  // complement_table()[id] is the id of its complement: A<->T, C<->G; N, pad and
  // end-of-sequence map to themselves.
  static std::vector<int32_t> complement_table();

  // Reverses ids in place and complements each; throws on an id outside the vocabulary.
  static void reverse_complement(std::span<int32_t> ids);
};

}  // namespace krait::data
