#pragma once
// The execution server's messages between the ranks of one pipeline: execution requests and
// their replies, forward and backward, the end of a microbatch (with the step function's result)
// and failures. A message is an envelope (kind, ids, the binding's serialized skeleton of the
// nested value, the metadata of every tensor pulled out of it) followed by one MPI message per
// tensor payload. Envelopes of microbatch i carry tag 2i, payloads 2i+1: within one microbatch
// execution is sequential (the caller waits for its reply), so at most one message of a
// microbatch is in flight and a receiver can take the next envelope from any source.

#include <ATen/core/Tensor.h>
#include <mpi.h>

#include <list>
#include <memory>
#include <string>
#include <vector>

namespace smp::pipeline {

// A nested value crossing ranks: the binding's serialized skeleton (opaque to the engine) and the
// tensors pulled out of it, in order. An undefined tensor stands for "no gradient".
struct Packed {
  std::string skeleton;
  std::vector<at::Tensor> tensors;
};

enum class MessageKind : uint8_t {
  kForwardRequest = 1,  // run `module` on the packed arguments
  kForwardReply = 2,    // the module's packed outputs
  kBackwardRequest = 3, // gradients of a forward request's outputs
  kBackwardReply = 4,   // gradients of that request's inputs that required grad
  kEnd = 5,             // the leader finished the microbatch; packed: the step function's result
  kError = 6,           // the receiver's call (or the whole step) failed; skeleton: the message
};
const char* to_string(MessageKind kind);

struct Message {
  MessageKind kind = MessageKind::kError;
  int microbatch = 0;
  int64_t step = 0;
  int64_t call = 0;    // request id (caller stage << 40 | counter); 0 for kEnd / kError
  int32_t module = -1; // kForwardRequest: the binding's module id
  // kForwardRequest passed on along a chain (ExecutionServer::forward_to): the stage that made
  // the original call and gets the reply (-1 for a request straight from its caller), and that
  // call's id, which the reply carries in `call`.
  int32_t reply_to = -1;
  int64_t origin_call = 0;
  // kForwardRequest passed on: the passing stage's id of its own part (the gradients of this
  // request's inputs go back there); kForwardReply: the replying stage's id of the call (the
  // caller's backward request goes there; differs from `call` at the end of a chain).
  int64_t record = 0;
  bool grad_enabled = false;  // kForwardRequest: the caller's grad mode
  int source = -1;     // filled in on receipt: the sender's stage
  Packed packed;
  // Per tensor, whether the sender's tensor required grad (the receiver recreates the flag).
  std::vector<bool> requires_grad;
};

// Envelope encoding (exposed for tests).
std::string encode_envelope(const Message& message);
// Decodes `bytes` into `message` (tensors allocated, empty); smp::Error on a malformed envelope.
void decode_envelope(const std::string& bytes, Message& message);

// Sends in flight; progress() completes them without blocking.
class Outbox {
 public:
  explicit Outbox(MPI_Comm comm) : comm_(comm) {}
  ~Outbox();
  void send(Message message, int dst_stage);
  void progress();
  bool empty() const { return sends_.empty(); }
  void abandon();  // error paths: forget unfinished sends (their buffers are leaked on purpose)

 private:
  struct Outgoing {
    std::string envelope;
    std::vector<at::Tensor> payloads;  // contiguous CPU copies kept alive until sent
    std::vector<MPI_Request> requests;
  };
  MPI_Comm comm_;
  std::list<Outgoing> sends_;
};

// The next message of one microbatch (or kControl), from any stage; test() advances it without
// blocking.
class Incoming {
 public:
  Incoming(MPI_Comm comm, int microbatch) : comm_(comm), microbatch_(microbatch) {}
  ~Incoming();
  Incoming(const Incoming&) = delete;
  Incoming& operator=(const Incoming&) = delete;
  bool test();  // true once the whole message is here
  // What has arrived so far (the envelope is known once probed; used to classify early).
  bool envelope_known() const { return probed_; }
  const Message& message() const { return message_; }
  Message take() { return std::move(message_); }

 private:
  MPI_Comm comm_;
  int microbatch_;
  bool probed_ = false, done_ = false;
  Message message_;
  std::vector<MPI_Request> requests_;
};

// The largest microbatch count the tag space holds (MPI guarantees tags up to 32767).
constexpr int kMaxServerMicrobatches = 16382;
// The "microbatch" of control messages: the leader's one failure notice per follower and step,
// which every waiting task of the follower sees.
constexpr int kControl = -1;
int envelope_tag(int microbatch);  // kControl: the control tag
int payload_tag(int microbatch);

}  // namespace smp::pipeline
