#pragma once
// ModelImpl: DistributedModel's state and machinery (internal): the ordered children, the
// partition and this rank's stage, the per-microbatch pipeline state of the running step, the
// stage's transport and the DDP reducer. Split over model_impl.cpp (construction, queries),
// partitioner.cpp (manual/auto partitioning), stage_exec.cpp (forward/backward per microbatch)
// and state_dict.cpp.

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libsmp/ddp/grad_reducer.h"
#include "libsmp/model/distributed_model.h"
#include "libsmp/pipeline/participant.h"
#include "libsmp/pipeline/transport.h"

namespace smp::detail {

// One microbatch's state on this stage during a step.
struct MicrobatchState {
  bool forward_called = false;
  bool backward_called = false;
  at::Tensor input;   // stage input; a leaf requiring grad when it came from a peer with grad
  at::Tensor output;  // stage output (kept until this stage's backward)
};

struct ModelImpl : pipeline::StepParticipant {
  ModelImpl(DistributedModel* owner, std::shared_ptr<torch::nn::Module> root,
            std::vector<Layer> layers, ModelOptions options);
  ~ModelImpl() override;

  DistributedModel* owner;
  std::shared_ptr<torch::nn::Module> root;
  std::vector<Layer> layers;
  ModelOptions options;
  std::map<std::string, int> manual;  // set_partition by child name

  // Partition (fixed at the first step).
  bool partitioned = false;
  int stage = 0, stages = 1;
  std::vector<int> assignment;                // stage of every child
  std::optional<std::vector<int>> forced;     // from a checkpoint: use instead of deciding
  std::vector<std::pair<std::string, at::Tensor>> local_params, local_buffers;
  std::unique_ptr<ddp::GradReducer> reducer;
  std::unique_ptr<pipeline::Transport> transport;
  at::Device device{at::kCPU};
  std::optional<StateDict> pending_load;
  bool pending_strict = true;
  std::vector<std::function<void(DistributedModel&)>> hooks;

  // The running step.
  std::vector<MicrobatchState> mbs;
  int microbatches = 1;
  long long step = 0;
  bool stepping = false;
  bool any_backward = false;
  // With DDP the backward is seeded with 1/dp so the allreduce can sum (no division pass). Grads
  // left from before (accumulation without zero_grad) are divided by dp at the next step's start
  // to stay correct; DistributedOptimizer::zero_grad marks them zero so that pass is skipped.
  bool grads_zeroed = true;
  int ddp_size() const;

  // partitioner.cpp
  void ensure_partitioned(const at::Tensor& sample);
  std::vector<int> manual_partition() const;
  std::vector<int> auto_partition(const at::Tensor& sample);
  void apply_partition(std::vector<int> assignment);

  // stage_exec.cpp
  at::Tensor forward(const at::Tensor& input);
  void backward(const std::vector<at::Tensor>& tensors, const std::vector<at::Tensor>& grads);
  at::Tensor run_local(const at::Tensor& input);
  void begin_step(const pipeline::StepContext& ctx) override;
  void progress() override;
  void end_step(const pipeline::StepContext& ctx) override;
  void abort_step() override;

  // state_dict.cpp
  StateDict local_state() const;
  StateDict full_state();
  void load_now(const StateDict& state, bool strict);

  // model_impl.cpp
  int index_of(const std::string& child) const;  // smp::Error naming the children
  std::string describe_partition() const;
};

}  // namespace smp::detail
