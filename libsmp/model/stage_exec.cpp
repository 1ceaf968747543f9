// DistributedModel inside smp::step, on the execution server: the step function runs on the
// leader (pipeline stage 0) only; model(x) there runs the children in order — each stage's
// contiguous run of them on that stage, reached by an execution request. A stage that finishes
// its run passes the request on to the next stage (ExecutionServer::forward_to), so activations
// travel down the chain 0 → 1 → … → P-1, the last stage returns the model's output to stage 0
// directly, and gradients travel back P-1 → … → 1 → 0. And the stage's part in the step's life
// (begin: per-microbatch state, buffer broadcast; end: DDP allreduce).
#include <ATen/Functions.h>
#include <torch/csrc/autograd/autograd.h>

#include "libsmp/model/model_impl.h"
#include "libsmp/pipeline/step.h"
#include "libsmp/pipeline/task_runner.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp::detail {
namespace {

int current_microbatch_or_throw(const char* api) {
  if (!pipeline::TaskRunner::current() || pipeline::TaskRunner::current_task() < 0 ||
      !smp::in_step())
    throw Error(std::string("smp::DistributedModel::") + api +
                " can only be called inside an smp::step function: wrap the forward pass, the "
                "loss and model.backward(loss) in the function you pass to smp::step.");
  return pipeline::TaskRunner::current_task();
}

}  // namespace

at::Tensor ModelImpl::run_from(size_t first, at::Tensor h, bool pass_on) {
  // MPI moves a large message only while its sender calls into MPI (without single-copy shared
  // memory, e.g. SageMaker's btl_vader_single_copy_mechanism=none). A reply posted before a long
  // forward or backward would then wait for it to end, so the stage drives its messages between
  // children, in the forward directly and in the backward from a gradient hook.
  pipeline::ExecutionServer* s = server.get();
  size_t i = first;
  for (; i < layers.size() && assignment[i] == stage; ++i) {
    h = layers[i].forward(h);
    if (stages == 1) continue;
    s->progress();
    if (h.requires_grad()) h.register_hook([s](const at::Tensor&) { s->progress(); });
  }
  if (i == layers.size()) return h;
  if (pass_on) {
    s->forward_to(assignment[i], static_cast<int>(i), pipeline::Packed{{}, {h}});
    return at::Tensor();
  }
  pipeline::Packed out = s->call(assignment[i], static_cast<int>(i), pipeline::Packed{{}, {h}});
  if (out.tensors.size() != 1 || !out.tensors[0].defined())
    throw Error("libsmp internal error: child '" + layers[i].name + "' returned no tensor from " +
                "pipeline stage " + std::to_string(assignment[i]));
  return out.tensors[0];
}

pipeline::Packed ModelImpl::serve(int first_child, pipeline::Packed args) {
  if (first_child < 0 || first_child >= static_cast<int>(layers.size()) ||
      assignment[first_child] != stage || args.tensors.size() != 1)
    throw Error("libsmp internal error: pipeline stage " + std::to_string(stage) +
                " got a request for child #" + std::to_string(first_child) + " it does not run");
  at::Tensor h = args.tensors[0];
  if (h.device() != device) h = h.to(device);
  at::Tensor out = run_from(static_cast<size_t>(first_child), h, /*pass_on=*/true);
  if (!out.defined()) return {};  // passed on: the chain's last stage replies
  return pipeline::Packed{{}, {out}};
}

at::Tensor ModelImpl::forward(const at::Tensor& input) {
  if (is_tracing()) trace_forward(input);
  const int mb = current_microbatch_or_throw("forward");
  if (!input.defined()) throw Error("smp::DistributedModel::forward: the input tensor is undefined.");
  if (!partitioned || !server || mb >= static_cast<int>(mbs.size()))
    throw Error("libsmp internal error: the model runs in microbatch " + std::to_string(mb) +
                " of a step it was not prepared for.");
  MicrobatchState& st = mbs[mb];
  if (st.forward_called)
    throw Error("smp::DistributedModel: the model was called twice in microbatch " +
                std::to_string(mb) + "; call it once per step function invocation.");
  st.forward_called = true;
  at::Tensor out =
      run_from(0, input.device() == device ? input : input.to(device), /*pass_on=*/false);
  return out.device() == device ? out : out.to(device);
}

void ModelImpl::backward(const std::vector<at::Tensor>& tensors,
                         const std::vector<at::Tensor>& grads) {
  if (is_tracing()) return;  // unreachable in practice: tracing ends at the model call
  const int mb = current_microbatch_or_throw("backward");
  if (mb >= static_cast<int>(mbs.size()) || !mbs[mb].forward_called)
    throw Error("smp::DistributedModel::backward: the model has not run forward in this "
                "microbatch; call model(x) before model.backward(loss).");
  MicrobatchState& st = mbs[mb];
  if (st.backward_called)
    throw Error("smp::DistributedModel::backward was called twice in microbatch " +
                std::to_string(mb) + "; call it once per step function invocation.");
  if (!grads.empty() && grads.size() != tensors.size())
    throw Error("smp::DistributedModel::backward: " + std::to_string(tensors.size()) +
                " tensors but " + std::to_string(grads.size()) + " gradients; give one per tensor.");
  st.backward_called = true;
  any_backward = true;
  double scale = options.average_grads_across_microbatches ? 1.0 / microbatches : 1.0;
  scale /= ddp_size();  // the DDP allreduce sums (see grads_zeroed)
  std::vector<at::Tensor> roots, seeds;
  for (size_t k = 0; k < tensors.size(); ++k) {
    if (!tensors[k].defined())
      throw Error("smp::DistributedModel::backward: tensor " + std::to_string(k) + " is undefined.");
    if (!tensors[k].requires_grad()) continue;  // e.g. a loss not computed from the output
    at::Tensor seed = grads.empty() || !grads[k].defined() ? at::ones_like(tensors[k]) : grads[k];
    roots.push_back(tensors[k]);
    seeds.push_back(scale == 1.0 ? seed : seed * scale);
  }
  if (!roots.empty()) server->backward(roots, seeds);
}

void ModelImpl::begin_step(long long step_index, int microbatch_count) {
  microbatches = microbatch_count;
  step = step_index;
  any_backward = false;
  mbs.assign(microbatch_count, MicrobatchState{});
  auto& rt = runtime();
  if (reducer && !grads_zeroed) {
    c10::AutoGradMode no_grad(false);
    for (auto& [name, p] : local_params)
      if (p.grad().defined()) p.mutable_grad().div_(ddp_size());
  }
  grads_zeroed = false;
  if (options.broadcast_buffers && rt.topology->dp_size() > 1 && !local_buffers.empty()) {
    c10::AutoGradMode no_grad(false);
    for (auto& [name, t] : local_buffers) rt.dp->broadcast_sync(t, 0);
  }
}

int ModelImpl::ddp_size() const {
  return reducer ? runtime().topology->dp_size() : 1;
}

void ModelImpl::end_step(bool backward_ran) {
  auto& rt = runtime();
  mbs.clear();
  if (reducer && backward_ran) reducer->reduce(rt.trace(), step, /*prescaled=*/true);
}

void ModelImpl::abort_step() {
  mbs.clear();
}

}  // namespace smp::detail
