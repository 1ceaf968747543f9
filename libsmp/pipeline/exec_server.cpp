#include "libsmp/pipeline/exec_server.h"

#include <ATen/Functions.h>
#include <ATen/ThreadLocalState.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <optional>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/comm/work.h"
#include "libsmp/runtime/error.h"

namespace smp::pipeline {
namespace {

thread_local ExecutionServer* t_running = nullptr;

// Restores the thread's running server when a step (or a nested call) unwinds.
struct RunningGuard {
  ExecutionServer* saved;
  explicit RunningGuard(ExecutionServer* s) : saved(t_running) { t_running = s; }
  ~RunningGuard() { t_running = saved; }
};

int current_microbatch_or_throw(const char* what) {
  const int mb = TaskRunner::current_task();
  if (!TaskRunner::current() || mb < 0)
    throw Error(std::string("libsmp: ") + what + " is only possible inside a step function (smp.step).");
  return mb;
}

}  // namespace

// A forward request made by this rank, as its Crossing node sees it.
struct ExecutionServer::CallState {
  ExecutionServer* server = nullptr;
  int owner = 0;
  int module = -1;
  int microbatch = 0;
  int64_t call = 0;
  int64_t record = 0;       // the id the backward request uses (the chain end's, see Message)
  Packed args;              // all argument tensors, as sent
  std::vector<bool> args_requires_grad;
  Packed result;            // filled by forward_call
  std::vector<bool> result_requires_grad;
};

// One forward request this rank served and may still have to back-propagate.
struct ExecutionServer::Record {
  int upstream = 0;           // the stage the request came from: it gets the input gradients
  int64_t upstream_call = 0;  // passed on: the upstream stage's id of its part
  int reply_to = 0;           // the stage that made the original call (told of failures)
  bool head = true;  // straight from the caller (a backward reply), or passed on along a chain
                     // (the input gradients go upstream as that stage's backward request)
  std::vector<at::Tensor> inputs;   // leaves requiring grad (undefined where the input did not)
  std::vector<at::Tensor> outputs;  // the module's output tensors, or the ones passed on
};

// The runner's forward_to, while it serves a forward request.
struct Tail {
  int owner = -1;
  int module = -1;
  Packed args;
};

struct ExecutionServer::Microbatch {
  std::unique_ptr<Incoming> incoming;
  std::map<int64_t, Record> records;
  int serving_forward = 0;    // depth of forward requests being served (forward_to needs one)
  std::optional<Tail> tail;   // set by forward_to
  double span_start = 0;     // start of the running compute stretch (trace)
  bool backward = false;     // that stretch is backward work
};

// The autograd node of one remote call on the caller's side (see the header).
struct Crossing : torch::autograd::Function<Crossing> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& /*anchor*/,
                                                at::TensorList /*grad_inputs*/,
                                                ExecutionServer::CallState* state) {
    ctx->set_materialize_grads(false);
    Packed out = state->server->forward_call(*state);
    state->result.skeleton = std::move(out.skeleton);
    std::vector<at::Tensor> non_differentiable;
    for (size_t i = 0; i < out.tensors.size(); ++i)
      if (!state->result_requires_grad[i]) non_differentiable.push_back(out.tensors[i]);
    ctx->mark_non_differentiable(non_differentiable);
    ctx->saved_data["owner"] = static_cast<int64_t>(state->owner);
    ctx->saved_data["call"] = state->call;
    ctx->saved_data["record"] = state->record;
    ctx->saved_data["microbatch"] = static_cast<int64_t>(state->microbatch);
    int64_t n_inputs = 0;
    for (bool r : state->args_requires_grad) n_inputs += r ? 1 : 0;
    ctx->saved_data["inputs"] = n_inputs;
    ctx->saved_data["server"] = reinterpret_cast<int64_t>(state->server);
    return out.tensors;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* server = reinterpret_cast<ExecutionServer*>(ctx->saved_data["server"].toInt());
    const auto n_inputs = static_cast<size_t>(ctx->saved_data["inputs"].toInt());
    std::vector<at::Tensor> input_grads = server->backward_call(
        static_cast<int>(ctx->saved_data["owner"].toInt()), ctx->saved_data["record"].toInt(),
        ctx->saved_data["call"].toInt(),
        static_cast<int>(ctx->saved_data["microbatch"].toInt()), std::move(grads), n_inputs);
    torch::autograd::variable_list out;
    out.reserve(n_inputs + 2);
    out.emplace_back();  // the anchor
    for (auto& g : input_grads) out.push_back(std::move(g));
    out.emplace_back();  // the CallState pointer
    return out;
  }
};

ExecutionServer::ExecutionServer(MPI_Comm pipeline_comm, int stage, int stages, ModuleRunner runner,
                                 trace::Tracer* tracer)
    : stage_(stage), stages_(stages), runner_(std::move(runner)), tracer_(tracer) {
  if (MPI_Comm_dup(pipeline_comm, &comm_) != MPI_SUCCESS)
    throw Error("libsmp: MPI_Comm_dup of the pipeline communicator failed");
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  MPI_Comm_group(comm_, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> local(stages_);
  for (int s = 0; s < stages_; ++s) local[s] = s;
  world_ranks_.assign(stages_, -1);
  MPI_Group_translate_ranks(group, stages_, local.data(), world, world_ranks_.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  outbox_ = std::make_unique<Outbox>(comm_);
}

ExecutionServer::~ExecutionServer() {
  outbox_.reset();
  mbs_.clear();
  control_.reset();
  if (comm_ != MPI_COMM_NULL && comm::mpi_alive()) MPI_Comm_free(&comm_);
}

ExecutionServer* ExecutionServer::running() { return t_running; }

void ExecutionServer::progress() {
  if (t_running != this || TaskRunner::current_task() < 0) return;  // outside the step's tasks
  outbox_->progress();
  for (auto& mb : mbs_)
    if (mb.incoming && mb.incoming->envelope_known()) mb.incoming->test();
}

std::string ExecutionServer::stage_name(int stage) const {
  std::string name = "pipeline stage " + std::to_string(stage);
  if (stage >= 0 && stage < stages_ && world_ranks_[stage] >= 0)
    name += " (global rank " + std::to_string(world_ranks_[stage]) + ")";
  return name;
}

void ExecutionServer::send(Message message, int dst_stage) {
  message.step = step_;
  outbox_->send(std::move(message), dst_stage);
}

void ExecutionServer::park_span(int microbatch) {
  if (!tracer_) return;
  Microbatch& mb = mbs_.at(microbatch);
  if (mb.span_start < 0) return;  // idle: nothing computed since the last wait
  const double now = trace::now_us();
  tracer_->span((mb.backward ? "B" : "F") + std::to_string(microbatch),
                mb.backward ? "backward" : "forward", mb.span_start, now, 0,
                trace::Json{{"step", step_}, {"stage", stage_}, {"microbatch", microbatch}});
}

void ExecutionServer::resume_span(int microbatch) {
  if (tracer_) mbs_.at(microbatch).span_start = trace::now_us();
}

void ExecutionServer::wait_for(int microbatch, Wait wait) {
  if (wait.ready() && !tasks_.earlier_ready()) {
    // Here already: the compute stretch goes on (or, idle, starts now).
    if (tracer_ && mbs_.at(microbatch).span_start < 0) resume_span(microbatch);
    return;
  }
  park_span(microbatch);
  tasks_.wait(std::move(wait));
  resume_span(microbatch);
}

Message ExecutionServer::next_message(int microbatch, const std::string& what) {
  Microbatch& mb = mbs_.at(microbatch);
  if (!mb.incoming) mb.incoming = std::make_unique<Incoming>(comm_, microbatch);
  Incoming* in = mb.incoming.get();
  const bool leader = stage_ == 0;
  // Waiting for a message, the task has no compute due here: other microbatches may run meanwhile.
  tasks_.set_parked_remote(true);
  wait_for(microbatch, Wait{[this, in, microbatch, leader] {
                     if (!leader && leader_failed()) return true;
                     if (!in->test()) {
                       if (!leader && in->envelope_known()) {
                         // The schedule learns early what kind of work this task is about to do.
                         const MessageKind k = in->message().kind;
                         if (k == MessageKind::kBackwardRequest)
                           tasks_.set_phase(microbatch, core::TaskPhase::kBackward, true);
                       }
                       return false;
                     }
                     if (!leader) {
                       switch (in->message().kind) {
                         case MessageKind::kForwardRequest:
                           tasks_.set_phase(microbatch, core::TaskPhase::kForward, false);
                           break;
                         case MessageKind::kBackwardRequest:
                           tasks_.set_phase(microbatch, core::TaskPhase::kBackward, true);
                           break;
                         default:  // replies continue a running call; End/Error end the task
                           break;
                       }
                     }
                     return true;
                   },
                   what});
  tasks_.set_parked_remote(false);
  if (!leader_failure_.empty()) throw Error(leader_failure_);
  Message m = in->take();
  mb.incoming.reset();
  if (m.step != step_)
    throw Error("libsmp execution server: a message of step " + std::to_string(m.step) +
                " arrived during step " + std::to_string(step_) +
                "; every rank of the pipeline must call the step function the same number of times.");
  return m;
}

bool ExecutionServer::leader_failed() {
  if (!leader_failure_.empty()) return true;
  if (!control_) control_ = std::make_unique<Incoming>(comm_, kControl);
  if (!control_->test()) return false;
  Message m = control_->take();
  control_.reset();
  // A notice of an earlier step (one this rank had already left on its own failure) is stale.
  if (m.step == step_ && m.kind == MessageKind::kError) leader_failure_ = m.packed.skeleton;
  return !leader_failure_.empty();
}

Message ExecutionServer::await(int microbatch, MessageKind kind, int64_t call, int from_stage,
                               const std::string& what) {
  for (;;) {
    tasks_.set_awaiting(from_stage);
    Message m = next_message(microbatch, what);
    tasks_.set_awaiting(-1);
    if (m.kind == kind && m.call == call) return m;
    switch (m.kind) {
      case MessageKind::kForwardRequest:
      case MessageKind::kBackwardRequest:
        serve(std::move(m));  // a nested call of this microbatch back on this stage
        break;
      case MessageKind::kError:
        throw Error(m.packed.skeleton);
      default:
        throw Error("libsmp execution server: unexpected " + std::string(to_string(m.kind)) +
                    " from " + stage_name(m.source) + " for microbatch " +
                    std::to_string(microbatch) + " while waiting for " + what);
    }
  }
}

void ExecutionServer::serve(Message message) {
  Microbatch& mb = mbs_.at(message.microbatch);
  const bool was_backward = mb.backward;
  const bool backward = message.kind == MessageKind::kBackwardRequest;
  if (backward != was_backward) {  // a new kind of work: the stretch so far ends here
    park_span(message.microbatch);
    mb.backward = backward;
    resume_span(message.microbatch);
  }
  if (backward) serve_backward(std::move(message));
  else serve_forward(std::move(message));
  if (backward != was_backward) {
    park_span(message.microbatch);
    mb.backward = was_backward;
    resume_span(message.microbatch);
  }
}

void ExecutionServer::serve_forward(Message m) {
  const int caller = m.source;
  const bool head = m.reply_to < 0;
  const int reply_to = head ? m.source : m.reply_to;
  const int64_t origin_call = head ? m.call : m.origin_call;
  const int mb = m.microbatch;
  Record rec;
  rec.upstream = caller;
  rec.upstream_call = m.record;
  rec.reply_to = reply_to;
  rec.head = head;
  rec.inputs.resize(m.packed.tensors.size());
  for (size_t i = 0; i < m.packed.tensors.size(); ++i)
    if (m.grad_enabled && m.requires_grad[i] && m.packed.tensors[i].defined()) {
      m.packed.tensors[i].requires_grad_(true);
      rec.inputs[i] = m.packed.tensors[i];
    }
  Packed out;
  std::optional<Tail> tail;
  Microbatch& state = mbs_[mb];
  try {
    c10::AutoGradMode mode(m.grad_enabled);
    ++state.serving_forward;
    state.tail.reset();
    out = runner_(m.module, std::move(m.packed));
    --state.serving_forward;
    tail = std::move(state.tail);
    state.tail.reset();
  } catch (const TaskRunner::StepAborted&) {
    throw;
  } catch (const std::exception& e) {
    Message err;
    err.kind = MessageKind::kError;
    err.microbatch = mb;
    err.packed.skeleton =
        std::string("the module call on ") + stage_name(stage_) + " failed:\n" + e.what();
    send(std::move(err), reply_to);
    throw;
  }
  Message next;
  int dst = reply_to;
  bool keep = false;
  if (tail) {  // passed on: the last stage of the chain replies to the original caller
    next.kind = MessageKind::kForwardRequest;
    next.call = new_call_id();  // a chain may visit a stage again: every part has its own id
    next.origin_call = origin_call;
    next.module = tail->module;
    next.grad_enabled = m.grad_enabled;
    next.reply_to = reply_to;
    next.packed = std::move(tail->args);
    dst = tail->owner;
    for (const auto& t : next.packed.tensors) {
      const bool r = m.grad_enabled && t.defined() && t.requires_grad();
      next.requires_grad.push_back(r);
      if (r) rec.outputs.push_back(t);  // the next stage returns their gradients, in order
    }
    keep = !rec.outputs.empty();
  } else {
    next.kind = MessageKind::kForwardReply;
    next.call = origin_call;
    next.requires_grad.reserve(out.tensors.size());
    for (const auto& t : out.tensors) {
      const bool r = t.defined() && t.requires_grad();
      next.requires_grad.push_back(r);
      keep = keep || r;
    }
    if (keep) rec.outputs = out.tensors;
    next.packed = std::move(out);
  }
  next.microbatch = mb;
  next.record = m.call;  // this stage's id of its part
  if (keep) state.records[m.call] = std::move(rec);
  send(std::move(next), dst);
}

void ExecutionServer::forward_to(int owner, int module, Packed args) {
  const int mb = current_microbatch_or_throw("forward_to");
  Microbatch& state = mbs_.at(mb);
  if (state.serving_forward <= 0 || state.tail)
    throw Error("libsmp execution server: forward_to is only possible once, at the end of a "
                "module run that serves another stage's forward request");
  check_stage(owner, "forward_to");
  state.tail = Tail{owner, module, std::move(args)};
}

int64_t ExecutionServer::new_call_id() {
  return (static_cast<int64_t>(stage_) << 40) | next_call_++;
}

void ExecutionServer::check_stage(int owner, const char* what) const {
  if (owner == stage_ || owner < 0 || owner >= stages_)
    throw Error(std::string("libsmp execution server: ") + what + " to stage " +
                std::to_string(owner) + " from stage " + std::to_string(stage_) + " (of " +
                std::to_string(stages_) + ")");
}

void ExecutionServer::serve_backward(Message m) {
  const int mb = m.microbatch;
  auto& records = mbs_[mb].records;
  auto it = records.find(m.call);
  if (it == records.end())
    throw Error("libsmp execution server: a backward request for a call this stage did not run "
                "(or already back-propagated) arrived; a module's output may be used in two "
                "backward passes, which SMP does not support");
  Record rec = std::move(it->second);
  records.erase(it);
  std::vector<at::Tensor> outs, grads;
  for (size_t i = 0; i < rec.outputs.size() && i < m.packed.tensors.size(); ++i) {
    const at::Tensor& o = rec.outputs[i];
    const at::Tensor& g = m.packed.tensors[i];
    if (o.defined() && o.requires_grad() && g.defined()) {
      outs.push_back(o);
      grads.push_back(g.device() == o.device() ? g : g.to(o.device()));
    }
  }
  try {
    if (!outs.empty()) torch::autograd::backward(outs, grads);
  } catch (const TaskRunner::StepAborted&) {
    throw;
  } catch (const std::exception& e) {
    Message err;
    err.kind = MessageKind::kError;
    err.microbatch = mb;
    err.packed.skeleton = std::string("the backward of a module call on ") + stage_name(stage_) +
                          " failed:\n" + e.what();
    send(std::move(err), rec.reply_to);
    throw;
  }
  // The head of a chain (or a plain call) replies to the caller; a stage further down passes the
  // gradients of its inputs on to the stage before it, as that stage's backward request.
  Message reply;
  reply.kind = rec.head ? MessageKind::kBackwardReply : MessageKind::kBackwardRequest;
  reply.microbatch = mb;
  reply.call = rec.head ? m.call : rec.upstream_call;
  for (auto& leaf : rec.inputs) {
    if (!leaf.defined()) continue;  // the caller only expects inputs that required grad
    reply.packed.tensors.push_back(leaf.grad());
  }
  reply.requires_grad.assign(reply.packed.tensors.size(), false);
  send(std::move(reply), rec.upstream);
}

Packed ExecutionServer::forward_call(CallState& s) {
  Message req;
  req.kind = MessageKind::kForwardRequest;
  req.microbatch = s.microbatch;
  req.call = s.call;
  req.module = s.module;
  req.grad_enabled = true;
  req.packed = s.args;
  req.requires_grad = s.args_requires_grad;
  send(std::move(req), s.owner);
  Message reply = await(s.microbatch, MessageKind::kForwardReply, s.call, s.owner,
                        "the outputs of module #" + std::to_string(s.module) + " (microbatch " +
                            std::to_string(s.microbatch) + ") from " + stage_name(s.owner));
  s.result_requires_grad = reply.requires_grad;
  s.owner = reply.source;  // the end of a chain (forward_to): the backward starts there
  s.record = reply.record;
  return std::move(reply.packed);
}

std::vector<at::Tensor> ExecutionServer::backward_call(int owner, int64_t record, int64_t call,
                                                       int microbatch,
                                                       std::vector<at::Tensor> grads,
                                                       size_t n_inputs) {
  if (TaskRunner::current_task() != microbatch)
    throw Error("libsmp execution server: the backward of microbatch " + std::to_string(microbatch) +
                " ran outside its task; call model.backward inside the step function");
  Message req;
  req.kind = MessageKind::kBackwardRequest;
  req.microbatch = microbatch;
  req.call = record;
  req.packed.tensors = std::move(grads);
  req.requires_grad.assign(req.packed.tensors.size(), false);
  send(std::move(req), owner);
  Message reply = await(microbatch, MessageKind::kBackwardReply, call, owner,
                        "the input gradients of a module call (microbatch " +
                            std::to_string(microbatch) + ") from " + stage_name(owner));
  if (reply.packed.tensors.size() != n_inputs)
    throw Error("libsmp execution server: " + stage_name(owner) + " returned " +
                std::to_string(reply.packed.tensors.size()) + " input gradients for " +
                std::to_string(n_inputs) + " inputs");
  return std::move(reply.packed.tensors);
}

Packed ExecutionServer::call(int owner, int module, Packed args) {
  const int mb = current_microbatch_or_throw("calling a module of another pipeline stage");
  check_stage(owner, "call()");
  CallState s;
  s.server = this;
  s.owner = owner;
  s.module = module;
  s.microbatch = mb;
  s.call = new_call_id();
  s.args_requires_grad.reserve(args.tensors.size());
  std::vector<at::Tensor> grad_inputs;
  const bool grad = c10::GradMode::is_enabled();
  for (const auto& t : args.tensors) {
    const bool r = grad && t.defined() && t.requires_grad();
    s.args_requires_grad.push_back(r);
    if (r) grad_inputs.push_back(t);
  }
  s.args = std::move(args);
  if (!grad) {
    Message req;
    req.kind = MessageKind::kForwardRequest;
    req.microbatch = mb;
    req.call = s.call;
    req.module = module;
    req.grad_enabled = false;
    req.packed = std::move(s.args);
    req.requires_grad = s.args_requires_grad;
    send(std::move(req), owner);
    Message reply = await(mb, MessageKind::kForwardReply, s.call, owner,
                          "the outputs of module #" + std::to_string(module) + " (microbatch " +
                              std::to_string(mb) + ") from " + stage_name(owner));
    return std::move(reply.packed);
  }
  // The anchor makes the node part of the graph even when no argument requires grad (the
  // module's parameters live on the owner).
  at::Tensor anchor = at::empty({0}).requires_grad_(true);
  auto outputs = Crossing::apply(anchor, at::TensorList(grad_inputs), &s);
  Packed result;
  result.skeleton = std::move(s.result.skeleton);
  result.tensors = std::move(outputs);
  return result;
}

void ExecutionServer::backward(const std::vector<at::Tensor>& tensors,
                               const std::vector<at::Tensor>& grads) {
  current_microbatch_or_throw("model.backward");
  if (stage_ != 0) throw Error("libsmp: model.backward runs on pipeline stage 0 only");
  const int microbatch = TaskRunner::current_task();
  tasks_.forward_done();
  park_span(microbatch);
  tasks_.enter_backward(Wait{[] { return true; }, "its turn to run the backward"});
  mbs_.at(microbatch).backward = true;
  resume_span(microbatch);
  torch::autograd::backward(tensors, grads);
}

void ExecutionServer::follower_task(int microbatch, std::vector<Packed>& results) {
  // Idle between requests: past its forward, so any order of arrival is fine for the schedule.
  tasks_.set_phase(microbatch, core::TaskPhase::kForward, true);
  for (;;) {
    Message m = next_message(microbatch, "a request or the end of microbatch " +
                                             std::to_string(microbatch) + " from the pipeline");
    switch (m.kind) {
      case MessageKind::kForwardRequest:
      case MessageKind::kBackwardRequest: {
        const bool backward = m.kind == MessageKind::kBackwardRequest;
        // The stretch that starts here is this request's work: label it so (serve() then has no
        // change of kind to split at).
        mbs_[microbatch].backward = backward;
        serve(std::move(m));
        tasks_.set_phase(microbatch, backward ? core::TaskPhase::kBackward : core::TaskPhase::kForward,
                         true);
        break;
      }
      case MessageKind::kEnd:
        results[microbatch] = std::move(m.packed);
        mbs_[microbatch].records.clear();
        return;
      case MessageKind::kError:
        throw Error(m.packed.skeleton);
      default:
        throw Error("libsmp execution server: unexpected " + std::string(to_string(m.kind)) +
                    " from " + stage_name(m.source) + " for microbatch " + std::to_string(microbatch));
    }
  }
}

void ExecutionServer::fail_followers(const std::string& what, int64_t step) {
  // One notice per follower on the control tag: every waiting task of that stage sees it.
  for (int s = 1; s < stages_; ++s) {
    Message err;
    err.kind = MessageKind::kError;
    err.microbatch = kControl;
    err.step = step;
    err.packed.skeleton = what;
    outbox_->send(std::move(err), s);
  }
  outbox_->progress();
}

std::vector<Packed> ExecutionServer::run_step(int microbatches, const StepBody& body,
                                              const RunOptions& options, int64_t step) {
  if (microbatches < 1 || microbatches > kMaxServerMicrobatches)
    throw Error("libsmp: microbatches must be between 1 and " +
                std::to_string(kMaxServerMicrobatches));
  RunningGuard running(this);
  const double step_start = tracer_ ? trace::now_us() : 0;
  step_ = step;
  leader_failure_.clear();
  mbs_.clear();
  mbs_.resize(microbatches);
  std::vector<Packed> results(microbatches);
  RunOptions run = options;
  Outbox* outbox = outbox_.get();
  auto user_progress = options.progress;
  run.progress = [outbox, user_progress] {
    outbox->progress();
    if (user_progress) user_progress();
  };
  run.run_inline = options.run_inline && stages_ == 1;
  // active_microbatches caps admission on the leader only: a follower holding back a request of an
  // admitted microbatch (its task for an earlier one still waiting for the end message) would
  // only delay the pipeline.
  if (stage_ != 0) run.active_microbatches = microbatches;
  at::ThreadLocalState tls;  // grad mode etc. of the caller, for every task thread
  try {
    if (stage_ == 0) {
      tasks_.run(
          microbatches,
          [&](int i) {
            at::ThreadLocalStateGuard guard(tls);
            RunningGuard in_task(this);
            resume_span(i);
            results[i] = body(i);
            park_span(i);
            if (stages_ > 1) {
              // The result travels to every other stage, which ends its task for microbatch i.
              for (int s = 1; s < stages_; ++s) {
                Message end;
                end.kind = MessageKind::kEnd;
                end.microbatch = i;
                end.packed = results[i];
                for (auto& t : end.packed.tensors) t = t.detach();
                end.requires_grad.reserve(results[i].tensors.size());
                for (const auto& t : results[i].tensors)
                  end.requires_grad.push_back(t.defined() && t.requires_grad());
                send(std::move(end), s);
              }
            }
            mbs_[i].records.clear();
          },
          run);
    } else {
      tasks_.run(
          microbatches,
          [&](int i) {
            at::ThreadLocalStateGuard guard(tls);
            RunningGuard in_task(this);
            mbs_[i].span_start = -1;  // idle until its first request arrives
            follower_task(i, results);
          },
          run);
    }
    // Every send must complete before the step ends (the buffers are this step's).
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.timeout);
    comm::Backoff backoff;
    while (!outbox_->empty()) {
      outbox_->progress();
      if (std::chrono::steady_clock::now() > deadline)
        throw TimeoutError(options.context + ": " +
                           comm::timeout_message(options.timeout,
                                                 "the other pipeline stages to receive this "
                                                 "stage's last messages"));
      backoff.pause();
    }
  } catch (const std::exception& e) {
    if (stage_ == 0 && stages_ > 1 && !dynamic_cast<const TimeoutError*>(&e))
      fail_followers(std::string("pipeline stage 0 failed in step ") + std::to_string(step) +
                         ":\n" + e.what(),
                     step);
    mbs_.clear();
    outbox_->abandon();
    throw;
  }
  mbs_.clear();
  if (tracer_) {
    tracer_->span("step " + std::to_string(step), "step", step_start, trace::now_us(), 0,
                  trace::Json{{"step", step}});
    tracer_->step_finished();
  }
  return results;
}

}  // namespace smp::pipeline
