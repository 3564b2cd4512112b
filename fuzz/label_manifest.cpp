// fuzz/label_manifest.cpp — fuzzes the label manifest reader (data/label_manifest.h,
// LabelManifest::read: `key<TAB>class` lines): every class id it hands out indexes classes().
#include "data/label_manifest.h"

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] {
    const krait::data::LabelManifest manifest = krait::data::LabelManifest::read(path);
    if (manifest.size() == 0 || manifest.classes().empty()) __builtin_trap();
  });
  return 0;
}
