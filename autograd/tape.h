// autograd/tape.h — the tape: every differentiable op whose inputs need gradients records one node
// (its inputs' and outputs' gradient slots and a hand-written backward closure holding exactly the
// tensors it saved). backward() runs the nodes in reverse once, accumulating into leaves, then
// clears the tape, freeing the saved tensors. One tape per thread.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "autograd/tensor.h"

namespace krait {

using TensorList = std::vector<Tensor>;
// Receives one gradient per output (zeros where an output received none) and returns one per input
// (an undefined Tensor where that input needs none).
using BackwardFn = std::function<TensorList(const TensorList& grad_outputs)>;

bool grad_enabled();

// Disables recording for its lifetime (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Whether an op on these inputs must be recorded: grad mode is on and some input requires grad.
bool needs_record(const TensorList& inputs);

// Records a node: marks outputs as requiring grad and ties them to it. Call only when
// needs_record(inputs) holds, after the outputs are computed.
void record(const char* op, const TensorList& inputs, TensorList& outputs, BackwardFn backward);
// Single-output form: backward receives the one output gradient.
void record(const char* op, const TensorList& inputs, Tensor& output,
            std::function<TensorList(const Tensor& grad_output)> backward);

// Runs the tape backward from `root`, seeded with `seed` (ones when root is a scalar and seed is
// undefined). Gradients accumulate into leaves; the tape is cleared afterwards, even on error.
void backward(const Tensor& root, const Tensor& seed = Tensor());
// Runs the tape backward from several roots at once, each seeded with its gradient (pairs whose root
// needs no gradient or whose seed is undefined are skipped; at least one must remain), e.g. the
// gradients of several recomputed inputs of one fused op.
void backward(const TensorList& roots, const TensorList& seeds);

// While one is alive on a thread, backward() on that thread calls `on_final(slot)` for each leaf
// gradient slot as soon as no node left on the tape can add to it (its gradient is final), e.g. so
// that data-parallel training can start reducing a bucket of gradients during the rest of backward.
class LeafGradientHook {
 public:
  explicit LeafGradientHook(std::function<void(const GradSlot&)> on_final);
  ~LeafGradientHook();
  LeafGradientHook(const LeafGradientHook&) = delete;
  LeafGradientHook& operator=(const LeafGradientHook&) = delete;

 private:
  std::function<void(const GradSlot&)> previous_;
};

// Gives this thread a fresh, empty tape for its lifetime, with recording on and no LeafGradientHook,
// then restores the outer tape, grad mode and hook untouched. ops::recompute re-runs a layer and its
// backward on one from inside the outer backward: the nested backward() clears and runs only the
// nested tape, and reports no leaf as final (the outer tape's recompute node does that).
class NestedTape {
 public:
  NestedTape();
  ~NestedTape();
  NestedTape(const NestedTape&) = delete;
  NestedTape& operator=(const NestedTape&) = delete;

  // The gradient slots that nodes on this tape read but none of them produced (the leaves and outer
  // tensors that the recorded computation depends on).
  std::vector<const GradSlot*> external_inputs() const;

 private:
  struct Saved;
  std::unique_ptr<Saved> outer_;
};

void clear_tape();
size_t tape_size();

}  // namespace krait
