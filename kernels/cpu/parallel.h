// kernels/cpu/parallel.h — parallel_for: splits an index range into contiguous chunks, one per
// worker thread. Each index is handled by exactly one thread in a fixed order, so results do not
// depend on the thread count (bit-identical runs). KRAIT_NUM_THREADS caps the number of threads.
#pragma once

#include <cstdint>
#include <functional>

namespace krait::kernels::cpu {

int num_threads();

// Calls body(begin, end) on disjoint chunks covering [0, n). Runs inline when n * cost_per_item
// is too small to pay for starting threads.
void parallel_for(int64_t n, int64_t cost_per_item, const std::function<void(int64_t, int64_t)>& body);

}  // namespace krait::kernels::cpu
