#pragma once
// ExecutionServer: SMP's pipeline execution model on one rank of a pipeline.
//
// The step body runs on the leader (stage 0) only, once per microbatch, each microbatch a task of
// the TaskRunner. Every module has an owner stage; calling a module owned by another stage sends
// an execution request (module id, microbatch, the packed nested arguments) to the owner and parks
// the calling task; the owner runs it (its module may call modules on other stages, back on the
// caller's stage too: a parked task serves requests of its own microbatch while it waits) and
// returns the packed outputs. Every other stage runs one task per microbatch that serves requests
// until the leader ends the microbatch, so a microbatch may visit a stage any number of times.
//
// Backward: each remote call is one autograd node on the caller (Crossing). When the backward
// reaches it, the node sends the output gradients to the owner as a backward request and waits;
// the owner back-propagates from the outputs it kept, which accumulates into its parameters and
// gives the gradients of the request's inputs, sent back as the node's input gradients. Autograd
// thus sees one graph per microbatch across all stages, and accumulates exactly as one process.
// The schedule (simple / interleaved, active_microbatches) picks which task runs next among ready
// work on every stage: a new microbatch, a forward request, a backward request.
//
// The engine knows modules only as ids and values only as Packed (skeleton + tensors): a language
// binding supplies the ModuleRunner and the (de)serialization of its nested values.

#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libsmp/pipeline/server_messages.h"
#include "libsmp/pipeline/task_runner.h"
#include "libsmp/trace/tracer.h"

namespace smp::pipeline {

// Runs module `module` of this stage on `args` (grad mode already set as the caller had it).
using ModuleRunner = std::function<Packed(int module, Packed args)>;
// The leader's step body for one microbatch; returns the microbatch's packed result.
using StepBody = std::function<Packed(int microbatch)>;

class ExecutionServer {
 public:
  // `pipeline_comm`: the pipeline group's communicator (duplicated here), ranked by stage.
  // `tracer` (optional) receives the step span and this stage's compute spans: F<mb> / B<mb> for
  // every stretch a microbatch computes here between two waits.
  ExecutionServer(MPI_Comm pipeline_comm, int stage, int stages, ModuleRunner runner,
                  trace::Tracer* tracer = nullptr);
  ~ExecutionServer();
  ExecutionServer(const ExecutionServer&) = delete;
  ExecutionServer& operator=(const ExecutionServer&) = delete;

  int stage() const { return stage_; }
  int stages() const { return stages_; }

  // Every rank of the pipeline, in step: runs one step of `microbatches` microbatches. The leader
  // runs body(i) for each; every rank returns the leader's per-microbatch results.
  std::vector<Packed> run_step(int microbatches, const StepBody& body, const RunOptions& options,
                               int64_t step);

  // Inside a step task: runs `module` on stage `owner` (another stage) and returns its outputs;
  // with grad mode on they are connected to autograd, so gradients flow back to the owner.
  Packed call(int owner, int module, Packed args);

  // Inside the leader's step body: model.backward — waits until the schedule lets this
  // microbatch's backward run, then back-propagates through every stage.
  void backward(const std::vector<at::Tensor>& tensors, const std::vector<at::Tensor>& grads);

  // Inside a ModuleRunner serving a forward request, as its last act: the request's result is
  // whatever `module` on stage `owner` returns for `args`; that stage replies to the original
  // caller directly, and the backward comes back along the same chain (SMP's fast_mode routing of
  // a chain of children: no return hop through every stage). The runner then returns an empty
  // Packed, which is ignored.
  void forward_to(int owner, int module, Packed args);

  // Inside a step task, while it computes: advances this stage's messages in flight. MPI moves a
  // large message only while both ends call into MPI, so the binding calls this between module
  // calls and from gradient hooks (cheap: a test of the pending requests).
  void progress();

  // What this stage's microbatches wait for (diagnostics).
  std::string describe_waits() const { return tasks_.describe_waits(); }

  // The server whose step is running on this process, or nullptr.
  static ExecutionServer* running();

  // Used by the Crossing autograd node (exec_server.cpp).
  struct CallState;
  Packed forward_call(CallState& state);
  // Sends the output gradients of call `call` to `owner`, which knows it as `record` (the end of
  // a chain), and waits for the input gradients.
  std::vector<at::Tensor> backward_call(int owner, int64_t record, int64_t call, int microbatch,
                                        std::vector<at::Tensor> grads, size_t n_inputs);

 private:
  struct Record;
  struct Microbatch;
  Message await(int microbatch, MessageKind kind, int64_t call, int from_stage,
                const std::string& what);
  Message next_message(int microbatch, const std::string& what);
  void serve(Message message);
  void serve_forward(Message message);
  void serve_backward(Message message);
  void follower_task(int microbatch, std::vector<Packed>& results);
  void send(Message message, int dst_stage);
  void check_stage(int owner, const char* what) const;
  int64_t new_call_id();  // unique in the pipeline for this step (the stage in the high bits)
  void fail_followers(const std::string& what, int64_t step);
  std::string stage_name(int stage) const;
  // Compute spans: a microbatch's stretch on this stage ends where its task parks.
  void park_span(int microbatch);
  void resume_span(int microbatch);
  void wait_for(int microbatch, Wait wait);
  // Followers: whether the leader's failure notice for this step has arrived (polls for it).
  bool leader_failed();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int stage_, stages_;
  ModuleRunner runner_;
  std::unique_ptr<Outbox> outbox_;
  TaskRunner tasks_;
  std::vector<Microbatch> mbs_;
  int64_t step_ = 0;
  int64_t next_call_ = 1;
  trace::Tracer* tracer_;
  std::vector<int> world_ranks_;       // world rank of every stage, for messages
  std::unique_ptr<Incoming> control_;  // followers: the leader's failure notice
  std::string leader_failure_;         // its text, once it has arrived for this step
};

}  // namespace smp::pipeline
