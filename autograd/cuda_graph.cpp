// autograd/cuda_graph.cpp — CudaGraph (see cuda_graph.h).
#include "autograd/cuda_graph.h"

#include "autograd/cuda_context.h"
#include "common/error.h"

#if KRAIT_HAS_CUDA
#include "kernels/cuda/check.h"

namespace krait::cuda {

CudaGraph::CudaGraph(int device, const std::function<void()>& record) : device_(device) {
  synchronize(device);  // a deferred check run while capturing would wait on the stream
  const cudaStream_t s = stream(device);
  pool_ = open_pool(device);
  // Relaxed: a block the pool lacks may still come from cudaMalloc while capturing.
  KRAIT_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  cudaGraph_t graph = nullptr;
  try {
    record();
  } catch (...) {
    cudaStreamEndCapture(s, &graph);
    if (graph) cudaGraphDestroy(graph);
    close_pool(device, pool_);
    throw;
  }
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  stop_pool(device);
  if (ended != cudaSuccess) {
    close_pool(device, pool_);
    KRAIT_FAIL("CUDA graph capture on cuda:", device, " failed: ", cudaGetErrorString(ended),
               " (the recorded work waited on the stream or used the default stream)");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    close_pool(device, pool_);
    KRAIT_FAIL("CUDA graph instantiation on cuda:", device, " failed: ", cudaGetErrorString(made));
  }
  exec_ = exec;
}

CudaGraph::~CudaGraph() {
  // The last replay may still be running: its memory goes back to the shared cache only after it.
  cudaStreamSynchronize(stream(device_));
  cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  close_pool(device_, pool_);
}

void CudaGraph::replay() const {
  KRAIT_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream(device_)));
}

}  // namespace krait::cuda

#else

namespace krait::cuda {
CudaGraph::CudaGraph(int device, const std::function<void()>&) {
  KRAIT_FAIL("CUDA graph on cuda:", device, " requested but Krait was built without CUDA");
}
CudaGraph::~CudaGraph() = default;
void CudaGraph::replay() const {}
}  // namespace krait::cuda

#endif
