// autograd/cuda_graph.h — CudaGraph: the kernels some work enqueues on a device's stream, captured once
// (a CUDA graph) and replayed with one launch, for work repeated on the same buffers such as a
// generation step (hundreds of small kernels whose launches cost more than they run). Declared in
// every build; constructing one without CUDA throws.
#pragma once

#include <functional>

namespace krait::cuda {

class CudaGraph {
 public:
  // Runs record() once under capture: its kernels are recorded, not run. The memory they use (every
  // block allocated while recording) is reserved for the graph while it lives (cuda_context.h's graph
  // pools), so no tensor made between replays can sit where a replay writes. Tensors record() leaves
  // alive are the graph's inputs and outputs: each replay reads and rewrites them in place. record()
  // must only enqueue work on the device's stream (no copies through the default stream, no waits);
  // pending deferred checks are run first.
  CudaGraph(int device, const std::function<void()>& record);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void replay() const;  // enqueues the recorded work on the device's stream

 private:
  int device_ = 0;
  int pool_ = 0;
  void* exec_ = nullptr;  // cudaGraphExec_t
};

}  // namespace krait::cuda
