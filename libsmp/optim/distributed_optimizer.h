#pragma once
// DistributedOptimizer: SMP's optimizer wrapper. It wraps a torch::optim optimizer built over the
// model's parameters (all of them, or only the local ones); once the model is partitioned it keeps
// only this stage's parameters. step() runs outside smp::step, when the backward and the DDP
// allreduce are complete. Its state dicts serialize the wrapped optimizer (positionally over the
// local parameters), per stage (local) or gathered over the pipeline (full).

#include <ATen/core/ivalue.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <optional>

namespace smp {

class DistributedModel;

class DistributedOptimizer {
 public:
  explicit DistributedOptimizer(std::shared_ptr<torch::optim::Optimizer> optimizer);
  ~DistributedOptimizer();
  DistributedOptimizer(const DistributedOptimizer&) = delete;
  DistributedOptimizer& operator=(const DistributedOptimizer&) = delete;

  void step();
  // Zeroes the local gradients in place (keeps DDP's bucket views); set_to_none drops them.
  void zero_grad(bool set_to_none = false);
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

  // {"_smp_is_partial": true, "_smp_pp_rank": s, "_smp_archive": uint8 tensor}
  c10::IValue local_state_dict();
  // {"_smp_is_partial": false, "_smp_archives": [one uint8 tensor per pipeline stage]};
  // collective over the pipeline group.
  c10::IValue state_dict();
  // Either form; deferred until the model is partitioned.
  void load_state_dict(const c10::IValue& state);

 private:
  void localize();  // drop non-local parameters once the model is partitioned
  void load_now(const c10::IValue& state);
  std::shared_ptr<torch::optim::Optimizer> optimizer_;
  bool localized_ = false;
  std::optional<c10::IValue> pending_;
};

namespace detail {
DistributedOptimizer* current_optimizer();  // the live one, or nullptr
}  // namespace detail

}  // namespace smp
