// kernels/cuda/check.h — KRAIT_CUDA_CHECK wraps every CUDA runtime call and KRAIT_CUDA_CHECK_LAUNCH
// follows every kernel launch; both throw krait::Error naming the call (or the kernel), the CUDA error
// and file:line.
#pragma once

#include <cuda_runtime.h>

#include "common/error.h"

#define KRAIT_CUDA_CHECK(call)                                                                  \
  do {                                                                                          \
    const cudaError_t krait_status_ = (call);                                                   \
    if (krait_status_ != cudaSuccess) {                                                         \
      cudaGetLastError(); /* reported here: a later launch check must not report it again */    \
      KRAIT_FAIL("CUDA call ", #call, " failed: ", cudaGetErrorName(krait_status_), " (",       \
                 cudaGetErrorString(krait_status_), ")");                                        \
    }                                                                                           \
  } while (0)

// KRAIT_CUDA_CHECK_LAUNCH("rms_norm forward_kernel") right after `kernel<<<...>>>(...)`: a failed
// launch (bad configuration, too much shared memory, no kernel image for the device, or an earlier
// asynchronous failure surfacing here) throws krait::Error naming the kernel, the CUDA error and
// file:line. kernel_name is anything that streams into a message (a string literal, a std::string).
#define KRAIT_CUDA_CHECK_LAUNCH(kernel_name)                                                    \
  do {                                                                                          \
    const cudaError_t krait_status_ = cudaGetLastError();                                       \
    if (krait_status_ != cudaSuccess)                                                           \
      KRAIT_FAIL("CUDA kernel launch ", kernel_name, " failed: ", cudaGetErrorName(krait_status_), " (", \
                 cudaGetErrorString(krait_status_), ")");                                        \
  } while (0)
