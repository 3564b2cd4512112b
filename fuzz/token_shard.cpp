// fuzz/token_shard.cpp — fuzzes the binary token shard reader (data/token_shard.h, TokenShardFile):
// open and validate the file, then read every id back in a few ranges.
#include "data/token_shard.h"

#include <algorithm>
#include <vector>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] {
    const krait::data::TokenShardFile shard(path);
    std::vector<int32_t> ids(std::min<uint64_t>(shard.size(), 4096));
    for (uint64_t at = 0; at < shard.size(); at += ids.size()) {
      const uint64_t n = std::min<uint64_t>(ids.size(), shard.size() - at);
      shard.read(at, n, ids.data());
      for (uint64_t i = 0; i < n; ++i) {
        if (ids[i] < 0 || static_cast<uint32_t>(ids[i]) >= shard.vocab_size()) __builtin_trap();
      }
    }
  });
  return 0;
}
