#pragma once
// ModelImpl: DistributedModel's state and machinery (internal): the ordered children, the
// partition and this rank's stage, the per-microbatch state of the running step, the stage's
// execution server and the DDP reducer. Split over model_impl.cpp (construction, queries),
// partitioner.cpp (manual/auto partitioning), stage_exec.cpp (forward/backward on the execution
// server) and state_dict.cpp.

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libsmp/ddp/grad_reducer.h"
#include "libsmp/core/partition.h"
#include "libsmp/model/distributed_model.h"
#include "libsmp/pipeline/exec_server.h"
#include "libsmp/pipeline/step.h"

namespace smp::detail {

// One microbatch's state on the leader (pipeline stage 0) during a step.
struct MicrobatchState {
  bool forward_called = false;
  bool backward_called = false;
};

struct ModelImpl {
  ModelImpl(DistributedModel* owner, std::shared_ptr<torch::nn::Module> root,
            std::vector<Layer> layers, ModelOptions options);
  ~ModelImpl();

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
  std::unique_ptr<pipeline::ExecutionServer> server;
  at::Device device{at::kCPU};
  std::optional<StateDict> pending_load;
  bool pending_strict = true;
  std::vector<std::function<void(DistributedModel&)>> hooks;

  // The running step.
  std::vector<MicrobatchState> mbs;
  int microbatches = 1;
  long long step = 0;
  bool any_backward = false;
  // With DDP the backward is seeded with 1/dp so the allreduce can sum (no division pass). Grads
  // left from before (accumulation without zero_grad) are divided by dp at the next step's start
  // to stay correct; DistributedOptimizer::zero_grad marks them zero so that pass is skipped.
  bool grads_zeroed = true;
  int ddp_size() const;

  // partitioner.cpp
  // Every rank, before a step: partitions the model at the first one (auto: rank 0 runs the step
  // function on `first` until the model is called, profiling its children) and starts the server.
  void prepare_step(const StepFunction& fn, const Inputs& first);
  std::vector<int> manual_partition() const;
  std::vector<int> auto_partition(const StepFunction& fn, const Inputs& first);
  // model(x) while rank 0 traces: profiles every child on x, then ends the traced step function.
  [[noreturn]] void trace_forward(const at::Tensor& input);
  void apply_partition(std::vector<int> assignment);
  std::vector<core::ChildProfile> traced;  // rank 0, during auto-partitioning

  // stage_exec.cpp
  at::Tensor forward(const at::Tensor& input);  // the leader, in the step function
  void backward(const std::vector<at::Tensor>& tensors, const std::vector<at::Tensor>& grads);
  // Runs the children from `first` on: this stage's run of them, then the rest on their owners —
  // by a call (returns the model's output), or with `pass_on` (serving a request) by passing the
  // request on to the next stage (returns an undefined tensor: that stage's chain replies).
  at::Tensor run_from(size_t first, at::Tensor input, bool pass_on);
  pipeline::Packed serve(int first_child, pipeline::Packed args);  // the server's ModuleRunner
  void begin_step(long long step, int microbatches);
  // `backward_ran`: whether any microbatch ran model.backward (the leader tells the followers).
  void end_step(bool backward_ran);
  void abort_step();

  // state_dict.cpp
  StateDict local_state() const;
  StateDict full_state();
  void load_now(const StateDict& state, bool strict);

  // model_impl.cpp
  int index_of(const std::string& child) const;  // smp::Error naming the children
  std::string describe_partition() const;
};

}  // namespace smp::detail
