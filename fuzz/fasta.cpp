// fuzz/fasta.cpp — fuzzes the streaming FASTA reader (data/fasta.h, read_fasta), plain and gzip
// (the reader tells them apart by their first bytes), and the DNA set built from it
// (data/fasta_set.h, read_fasta_set: the records as DnaTokenizer ids).
#include "data/fasta.h"

#include <vector>

#include "data/fasta_set.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] {
    krait::data::read_fasta(path, [](krait::data::FastaRecord&& record) {
      if (record.name.empty() || record.sequence.empty()) __builtin_trap();
    });
  });
  krait::fuzz::expect_clean([&] {
    const krait::data::InMemorySequenceSet set = krait::data::read_fasta_set({path});
    std::vector<int32_t> ids;
    for (size_t r = 0; r < set.num_records(); ++r) {
      ids.resize(set.record_length(r));
      set.read(r, 0, ids.size(), ids.data());
      for (const int32_t id : ids) {
        if (id < 0 || static_cast<uint32_t>(id) >= set.vocab_size()) __builtin_trap();
      }
    }
  });
  return 0;
}
