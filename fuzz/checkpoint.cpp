// fuzz/checkpoint.cpp — fuzzes the checkpoint reader (train/checkpoint_file.h, CheckpointReader): a
// checkpoint written by CheckpointWriter, then edited (fuzz/hdf5_edits.h: entries, groups and the
// format, version and dtype attributes replaced, deleted or linked), is opened, its groups walked
// and every entry read every way (tensor, int, double, u64 list, string); no HDF5 handle may outlive
// the input.
#include "train/checkpoint_file.h"

#include <filesystem>

#include "fuzz/example_checkpoint.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/hdf5_edits.h"
#include "fuzz/hdf5_target.h"

namespace {

// HDF5 links may form cycles (a group linking to the root), which would make the walk endless or
// exponential, so it lists at most this many groups.
constexpr int kMaxGroups = 32;

void read_all(const krait::CheckpointReader& reader, const std::string& group, int& groups_left) {
  using krait::fuzz::expect_clean;
  if (groups_left-- <= 0) return;
  std::vector<std::string> names;
  expect_clean([&] { names = reader.list(group); });
  for (const std::string& name : names) {
    const std::string path = group.empty() ? name : group + "/" + name;
    if (reader.has(path)) {
      expect_clean([&] { reader.tensor(path); });
      expect_clean([&] { reader.get_int(path); });
      expect_clean([&] { reader.get_double(path); });
      expect_clean([&] { reader.get_u64s(path); });
      expect_clean([&] { reader.get_string(path); });
    } else {
      read_all(reader, path, groups_left);
    }
  }
}

// The checkpoint every input edits, written once (CheckpointWriter syncs to disk, which is slow) and
// copied for each input.
const std::string& base_checkpoint() {
  static const std::string path = [] {
    const std::string base = krait::fuzz::temp_path("base.h5");
    krait::fuzz::write_example_checkpoint(base);
    return base;
  }();
  return path;
}

const krait::fuzz::Hdf5Names kNames = {
    {"model", "model/layers.0.weight", "model/norm.bf16", "optim/count", "state", "state/step", "state/loss", "state/sampler",
     "state/recipe"},
    {{"/", "format"}, {"/", "version"}, {"model/norm.bf16", "dtype"}, {"model/layers.0.weight", "dtype"}},
    {"krait-checkpoint", "bf16", "f32"}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string path = krait::fuzz::temp_path("checkpoint.h5");
  std::filesystem::copy_file(base_checkpoint(), path, std::filesystem::copy_options::overwrite_existing);
  krait::fuzz::apply_hdf5_edits(path, kNames, in);

  krait::fuzz::expect_clean([&] {
    const krait::CheckpointReader reader(path);
    int groups_left = kMaxGroups;
    read_all(reader, "", groups_left);
  });
  krait::fuzz::check_no_open_hdf5_handles();
  return 0;
}
