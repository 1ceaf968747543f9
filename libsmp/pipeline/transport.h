#pragma once
// Transport: the tensor messages between the stages of one pipeline — activations forward, the
// last stage's output to every stage, gradients backward. Each message is a fixed header (dtype,
// shape, requires-grad, step) and the payload, both non-blocking MPI messages on the pipeline's
// own communicator, tagged by (channel, microbatch) so the tasks of different microbatches never
// take each other's messages. Receives are polled by the scheduler; sends complete in the
// background of progress(). CPU tensors travel from their own memory; others are staged through a
// host copy. Also records the send/recv spans of the trace.

#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "libsmp/trace/tracer.h"

namespace smp::pipeline {

enum class Channel { kActivation = 0, kOutput = 1, kGradient = 2 };
const char* to_string(Channel channel);  // "act", "out", "grad"

// The largest microbatch count the tag space holds.
constexpr int kMaxMicrobatches = 4096;

// The header every tensor message starts with.
struct TensorHeader {
  int32_t magic = 0x534d5031;  // "SMP1"
  int32_t dtype = 0;           // c10::ScalarType
  int32_t ndim = 0;
  int32_t requires_grad = 0;
  int64_t step = 0;
  int64_t sizes[8] = {0};
};

// A tensor being received; test() advances it.
class IncomingTensor {
 public:
  IncomingTensor(MPI_Comm comm, int src, Channel channel, int microbatch, long long step,
                 std::string description, trace::Tracer* tracer, int stage, int peer_global);
  ~IncomingTensor();
  bool test();  // true once the whole tensor is here (throws smp::Error on a malformed message)
  const at::Tensor& tensor() const { return tensor_; }
  bool requires_grad() const { return header_.requires_grad != 0; }
  const std::string& description() const { return description_; }

 private:
  MPI_Comm comm_;
  int src_, tag_;
  Channel channel_;
  int microbatch_;
  long long step_;
  std::string description_;
  trace::Tracer* tracer_;
  int stage_, peer_global_;
  double start_us_;
  TensorHeader header_;
  MPI_Request header_req_ = MPI_REQUEST_NULL, data_req_ = MPI_REQUEST_NULL;
  at::Tensor tensor_;
  bool header_done_ = false, done_ = false;
};

class Transport {
 public:
  // `members`: global ranks of the pipeline group, by stage; `stage`: this rank's stage.
  Transport(MPI_Comm comm, std::vector<int> members, int stage, trace::Tracer* tracer);
  ~Transport();

  void send(const at::Tensor& tensor, int dst_stage, Channel channel, int microbatch,
            bool requires_grad, long long step);
  std::shared_ptr<IncomingTensor> receive(int src_stage, Channel channel, int microbatch,
                                          long long step);
  // Completes finished sends (never blocks).
  void progress();
  bool sends_pending() const { return !sends_.empty(); }
  // Blocks (polling) until every send has completed; smp::TimeoutError after `timeout`.
  void drain(std::chrono::duration<double> timeout, const std::string& context);
  // Abandons unfinished sends (error paths; their buffers are kept alive on purpose).
  void abandon();

  int global_rank(int stage) const { return members_.at(stage); }
  static int tag(Channel channel, int microbatch, int part);

 private:
  struct Outgoing {
    std::unique_ptr<TensorHeader> header;
    at::Tensor data;
    MPI_Request reqs[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    std::string name;
    trace::Json args;
    double start_us = 0;
  };
  MPI_Comm comm_;
  std::vector<int> members_;
  int stage_;
  trace::Tracer* tracer_;
  std::list<Outgoing> sends_;
};

}  // namespace smp::pipeline
