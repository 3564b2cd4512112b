// fuzz/hdf5_sequences.cpp — fuzzes the HDF5 sequence dataset reader (data/hdf5_sequences.h:
// read_sequence_info and open_sequence_hdf5, the files krait-prepare writes): a dataset written by
// write_sequence_hdf5, then edited (fuzz/hdf5_edits.h: /ids, /offsets, /labels, /names and the root
// attributes replaced, deleted or linked), is opened and every record read; no HDF5 handle may
// outlive the input.
#include "data/hdf5_sequences.h"

#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/hdf5_edits.h"
#include "fuzz/hdf5_target.h"

namespace {

// 1-3 records of up to 8 ids, labeled by two classes or unlabeled, of any kind.
void write_base(FuzzedDataProvider& in, const std::string& path) {
  using namespace krait::data;
  const uint32_t vocab_size = in.PickValueInArray<uint32_t>({7, 256, 257, 65536});
  const bool labeled = in.ConsumeBool();
  std::vector<SequenceRecord> records(in.ConsumeIntegralInRange<size_t>(1, 3));
  for (size_t r = 0; r < records.size(); ++r) {
    records[r].name = "r" + std::to_string(r);
    records[r].label = labeled ? in.ConsumeIntegralInRange<int32_t>(0, 1) : kNoLabel;
    records[r].ids.resize(in.ConsumeIntegralInRange<size_t>(0, 8));
    for (uint16_t& id : records[r].ids) id = in.ConsumeIntegralInRange<uint16_t>(0, vocab_size - 1);
  }
  const auto kind = in.PickValueInArray({SequenceKind::dna, SequenceKind::audio, SequenceKind::text});
  write_sequence_hdf5(path, InMemorySequenceSet(path, vocab_size, labeled ? std::vector<std::string>{"a", "b"}
                                                                          : std::vector<std::string>{},
                                                std::move(records)),
                      {kind, "tok", kind == SequenceKind::audio ? 16000u : 0u});
}

const krait::fuzz::Hdf5Names kNames = {
    {"ids", "offsets", "labels", "names"},
    {{"/", "format"}, {"/", "version"}, {"/", "vocab_size"}, {"/", "kind"}, {"/", "class_names"},
     {"/", "tokenizer"}, {"/", "sample_rate"}},
    {"krait-sequences", "dna", "audio", "text", "a", "b", ""}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string path = krait::fuzz::temp_path("sequences.h5");
  write_base(in, path);
  krait::fuzz::apply_hdf5_edits(path, kNames, in);

  krait::fuzz::expect_clean([&] { krait::data::read_sequence_info(path); });
  krait::fuzz::expect_clean([&] {
    const auto set = krait::data::open_sequence_hdf5(path);
    std::vector<int32_t> ids;
    for (size_t r = 0; r < set->num_records(); ++r) {
      const int32_t label = set->record_label(r);
      if (label != krait::data::kNoLabel && (label < 0 || static_cast<size_t>(label) >= set->class_names().size()))
        __builtin_trap();
      ids.resize(set->record_length(r));
      set->read(r, 0, ids.size(), ids.data());
      for (const int32_t id : ids) {
        if (id < 0 || static_cast<uint32_t>(id) >= set->vocab_size()) __builtin_trap();
      }
    }
  });
  krait::fuzz::check_no_open_hdf5_handles();
  return 0;
}
