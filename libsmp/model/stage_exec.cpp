// DistributedModel inside smp::step: one microbatch's forward and backward on this stage, and the
// stage's part in the step's life (begin: per-microbatch state, buffer broadcast; progress:
// pending sends; end: drain sends, DDP allreduce).
//
// Stage s of P, microbatch i:
//   forward   s > 0: wait for the activation from s-1 (a leaf requiring grad when the sender's
//             output did); run this stage's children; s < P-1: send the result to s+1 and wait
//             for the model output from P-1; s == P-1: send the output to every other stage.
//             Every stage returns the model's output.
//   backward  the yield point (the schedule decides when it runs); s == P-1: backprop the loss
//             (scaled by 1/microbatches when averaging); s < P-1: wait for the gradient of the
//             output from s+1 and backprop it; s > 0: send the input's gradient to s-1.
#include <ATen/Functions.h>
#include <torch/csrc/autograd/autograd.h>

#include "libsmp/model/model_impl.h"
#include "libsmp/pipeline/step.h"
#include "libsmp/pipeline/task_runner.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp::detail {
namespace {

pipeline::TaskRunner& current_runner(const char* api) {
  auto* runner = pipeline::TaskRunner::current();
  if (!runner || pipeline::TaskRunner::current_task() < 0 || !smp::in_step())
    throw Error(std::string("smp::DistributedModel::") + api +
                " can only be called inside an smp::step function: wrap the forward pass, the "
                "loss and model.backward(loss) in the function you pass to smp::step.");
  return *runner;
}

trace::Json span_args(long long step, int stage, int mb) {
  return trace::Json{{"step", step}, {"stage", stage}, {"microbatch", mb}};
}

}  // namespace

at::Tensor ModelImpl::run_local(const at::Tensor& input) {
  // MPI moves a large message only while its sender calls into MPI (without single-copy shared
  // memory, e.g. SageMaker's btl_vader_single_copy_mechanism=none). A send posted before a long
  // forward or backward would then wait for it to end, so the stage drives its pending sends
  // between children, in the forward directly and in the backward from a gradient hook.
  at::Tensor h = input;
  pipeline::Transport* t = transport.get();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (assignment[i] != stage) continue;
    h = layers[i].forward(h);
    if (!t || stages == 1) continue;
    t->progress();
    if (h.requires_grad()) h.register_hook([t](const at::Tensor&) { t->progress(); });
  }
  return h;
}

at::Tensor ModelImpl::forward(const at::Tensor& input) {
  auto& runner = current_runner("forward");
  const int mb = pipeline::TaskRunner::current_task();
  if (!input.defined()) throw Error("smp::DistributedModel::forward: the input tensor is undefined.");
  ensure_partitioned(input);
  if (mb >= static_cast<int>(mbs.size()))
    throw Error("libsmp internal error: microbatch " + std::to_string(mb) + " has no state.");
  MicrobatchState& st = mbs[mb];
  if (st.forward_called)
    throw Error("smp::DistributedModel: the model was called twice in microbatch " +
                std::to_string(mb) + "; call it once per step function invocation.");
  st.forward_called = true;
  auto& rt = runtime();
  trace::Tracer* tracer = rt.trace();

  at::Tensor in = input;
  if (stage > 0) {
    auto incoming = transport->receive(stage - 1, pipeline::Channel::kActivation, mb, step);
    runner.wait({[incoming] { return incoming->test(); }, incoming->description()});
    in = incoming->tensor();
    if (in.device() != device) in = in.to(device);
    if (incoming->requires_grad()) in.requires_grad_(true);
  } else if (in.device() != device) {
    in = in.to(device);
  }
  double t0 = tracer ? trace::now_us() : 0;
  at::Tensor out = run_local(in);
  if (tracer)
    tracer->span("F" + std::to_string(mb), "forward", t0, trace::now_us(), 0, span_args(step, stage, mb));
  runner.forward_done();
  st.input = in;
  st.output = out;
  if (stage < stages - 1) {
    transport->send(out, stage + 1, pipeline::Channel::kActivation, mb, out.requires_grad(), step);
    auto incoming = transport->receive(stages - 1, pipeline::Channel::kOutput, mb, step);
    runner.wait({[incoming] { return incoming->test(); }, incoming->description()});
    at::Tensor result = incoming->tensor();
    return result.device() == device ? result : result.to(device);
  }
  for (int s = 0; s < stages - 1; ++s)
    transport->send(out, s, pipeline::Channel::kOutput, mb, false, step);
  return out;
}

void ModelImpl::backward(const std::vector<at::Tensor>& tensors,
                         const std::vector<at::Tensor>& grads) {
  auto& runner = current_runner("backward");
  const int mb = pipeline::TaskRunner::current_task();
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
  auto& rt = runtime();
  trace::Tracer* tracer = rt.trace();
  const bool last = stage == stages - 1;

  std::shared_ptr<pipeline::IncomingTensor> grad_in;
  if (!last && st.output.requires_grad())
    grad_in = transport->receive(stage + 1, pipeline::Channel::kGradient, mb, step);
  if (grad_in)
    runner.enter_backward({[grad_in] { return grad_in->test(); }, grad_in->description()});
  else
    runner.enter_backward({[] { return true; }, "this stage's turn to run the backward"});

  double t0 = tracer ? trace::now_us() : 0;
  if (last) {
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
    if (!roots.empty()) torch::autograd::backward(roots, seeds);
  } else if (grad_in) {
    at::Tensor g = grad_in->tensor();
    if (g.device() != st.output.device()) g = g.to(st.output.device());
    torch::autograd::backward({st.output}, {g});
  }
  if (tracer)
    tracer->span("B" + std::to_string(mb), "backward", t0, trace::now_us(), 0, span_args(step, stage, mb));
  if (stage > 0 && st.input.requires_grad()) {
    at::Tensor g = st.input.grad();
    if (!g.defined()) g = at::zeros_like(st.input);
    transport->send(g, stage - 1, pipeline::Channel::kGradient, mb, false, step);
  }
  st.input = at::Tensor();
  st.output = at::Tensor();
}

void ModelImpl::begin_step(const pipeline::StepContext& ctx) {
  microbatches = ctx.microbatches;
  step = ctx.step;
  stepping = true;
  any_backward = false;
  mbs.assign(ctx.microbatches, MicrobatchState{});
  auto& rt = runtime();
  if (reducer && !grads_zeroed) {
    c10::AutoGradMode no_grad(false);
    for (auto& [name, p] : local_params)
      if (p.grad().defined()) p.mutable_grad().div_(ddp_size());
  }
  grads_zeroed = false;
  if (partitioned && options.broadcast_buffers && rt.topology->dp_size() > 1 && !local_buffers.empty()) {
    c10::AutoGradMode no_grad(false);
    for (auto& [name, t] : local_buffers) rt.dp->broadcast_sync(t, 0);
  }
}

int ModelImpl::ddp_size() const {
  return reducer ? runtime().topology->dp_size() : 1;
}

void ModelImpl::progress() {
  if (transport) transport->progress();
}

void ModelImpl::end_step(const pipeline::StepContext&) {
  auto& rt = runtime();
  stepping = false;
  if (transport)
    transport->drain(rt.timeout, "rank " + std::to_string(rt.rank) + " (pipeline stage " +
                                     std::to_string(stage) + "), end of step " + std::to_string(step));
  mbs.clear();
  if (reducer && any_backward) reducer->reduce(rt.trace(), step, /*prescaled=*/true);
}

void ModelImpl::abort_step() {
  stepping = false;
  if (transport) transport->abandon();
  mbs.clear();
}

}  // namespace smp::detail
