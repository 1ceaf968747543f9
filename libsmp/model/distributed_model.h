#pragma once
// DistributedModel: SMP's model wrapper. It takes a module whose children run one after another
// (torch::nn::Sequential, or any module plus its ordered children), splits the children into
// pp_size contiguous pipeline stages before the first smp::step runs — by hand (set_partition,
// default_partition) or by measured cost (auto_partition: rank 0 traces the step function up to
// the model call) — keeps only this rank's stage and serves it on the execution server. The step
// function runs on pipeline stage 0 only, as in SMP: there model(x) sends the activations down
// the stages and returns the model's output, and model.backward(loss) back-propagates through all
// of them. With ddp the stage's gradients are averaged over its DP group when the step ends.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libsmp/model/state_dict.h"

namespace smp {

struct ModelOptions {
  // Average gradients over microbatches (false: sum them, for sum-reduced losses).
  bool average_grads_across_microbatches = true;
  double bucket_cap_mb = 25;  // DDP allreduce bucket size
  // Broadcast buffers (e.g. batch-norm statistics) from dp_rank 0 at the start of every step.
  bool broadcast_buffers = true;
  // Gradients become views into the DDP buckets (no copies per step). Values are unaffected;
  // false keeps separate gradient tensors and copies them in and out of the buckets.
  bool gradient_as_bucket_view = true;
};

// One ordered child: its name under the root module, the module holding its parameters, and how
// to run it on one tensor. (A language binding can pass any callable here.)
struct Layer {
  std::string name;
  std::shared_ptr<torch::nn::Module> module;
  std::function<at::Tensor(const at::Tensor&)> forward;
};

namespace detail {
struct ModelImpl;
}

// The ordered children of a module, for DistributedModel: smp::children(net->conv, net->fc).
template <class... Holders>
std::vector<torch::nn::AnyModule> children(const Holders&... holders) {
  return {torch::nn::AnyModule(holders)...};
}

class DistributedModel {
 public:
  explicit DistributedModel(torch::nn::Sequential sequential, ModelOptions options = {});
  // `children`: direct or nested submodules of `root`, in the order they run.
  DistributedModel(std::shared_ptr<torch::nn::Module> root,
                   std::vector<torch::nn::AnyModule> children, ModelOptions options = {});
  DistributedModel(std::shared_ptr<torch::nn::Module> root, std::vector<Layer> layers,
                   ModelOptions options = {});
  // A module holder (TORCH_MODULE) and its ordered children: model(net, smp::children(net->a, net->b)).
  template <class M>
  DistributedModel(const torch::nn::ModuleHolder<M>& root,
                   std::vector<torch::nn::AnyModule> children, ModelOptions options = {})
      : DistributedModel(std::static_pointer_cast<torch::nn::Module>(root.ptr()),
                         std::move(children), std::move(options)) {}
  ~DistributedModel();
  DistributedModel(const DistributedModel&) = delete;
  DistributedModel& operator=(const DistributedModel&) = delete;

  // Inside a step function only.
  at::Tensor operator()(const at::Tensor& input) { return forward(input); }
  at::Tensor forward(const at::Tensor& input);
  void backward(const at::Tensor& loss);
  void backward(const std::vector<at::Tensor>& tensors, const std::vector<at::Tensor>& grad_tensors);

  // Manual partitioning (used when auto_partition is false); before the first step.
  void set_partition(const std::string& child, int index);
  void set_partition(const std::shared_ptr<torch::nn::Module>& child, int index);
  bool partitioned() const;
  std::vector<std::string> child_names() const;
  std::vector<int> partition() const;  // stage of every child; empty before partitioning
  void register_post_partition_hook(std::function<void(DistributedModel&)> hook);

  std::shared_ptr<torch::nn::Module> module() const;
  // All parameters before partitioning; this stage's afterwards.
  std::vector<at::Tensor> parameters() const;
  std::vector<at::Tensor> local_parameters() const;
  std::vector<std::pair<std::string, at::Tensor>> local_named_parameters() const;
  std::vector<at::Tensor> local_buffers() const;
  std::vector<std::pair<std::string, at::Tensor>> local_named_buffers() const;

  // Full state, gathered over the pipeline group: every rank of the pipeline must call it.
  StateDict state_dict();
  StateDict local_state_dict() const;  // this stage only (partial)
  // Full or partial; deferred until partitioning when called before the first step.
  void load_state_dict(const StateDict& state, bool strict = true);

  detail::ModelImpl& impl() { return *impl_; }

 private:
  std::unique_ptr<detail::ModelImpl> impl_;
};

// True while the auto-partition tracing pass runs (SMP's smp.is_tracing()).
bool is_tracing();

namespace detail {
DistributedModel* current_model();  // the live one, or nullptr
}  // namespace detail

}  // namespace smp
