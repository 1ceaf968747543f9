#include "libsmp/pipeline/transport.h"

#include <ATen/Functions.h>

#include <sched.h>

#include <climits>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/comm/work.h"
#include "libsmp/runtime/error.h"

namespace smp::pipeline {
namespace {

// Sends at least this large get a short progress window right after they are posted.
constexpr size_t kSpinBytes = 64 * 1024;
constexpr int kSpinMicros = 500;

void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(std::string("libsmp pipeline: ") + call + " failed: " + std::string(text, len));
  }
}

int byte_count(const at::Tensor& t) {
  if (t.nbytes() > static_cast<size_t>(INT_MAX))
    throw Error("libsmp pipeline: a " + std::to_string(t.nbytes()) +
                "-byte tensor is larger than one MPI message allows (2 GiB); use more "
                "microbatches or smaller activations.");
  return static_cast<int>(t.nbytes());
}

}  // namespace

const char* to_string(Channel channel) {
  switch (channel) {
    case Channel::kActivation: return "act";
    case Channel::kOutput: return "out";
    case Channel::kGradient: return "grad";
  }
  return "?";
}

int Transport::tag(Channel channel, int microbatch, int part) {
  return ((static_cast<int>(channel) * kMaxMicrobatches + microbatch) << 1) | part;
}

IncomingTensor::IncomingTensor(MPI_Comm comm, int src, Channel channel, int microbatch,
                               long long step, std::string description, trace::Tracer* tracer,
                               int stage, int peer_global)
    : comm_(comm), src_(src), tag_(Transport::tag(channel, microbatch, 0)), channel_(channel),
      microbatch_(microbatch), step_(step), description_(std::move(description)), tracer_(tracer),
      stage_(stage), peer_global_(peer_global), start_us_(tracer ? trace::now_us() : 0) {
  check(MPI_Irecv(&header_, sizeof header_, MPI_BYTE, src_, tag_, comm_, &header_req_), "MPI_Irecv");
}

IncomingTensor::~IncomingTensor() {
  // Only on error paths: a receive still posted must not write into freed memory.
  if (!done_ && comm::mpi_alive()) {
    MPI_Request* reqs[2] = {&header_req_, &data_req_};
    for (MPI_Request* r : reqs)
      if (*r != MPI_REQUEST_NULL) {
        MPI_Cancel(r);
        MPI_Request_free(r);
      }
    new at::Tensor(tensor_);  // keep the buffer alive: the cancel may not have taken effect
    new TensorHeader(header_);
  }
}

bool IncomingTensor::test() {
  if (done_) return true;
  int flag = 0;
  if (!header_done_) {
    check(MPI_Test(&header_req_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (!flag) return false;
    header_done_ = true;
    if (header_.magic != TensorHeader{}.magic || header_.ndim < 0 || header_.ndim > 8)
      throw Error("libsmp pipeline: malformed message while waiting for " + description_ +
                  " (another library may be using libsmp's communicator).");
    if (header_.step != step_)
      throw Error("libsmp pipeline: got " + std::string(to_string(channel_)) + " of microbatch " +
                  std::to_string(microbatch_) + " for step " + std::to_string(header_.step) +
                  " while in step " + std::to_string(step_) +
                  ": the ranks of this pipeline have run different numbers of smp::step calls. "
                  "Every rank of a pipeline must call smp::step the same number of times.");
    std::vector<int64_t> sizes(header_.sizes, header_.sizes + header_.ndim);
    tensor_ = at::empty(sizes, at::TensorOptions().dtype(static_cast<c10::ScalarType>(header_.dtype)));
    check(MPI_Irecv(tensor_.data_ptr(), byte_count(tensor_), MPI_BYTE, src_,
                    Transport::tag(channel_, microbatch_, 1), comm_, &data_req_),
          "MPI_Irecv");
  }
  check(MPI_Test(&data_req_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  if (!flag) return false;
  done_ = true;
  if (tracer_)
    tracer_->span(std::string("recv ") + to_string(channel_) + " mb" + std::to_string(microbatch_) +
                      " <- " + std::to_string(peer_global_),
                  "recv", start_us_, trace::now_us(), 1,
                  trace::Json{{"step", step_}, {"stage", stage_}, {"microbatch", microbatch_},
                              {"peer", peer_global_}, {"bytes", tensor_.nbytes()}});
  return true;
}

Transport::Transport(MPI_Comm comm, std::vector<int> members, int stage, trace::Tracer* tracer)
    : comm_(comm), members_(std::move(members)), stage_(stage), tracer_(tracer) {}

Transport::~Transport() { abandon(); }

void Transport::send(const at::Tensor& tensor, int dst_stage, Channel channel, int microbatch,
                     bool requires_grad, long long step) {
  if (microbatch >= kMaxMicrobatches)
    throw Error("libsmp pipeline: at most " + std::to_string(kMaxMicrobatches) +
                " microbatches are supported.");
  if (tensor.dim() > 8)
    throw Error("libsmp pipeline: tensors passed between stages may have at most 8 dimensions; "
                "this one has " + std::to_string(tensor.dim()) + ".");
  Outgoing out;
  out.data = tensor.detach();
  if (!out.data.is_cpu()) out.data = out.data.to(at::kCPU);
  out.data = out.data.contiguous();
  out.header = std::make_unique<TensorHeader>();
  out.header->dtype = static_cast<int32_t>(out.data.scalar_type());
  out.header->ndim = static_cast<int32_t>(out.data.dim());
  out.header->requires_grad = requires_grad ? 1 : 0;
  out.header->step = step;
  for (int64_t d = 0; d < out.data.dim(); ++d) out.header->sizes[d] = out.data.size(d);
  check(MPI_Isend(out.header.get(), sizeof(TensorHeader), MPI_BYTE, dst_stage,
                  tag(channel, microbatch, 0), comm_, &out.reqs[0]),
        "MPI_Isend");
  check(MPI_Isend(out.data.data_ptr(), byte_count(out.data), MPI_BYTE, dst_stage,
                  tag(channel, microbatch, 1), comm_, &out.reqs[1]),
        "MPI_Isend");
  out.name = std::string("send ") + to_string(channel) + " mb" + std::to_string(microbatch) +
             " -> " + std::to_string(members_.at(dst_stage));
  if (tracer_) {
    out.start_us = trace::now_us();
    out.args = trace::Json{{"step", step}, {"stage", stage_}, {"microbatch", microbatch},
                           {"peer", members_.at(dst_stage)}, {"bytes", out.data.nbytes()}};
  }
  const size_t nbytes = out.data.nbytes();
  sends_.push_back(std::move(out));
  progress();
  // A large message moves only while both sides call into MPI (rendezvous; without single-copy
  // shared memory the sender also pushes every fragment). The sender is about to compute for a
  // while, so give a waiting receiver a short window to take it now instead of after that compute.
  // Bounded, so a busy receiver costs at most the window.
  if (nbytes >= kSpinBytes && !sends_.empty()) {
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!sends_.empty() && std::chrono::steady_clock::now() < until) {
      progress();
      sched_yield();
    }
  }
}

std::shared_ptr<IncomingTensor> Transport::receive(int src_stage, Channel channel, int microbatch,
                                                   long long step) {
  if (microbatch >= kMaxMicrobatches)
    throw Error("libsmp pipeline: at most " + std::to_string(kMaxMicrobatches) +
                " microbatches are supported.");
  std::string what;
  switch (channel) {
    case Channel::kActivation: what = "the activation"; break;
    case Channel::kOutput: what = "the model output"; break;
    case Channel::kGradient: what = "the gradient"; break;
  }
  what += " of microbatch " + std::to_string(microbatch) + " from pipeline stage " +
          std::to_string(src_stage) + " (global rank " + std::to_string(members_.at(src_stage)) +
          ")";
  return std::make_shared<IncomingTensor>(comm_, src_stage, channel, microbatch, step,
                                          std::move(what), tracer_, stage_,
                                          members_.at(src_stage));
}

void Transport::progress() {
  for (auto it = sends_.begin(); it != sends_.end();) {
    int flag = 0;
    check(MPI_Testall(2, it->reqs, &flag, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (!flag) {
      ++it;
      continue;
    }
    if (tracer_) tracer_->span(std::move(it->name), "send", it->start_us, trace::now_us(), 1, std::move(it->args));
    it = sends_.erase(it);
  }
}

void Transport::drain(std::chrono::duration<double> timeout, const std::string& context) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  comm::Backoff backoff;
  for (progress(); !sends_.empty(); progress()) {
    if (std::chrono::steady_clock::now() > deadline) {
      const auto& first = sends_.front();
      throw TimeoutError(context + ": " +
                         comm::timeout_message(timeout, "pipeline stage peers to receive " +
                                                            std::to_string(sends_.size()) +
                                                            " message(s), the first: " + first.name));
    }
    backoff.pause();
  }
}

void Transport::abandon() {
  if (sends_.empty() || !comm::mpi_alive()) {
    sends_.clear();
    return;
  }
  for (auto& out : sends_) {
    for (MPI_Request& r : out.reqs)
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
      }
    // MPI may still read these: keep them alive for the rest of the process.
    new at::Tensor(out.data);
    out.header.release();
  }
  sends_.clear();
}

}  // namespace smp::pipeline
