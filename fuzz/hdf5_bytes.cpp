// fuzz/hdf5_bytes.cpp — fuzzes Krait's three HDF5 readers (Hdf5TokenFile, open_sequence_hdf5,
// CheckpointReader) on raw mutated bytes. It finds bugs in HDF5 1.10.8 itself within seconds (a
// crash in H5F__accum_read, an over-read and a hang in H5HG_read: fuzz/README.md), which Krait cannot
// fix, so tools/fuzz.sh runs it only when named; the structure-aware targets cover Krait's own code.
#include "data/hdf5_sequences.h"
#include "data/hdf5_tokens.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/hdf5_target.h"
#include "train/checkpoint_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] { krait::data::Hdf5TokenFile tokens(path); });
  krait::fuzz::expect_clean([&] { krait::data::open_sequence_hdf5(path); });
  krait::fuzz::expect_clean([&] { krait::CheckpointReader reader(path); });
  krait::fuzz::check_no_open_hdf5_handles();
  return 0;
}
