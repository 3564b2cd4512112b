// kernels/cpu/parallel.cpp — parallel_for over std::thread (see parallel.h).
#include "kernels/cpu/parallel.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

namespace krait::kernels::cpu {

int num_threads() {
  static const int n = [] {
    if (const char* env = std::getenv("KRAIT_NUM_THREADS")) {
      const int requested = std::atoi(env);
      if (requested > 0) return requested;
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return n;
}

void parallel_for(int64_t n, int64_t cost_per_item, const std::function<void(int64_t, int64_t)>& body) {
  constexpr int64_t kMinCostPerThread = 1 << 16;  // ~tens of microseconds of work
  const int64_t by_cost = std::max<int64_t>(1, n * std::max<int64_t>(cost_per_item, 1) / kMinCostPerThread);
  const int64_t threads = std::min<int64_t>({num_threads(), n, by_cost});
  if (threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) workers.emplace_back(body, begin, end);
  }
  body(0, std::min(n, chunk));
  for (auto& w : workers) w.join();
}

}  // namespace krait::kernels::cpu
