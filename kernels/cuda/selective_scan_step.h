// kernels/cuda/selective_scan_step.h — one selective-scan time step per sequence on the device
// (kernels/scan_step.h), the state update of recurrent generation; the CUDA side of
// kernels/cpu/selective_scan_step.h. T is float or __nv_bfloat16; the state and sums are float.
#pragma once

#include <cuda_runtime.h>

#include "kernels/scan_step.h"

namespace krait::kernels::cuda {

// state is 1..256. Enqueued on `stream`.
template <typename T> void selective_scan_step(const ScanStepProblem<T, float>& p, cudaStream_t stream);

}  // namespace krait::kernels::cuda
