// autograd/tape.cpp — the tape and the backward engine (see tape.h).
#include "autograd/tape.h"

#include <string>
#include <unordered_set>
#include <utility>

#include "autograd/ops.h"
#include "common/error.h"

namespace krait {
namespace {

struct OutputMeta {
  std::shared_ptr<GradSlot> slot;
  Shape shape;
  DType dtype;
  Device device;
};

struct Node {
  const char* op;
  std::vector<std::shared_ptr<GradSlot>> inputs;  // null where the input needs no gradient
  std::vector<OutputMeta> outputs;
  BackwardFn backward;
};

thread_local std::vector<Node> tape;
thread_local bool grad_mode = true;
thread_local std::function<void(const GradSlot&)> leaf_final_hook;

// Adds g into a slot. Leaves get their own copy on first arrival (into their buffer when they have
// one), so a later accumulation cannot alias a gradient that another slot also holds.
void accumulate(GradSlot& slot, const Tensor& g, const char* op) {
  const bool buffered = slot.is_leaf && slot.buffer.defined();
  if (!slot.grad.defined()) {
    if (buffered) {
      slot.buffer.copy_from(g);
      slot.grad = slot.buffer;
    } else {
      slot.grad = slot.is_leaf ? g.clone() : g;
    }
    return;
  }
  KRAIT_CHECK(slot.grad.shape() == g.shape() && slot.grad.dtype() == g.dtype(), "backward of ", op,
              ": gradient ", g.describe(), " does not match accumulated ", slot.grad.describe());
  NoGradGuard no_grad;
  const Tensor sum = ops::add(slot.grad, g);
  if (buffered) {
    slot.buffer.copy_from(sum);
  } else {
    slot.grad = sum;
  }
}

struct ClearTapeOnExit {
  ~ClearTapeOnExit() { tape.clear(); }
};

// For each tape index, the leaf slots whose last contribution comes from that node: backward runs
// the tape from the end, so a leaf is final after the lowest-indexed node that takes it as input.
std::vector<std::vector<const GradSlot*>> leaves_final_at() {
  std::vector<std::vector<const GradSlot*>> at(tape.size());
  std::unordered_set<const GradSlot*> seen;
  for (size_t i = 0; i < tape.size(); ++i) {
    for (const auto& slot : tape[i].inputs)
      if (slot && slot->is_leaf && seen.insert(slot.get()).second) at[i].push_back(slot.get());
  }
  return at;
}

// Runs one node's backward (when some output received a gradient) and accumulates into its inputs.
void run_node(Node node) {
  bool reached = false;
  for (const OutputMeta& out : node.outputs) reached = reached || out.slot->grad.defined();
  if (!reached) return;

  TensorList grad_outputs;
  for (const OutputMeta& out : node.outputs)
    grad_outputs.push_back(out.slot->grad.defined() ? out.slot->grad
                                                    : Tensor::zeros(out.shape, out.dtype, out.device));
  const TensorList grad_inputs = node.backward(grad_outputs);
  KRAIT_CHECK(grad_inputs.size() == node.inputs.size(), "backward of ", node.op, " returned ",
              grad_inputs.size(), " gradients for ", node.inputs.size(), " inputs");
  for (size_t k = 0; k < node.inputs.size(); ++k)
    if (node.inputs[k] && grad_inputs[k].defined()) accumulate(*node.inputs[k], grad_inputs[k], node.op);
  // Intermediate gradients are dead once their producer has run.
  for (const OutputMeta& out : node.outputs)
    if (!out.slot->is_leaf) out.slot->grad = Tensor();
}

// Runs every node from the end of the tape, once the roots' slots hold their seeds.
void run_tape() {
  NoGradGuard no_grad;  // backward closures compute with ops but must not record
  const auto final_at = leaf_final_hook ? leaves_final_at() : std::vector<std::vector<const GradSlot*>>();
  for (size_t i = tape.size(); i-- > 0;) {
    run_node(std::move(tape[i]));
    tape.pop_back();
    if (leaf_final_hook)
      for (const GradSlot* slot : final_at[i]) leaf_final_hook(*slot);
  }
}

}  // namespace

bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

bool needs_record(const TensorList& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

void record(const char* op, const TensorList& inputs, TensorList& outputs, BackwardFn backward) {
  Node node{op, {}, {}, std::move(backward)};
  node.inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) node.inputs.push_back(t.requires_grad() ? t.grad_slot() : nullptr);
  for (Tensor& out : outputs) {
    auto slot = std::make_shared<GradSlot>();
    out.attach_grad_slot(slot);
    node.outputs.push_back({slot, out.shape(), out.dtype(), out.device()});
  }
  tape.push_back(std::move(node));
}

void record(const char* op, const TensorList& inputs, Tensor& output,
            std::function<TensorList(const Tensor&)> backward) {
  TensorList outputs{output};
  record(op, inputs, outputs, [fn = std::move(backward)](const TensorList& g) { return fn(g[0]); });
}

void backward(const Tensor& root, const Tensor& seed) {
  ClearTapeOnExit clear_on_exit;  // also when a check below throws
  KRAIT_CHECK(root.requires_grad(), "backward: ", root.describe(), " does not require grad (was it computed "
              "under NoGradGuard, or from tensors that need no gradient?)");
  Tensor start = seed;
  if (!start.defined()) {
    KRAIT_CHECK(root.numel() == 1, "backward: root ", root.describe(), " is not a scalar; pass a seed gradient");
    start = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
  }
  backward(TensorList{root}, TensorList{start});
}

void backward(const TensorList& roots, const TensorList& seeds) {
  ClearTapeOnExit clear_on_exit;
  KRAIT_CHECK(roots.size() == seeds.size(), "backward: ", roots.size(), " roots but ", seeds.size(), " seeds");
  bool seeded = false;
  for (size_t k = 0; k < roots.size(); ++k) {
    if (!roots[k].defined() || !roots[k].requires_grad() || !seeds[k].defined()) continue;
    KRAIT_CHECK(seeds[k].shape() == roots[k].shape() && seeds[k].dtype() == roots[k].dtype(), "backward: seed ",
                seeds[k].describe(), " for root ", k, " ", roots[k].describe());
    accumulate(*roots[k].grad_slot(), seeds[k], "backward seed");
    seeded = true;
  }
  KRAIT_CHECK(seeded, "backward: none of the ", roots.size(), " roots requires grad and has a seed");
  run_tape();
}

LeafGradientHook::LeafGradientHook(std::function<void(const GradSlot&)> on_final)
    : previous_(std::exchange(leaf_final_hook, std::move(on_final))) {}
LeafGradientHook::~LeafGradientHook() { leaf_final_hook = std::move(previous_); }

struct NestedTape::Saved {
  std::vector<Node> tape;
  bool grad_mode;
  std::function<void(const GradSlot&)> hook;
};

NestedTape::NestedTape()
    : outer_(std::make_unique<Saved>(Saved{std::exchange(tape, {}), grad_mode, std::exchange(leaf_final_hook, {})})) {
  grad_mode = true;
}

NestedTape::~NestedTape() {
  tape = std::move(outer_->tape);
  grad_mode = outer_->grad_mode;
  leaf_final_hook = std::move(outer_->hook);
}

std::vector<const GradSlot*> NestedTape::external_inputs() const {
  std::unordered_set<const GradSlot*> produced, seen;
  std::vector<const GradSlot*> external;
  for (const Node& node : tape) {
    for (const auto& slot : node.inputs)
      if (slot && !produced.contains(slot.get()) && seen.insert(slot.get()).second) external.push_back(slot.get());
    for (const OutputMeta& out : node.outputs) produced.insert(out.slot.get());
  }
  return external;
}

void clear_tape() { tape.clear(); }
size_t tape_size() { return tape.size(); }

}  // namespace krait
