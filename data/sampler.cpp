// data/sampler.cpp — rank_seed (see sampler.h).
#include "data/sampler.h"

namespace krait::data {

uint64_t rank_seed(uint64_t seed, int rank) {
  // The splitmix64 finalizer over seed and rank; Rng then expands the result into its state.
  uint64_t z = seed ^ (0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(rank) + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace krait::data
