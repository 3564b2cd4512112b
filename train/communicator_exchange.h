// train/communicator_exchange.h — CommunicatorExchange: the ExpertExchange (layers/expert_exchange.h)
// of a data-parallel run, over its dist::Communicator.
#pragma once

#include "dist/communicator.h"
#include "layers/expert_exchange.h"

namespace krait::train {

class CommunicatorExchange final : public ExpertExchange {
 public:
  explicit CommunicatorExchange(dist::Communicator& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int ranks() const override { return comm_.world_size(); }
  // The collective, then wait(): the compute stream waits for it (and for any gradient all-reduce
  // started before it), since the next op reads recv.
  void all_to_all(const Tensor& send, const Tensor& recv) const override {
    comm_.all_to_all(send, recv);
    comm_.wait();
  }

 private:
  dist::Communicator& comm_;
};

}  // namespace krait::train
