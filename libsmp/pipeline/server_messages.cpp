#include "libsmp/pipeline/server_messages.h"

#include <ATen/Functions.h>

#include <sched.h>

#include <chrono>
#include <climits>
#include <cstring>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/comm/work.h"
#include "libsmp/runtime/error.h"

namespace smp::pipeline {
namespace {

constexpr uint32_t kMagic = 0x534d5058;  // "SMPX"
// MPI moves a large message (rendezvous) only while its sender calls into MPI, and the sender
// goes on computing right after posting it: sends at least this large get a short progress window.
constexpr size_t kSpinBytes = 64 * 1024;
constexpr int kSpinMicros = 500;

void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(std::string("libsmp execution server: ") + call + " failed: " + std::string(text, len));
  }
}

template <class T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads fixed-size values from an envelope, refusing to read past its end.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T value;
    need(sizeof value);
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string get_bytes(uint64_t n) {
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(uint64_t n) {
    if (n > bytes_.size() - pos_)
      throw Error("libsmp execution server: a malformed message arrived (truncated envelope); "
                  "are two different libsmp versions in one job?");
  }
  const std::string& bytes_;
  size_t pos_ = 0;
};

int payload_bytes(const at::Tensor& t) {
  if (t.nbytes() > static_cast<size_t>(INT_MAX))
    throw Error("libsmp execution server: a " + std::to_string(t.nbytes()) +
                "-byte tensor is larger than one MPI message allows (2 GiB); use more "
                "microbatches or smaller activations.");
  return static_cast<int>(t.nbytes());
}

bool has_payload(const at::Tensor& t) { return t.defined() && t.numel() > 0; }

}  // namespace

const char* to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::kForwardRequest: return "forward request";
    case MessageKind::kForwardReply: return "forward reply";
    case MessageKind::kBackwardRequest: return "backward request";
    case MessageKind::kBackwardReply: return "backward reply";
    case MessageKind::kEnd: return "end of microbatch";
    case MessageKind::kError: return "failure";
  }
  return "unknown message";
}

int envelope_tag(int microbatch) {
  return microbatch == kControl ? 2 * (kMaxServerMicrobatches + 1) : 2 * microbatch;
}
int payload_tag(int microbatch) { return envelope_tag(microbatch) + 1; }

std::string encode_envelope(const Message& m) {
  std::string out;
  out.reserve(64 + m.packed.skeleton.size() + 48 * m.packed.tensors.size());
  put<uint32_t>(out, kMagic);
  put<uint8_t>(out, static_cast<uint8_t>(m.kind));
  put<uint8_t>(out, m.grad_enabled ? 1 : 0);
  put<int32_t>(out, m.microbatch);
  put<int64_t>(out, m.step);
  put<int64_t>(out, m.call);
  put<int32_t>(out, m.module);
  put<int32_t>(out, m.reply_to);
  put<int64_t>(out, m.origin_call);
  put<int64_t>(out, m.record);
  put<uint64_t>(out, m.packed.skeleton.size());
  out += m.packed.skeleton;
  put<uint32_t>(out, static_cast<uint32_t>(m.packed.tensors.size()));
  for (size_t i = 0; i < m.packed.tensors.size(); ++i) {
    const at::Tensor& t = m.packed.tensors[i];
    put<uint8_t>(out, t.defined() ? 1 : 0);
    put<uint8_t>(out, i < m.requires_grad.size() && m.requires_grad[i] ? 1 : 0);
    if (!t.defined()) continue;
    put<int32_t>(out, static_cast<int32_t>(t.scalar_type()));
    put<uint32_t>(out, static_cast<uint32_t>(t.dim()));
    for (int64_t s : t.sizes()) put<int64_t>(out, s);
  }
  return out;
}

void decode_envelope(const std::string& bytes, Message& m) {
  Reader r(bytes);
  if (r.get<uint32_t>() != kMagic)
    throw Error("libsmp execution server: a message without the expected header arrived; are two "
                "different libsmp versions in one job?");
  m.kind = static_cast<MessageKind>(r.get<uint8_t>());
  m.grad_enabled = r.get<uint8_t>() != 0;
  m.microbatch = r.get<int32_t>();
  m.step = r.get<int64_t>();
  m.call = r.get<int64_t>();
  m.module = r.get<int32_t>();
  m.reply_to = r.get<int32_t>();
  m.origin_call = r.get<int64_t>();
  m.record = r.get<int64_t>();
  m.packed.skeleton = r.get_bytes(r.get<uint64_t>());
  const uint32_t n = r.get<uint32_t>();
  m.packed.tensors.assign(n, at::Tensor());
  m.requires_grad.assign(n, false);
  for (uint32_t i = 0; i < n; ++i) {
    const bool defined = r.get<uint8_t>() != 0;
    m.requires_grad[i] = r.get<uint8_t>() != 0;
    if (!defined) continue;
    const int32_t dtype = r.get<int32_t>();
    const uint32_t ndim = r.get<uint32_t>();
    if (dtype < 0 || dtype >= static_cast<int32_t>(c10::ScalarType::NumOptions) || ndim > 64)
      throw Error("libsmp execution server: a malformed message arrived (tensor metadata)");
    std::vector<int64_t> sizes(ndim);
    for (auto& s : sizes) {
      s = r.get<int64_t>();
      if (s < 0) throw Error("libsmp execution server: a malformed message arrived (tensor size)");
    }
    m.packed.tensors[i] = at::empty(sizes, at::TensorOptions().dtype(static_cast<c10::ScalarType>(dtype)));
  }
  if (!r.at_end()) throw Error("libsmp execution server: a malformed message arrived (trailing bytes)");
}

Outbox::~Outbox() {
  if (!sends_.empty()) abandon();
}

void Outbox::send(Message message, int dst_stage) {
  Outgoing& o = sends_.emplace_back();
  for (auto& t : message.packed.tensors) {
    if (!has_payload(t)) continue;
    // The wire carries host memory: CUDA tensors are staged, views made contiguous.
    at::Tensor host = t.detach();
    if (!host.is_cpu()) host = host.to(at::kCPU);
    o.payloads.push_back(host.contiguous());
  }
  o.envelope = encode_envelope(message);
  o.requests.assign(1 + o.payloads.size(), MPI_REQUEST_NULL);
  if (o.envelope.size() > static_cast<size_t>(INT_MAX))
    throw Error("libsmp execution server: a message's non-tensor part exceeds 2 GiB");
  check(MPI_Isend(o.envelope.data(), static_cast<int>(o.envelope.size()), MPI_BYTE, dst_stage,
                  envelope_tag(message.microbatch), comm_, &o.requests[0]),
        "MPI_Isend");
  size_t bytes = 0;
  for (size_t i = 0; i < o.payloads.size(); ++i) {
    check(MPI_Isend(o.payloads[i].data_ptr(), payload_bytes(o.payloads[i]), MPI_BYTE, dst_stage,
                    payload_tag(message.microbatch), comm_, &o.requests[1 + i]),
          "MPI_Isend");
    bytes += o.payloads[i].nbytes();
  }
  if (bytes >= kSpinBytes) {
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!sends_.empty() && std::chrono::steady_clock::now() < until) {
      progress();
      sched_yield();
    }
  }
}

void Outbox::progress() {
  for (auto it = sends_.begin(); it != sends_.end();) {
    int flag = 0;
    check(MPI_Testall(static_cast<int>(it->requests.size()), it->requests.data(), &flag,
                      MPI_STATUSES_IGNORE),
          "MPI_Testall");
    it = flag ? sends_.erase(it) : std::next(it);
  }
}

void Outbox::abandon() {
  // A peer that failed may never receive these; keep the buffers alive rather than let MPI write
  // from freed memory, and stop tracking them.
  for (auto& o : sends_) {
    for (auto& r : o.requests)
      if (r != MPI_REQUEST_NULL && comm::mpi_alive()) MPI_Request_free(&r);
    new Outgoing(std::move(o));
  }
  sends_.clear();
}

Incoming::~Incoming() {
  if (done_ || !comm::mpi_alive()) return;
  for (auto& r : requests_)
    if (r != MPI_REQUEST_NULL) {
      MPI_Cancel(&r);
      MPI_Request_free(&r);
    }
  new Message(std::move(message_));  // the cancel may not have taken effect: keep the buffers
}

bool Incoming::test() {
  if (done_) return true;
  if (!probed_) {
    int flag = 0;
    MPI_Message handle;
    MPI_Status status;
    check(MPI_Improbe(MPI_ANY_SOURCE, envelope_tag(microbatch_), comm_, &flag, &handle, &status),
          "MPI_Improbe");
    if (!flag) return false;
    int count = 0;
    check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    std::string bytes(static_cast<size_t>(count), '\0');
    check(MPI_Mrecv(bytes.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE), "MPI_Mrecv");
    decode_envelope(bytes, message_);
    message_.source = status.MPI_SOURCE;
    if (message_.microbatch != microbatch_)
      throw Error("libsmp execution server: a message for microbatch " +
                  std::to_string(message_.microbatch) + " arrived on the tag of microbatch " +
                  std::to_string(microbatch_));
    probed_ = true;
    for (auto& t : message_.packed.tensors) {
      if (!has_payload(t)) continue;
      MPI_Request& r = requests_.emplace_back(MPI_REQUEST_NULL);
      check(MPI_Irecv(t.data_ptr(), payload_bytes(t), MPI_BYTE, message_.source,
                      payload_tag(microbatch_), comm_, &r),
            "MPI_Irecv");
    }
  }
  int flag = 1;
  if (!requests_.empty())
    check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag,
                      MPI_STATUSES_IGNORE),
          "MPI_Testall");
  done_ = flag != 0;
  return done_;
}

}  // namespace smp::pipeline
