// fuzz/hdf5_tokens.cpp — fuzzes the HDF5 token file reader (data/hdf5_tokens.h, Hdf5TokenFile): a
// token file written by write_token_hdf5, then edited (fuzz/hdf5_edits.h: /tokens and its vocab_size
// attribute replaced, deleted or linked), is opened and read back; no HDF5 handle may outlive the input.
#include "data/hdf5_tokens.h"

#include <algorithm>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/hdf5_edits.h"
#include "fuzz/hdf5_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string path = krait::fuzz::temp_path("tokens.h5");
  const uint32_t vocab_size = in.PickValueInArray<uint32_t>({5, 257, 65536, 70000});
  std::vector<int32_t> ids(in.ConsumeIntegralInRange<size_t>(0, 64));
  for (int32_t& id : ids) id = in.ConsumeIntegralInRange<int32_t>(0, static_cast<int32_t>(vocab_size) - 1);
  krait::data::write_token_hdf5(path, ids, vocab_size, vocab_size <= 65536 && in.ConsumeBool() ? 2 : 4);
  krait::fuzz::apply_hdf5_edits(path, {{"tokens"}, {{"tokens", "vocab_size"}}, {}}, in);

  krait::fuzz::expect_clean([&] {
    const krait::data::Hdf5TokenFile tokens(path);
    std::vector<int32_t> read(std::min<uint64_t>(tokens.size(), 4096));
    tokens.read(0, read.size(), read.data());
    for (const int32_t id : read) {
      if (id < 0 || static_cast<uint32_t>(id) >= tokens.vocab_size()) __builtin_trap();
    }
  });
  krait::fuzz::check_no_open_hdf5_handles();
  return 0;
}
