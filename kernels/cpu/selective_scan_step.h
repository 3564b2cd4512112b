// kernels/cpu/selective_scan_step.h — the CPU reference of one selective-scan time step per sequence
// (kernels/scan_step.h): the recurrence of kernels/cpu/selective_scan.h at len 1, on strided inputs.
#pragma once

#include "kernels/scan_step.h"

namespace krait::kernels::cpu {

template <typename T> void selective_scan_step(const ScanStepProblem<T, T>& p);

}  // namespace krait::kernels::cpu
