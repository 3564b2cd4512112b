// kernels/cuda/check.h — KRAIT_CUDA_CHECK wraps every CUDA runtime call and KRAIT_CUDA_CHECK_LAUNCH
// follows every kernel launch; both throw krait::Error naming the call, the CUDA error and file:line.
#pragma once

#include <cuda_runtime.h>

#include "common/error.h"

#define KRAIT_CUDA_CHECK(call)                                                                  \
  do {                                                                                          \
    const cudaError_t krait_status_ = (call);                                                   \
    if (krait_status_ != cudaSuccess)                                                           \
      KRAIT_FAIL("CUDA call ", #call, " failed: ", cudaGetErrorName(krait_status_), " (",       \
                 cudaGetErrorString(krait_status_), ")");                                        \
  } while (0)

#define KRAIT_CUDA_CHECK_LAUNCH(kernel_name) KRAIT_CUDA_CHECK(cudaGetLastError())
