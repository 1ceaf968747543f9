#include "libsmp/comm/mpi_backend.h"

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <climits>
#include <functional>

#include "libsmp/runtime/error.h"

namespace smp::comm {
namespace {

void check(int rc, const char* call) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(std::string("libsmp: ") + call + " failed: " + std::string(text, len));
  }
}

int checked_count(int64_t n, const char* what) {
  if (n > INT_MAX)
    throw Error(std::string("libsmp: ") + what + " of " + std::to_string(n) +
                " elements is larger than one MPI message allows (2^31-1); split the tensor.");
  return static_cast<int>(n);
}

// The data type MPI reduces for a tensor's dtype (reductions need the real type; transfers use
// bytes).
MPI_Datatype reduce_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kInt: return MPI_INT32_T;
    case at::kLong: return MPI_INT64_T;
    case at::kShort: return MPI_INT16_T;
    case at::kChar: return MPI_INT8_T;
    case at::kByte: return MPI_UINT8_T;
    default:
      throw Error(std::string("libsmp: the MPI backend cannot reduce tensors of dtype ") +
                  std::string(c10::toString(t.scalar_type())) +
                  "; convert them to float32/float64 before the allreduce.");
  }
}

// Host memory for `t`: itself when it is a contiguous CPU tensor, else a contiguous host copy.
at::Tensor host_view(const at::Tensor& t, bool copy_data) {
  if (t.is_cpu() && t.is_contiguous()) return t;
  if (copy_data) return t.to(at::kCPU).contiguous();
  return at::empty(t.sizes(), t.options().device(at::kCPU));
}

// A single MPI request plus what must outlive it, and an action run once on completion.
class RequestWork : public Work {
 public:
  RequestWork() = default;
  ~RequestWork() override {
    if (!done_ && req_ != MPI_REQUEST_NULL && mpi_alive()) {
      // Only on error paths: abandon the operation. Its buffers are leaked on purpose, since
      // MPI may still write into them.
      MPI_Cancel(&req_);
      MPI_Request_free(&req_);
      new at::Tensor(std::move(tensor_));
      new std::string(std::move(bytes_));
    }
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check(MPI_Test(&req_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) {
      done_ = true;
      if (on_done_) on_done_();
    }
    return done_;
  }
  MPI_Request req_ = MPI_REQUEST_NULL;
  at::Tensor tensor_;
  std::string bytes_;
  std::function<void()> on_done_;
  bool done_ = false;
};

// A chain of requests started one after the other (length first, then payload, ...).
class ChainWork : public Work {
 public:
  using Stage = std::function<MPI_Request()>;  // starts the next request (or MPI_REQUEST_NULL)
  bool test() override {
    while (!done_) {
      if (req_ != MPI_REQUEST_NULL) {
        int flag = 0;
        check(MPI_Test(&req_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
        if (!flag) return false;
        req_ = MPI_REQUEST_NULL;
      }
      if (next_ >= stages_.size()) {
        done_ = true;
        break;
      }
      req_ = stages_[next_++]();
    }
    return true;
  }
  std::vector<Stage> stages_;
  size_t next_ = 0;
  MPI_Request req_ = MPI_REQUEST_NULL;
  bool done_ = false;
};

class ChainBytesWork : public BytesWork {
 public:
  bool test() override { return chain_.test(); }
  std::string& result() override { return data_; }
  ChainWork chain_;
  std::string data_;
  int64_t length_ = 0;
};

class ChainGatherWork : public GatherWork {
 public:
  bool test() override {
    if (!chain_.test()) return false;
    if (!split_) {
      split_ = true;
      size_t offset = 0;
      out_.clear();
      for (int64_t n : lengths_) {
        out_.emplace_back(all_.data() + offset, static_cast<size_t>(n));
        offset += n;
      }
    }
    return true;
  }
  std::vector<std::string>& result() override { return out_; }
  ChainWork chain_;
  std::string mine_, all_;
  std::vector<int64_t> lengths_;
  std::vector<int> counts_, displs_;
  std::vector<std::string> out_;
  bool split_ = false;
};

// Receive of unknown length: matched probe, then a receive of exactly that many bytes.
class ProbeRecvWork : public BytesWork {
 public:
  ProbeRecvWork(MPI_Comm comm, int src, int tag) : comm_(comm), src_(src), tag_(tag) {}
  ~ProbeRecvWork() override {
    if (matched_ && !done_ && mpi_alive()) new std::string(std::move(data_));  // see RequestWork
  }
  bool test() override {
    if (done_) return true;
    if (!matched_) {
      int flag = 0;
      MPI_Message msg;
      MPI_Status status;
      check(MPI_Improbe(src_, tag_, comm_, &flag, &msg, &status), "MPI_Improbe");
      if (!flag) return false;
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      data_.resize(count);
      check(MPI_Imrecv(data_.data(), count, MPI_BYTE, &msg, &req_), "MPI_Imrecv");
      matched_ = true;
    }
    int flag = 0;
    check(MPI_Test(&req_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    done_ = flag != 0;
    return done_;
  }
  std::string& result() override { return data_; }

 private:
  MPI_Comm comm_;
  int src_, tag_;
  bool matched_ = false, done_ = false;
  MPI_Request req_ = MPI_REQUEST_NULL;
  std::string data_;
};

}  // namespace

bool mpi_alive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

MpiBackend::MpiBackend(MPI_Comm comm, std::string group_name, std::vector<int> members,
                       std::chrono::duration<double> timeout)
    : Backend(std::move(group_name), std::move(members),
              [&] {
                int r = 0;
                MPI_Comm_rank(comm, &r);
                return r;
              }(),
              timeout),
      comm_(comm) {}

MpiBackend::~MpiBackend() {
  if (comm_ != MPI_COMM_NULL && comm_ != MPI_COMM_WORLD && mpi_alive()) MPI_Comm_free(&comm_);
}

WorkPtr MpiBackend::isend(const at::Tensor& tensor, int dst, int tag) {
  auto w = std::make_shared<RequestWork>();
  w->tensor_ = host_view(tensor, true);
  int n = checked_count(w->tensor_.nbytes(), "a send");
  check(MPI_Isend(w->tensor_.data_ptr(), n, MPI_BYTE, dst, tag, comm_, &w->req_), "MPI_Isend");
  return w;
}

WorkPtr MpiBackend::irecv(const at::Tensor& tensor, int src, int tag) {
  auto w = std::make_shared<RequestWork>();
  w->tensor_ = host_view(tensor, false);
  if (!w->tensor_.is_same(tensor)) {
    at::Tensor target = tensor, staged = w->tensor_;
    w->on_done_ = [target, staged]() mutable { target.copy_(staged); };
  }
  int n = checked_count(w->tensor_.nbytes(), "a receive");
  check(MPI_Irecv(w->tensor_.data_ptr(), n, MPI_BYTE, src, tag, comm_, &w->req_), "MPI_Irecv");
  return w;
}

WorkPtr MpiBackend::isend_bytes(std::string data, int dst, int tag) {
  auto w = std::make_shared<RequestWork>();
  w->bytes_ = std::move(data);
  int n = checked_count(static_cast<int64_t>(w->bytes_.size()), "a message");
  check(MPI_Isend(w->bytes_.data(), n, MPI_BYTE, dst, tag, comm_, &w->req_), "MPI_Isend");
  return w;
}

BytesWorkPtr MpiBackend::irecv_bytes(int src, int tag) {
  return std::make_shared<ProbeRecvWork>(comm_, src, tag);
}

WorkPtr MpiBackend::broadcast(const at::Tensor& tensor, int root) {
  auto w = std::make_shared<RequestWork>();
  if (size() == 1) {
    w->done_ = true;
    return w;
  }
  w->tensor_ = host_view(tensor, rank() == root);
  if (!w->tensor_.is_same(tensor) && rank() != root) {
    at::Tensor target = tensor, staged = w->tensor_;
    w->on_done_ = [target, staged]() mutable { target.copy_(staged); };
  }
  int n = checked_count(w->tensor_.nbytes(), "a broadcast");
  check(MPI_Ibcast(w->tensor_.data_ptr(), n, MPI_BYTE, root, comm_, &w->req_), "MPI_Ibcast");
  return w;
}

WorkPtr MpiBackend::allreduce(const at::Tensor& tensor, ReduceOp op) {
  auto w = std::make_shared<RequestWork>();
  if (size() == 1) {
    w->done_ = true;
    return w;
  }
  MPI_Datatype type = reduce_type(tensor);
  if (op == ReduceOp::kAvg && !tensor.is_floating_point())
    throw Error("libsmp: an average allreduce needs a floating-point tensor.");
  w->tensor_ = host_view(tensor, true);
  at::Tensor target = tensor, staged = w->tensor_;
  bool copy_back = !staged.is_same(target);
  int members = size();
  w->on_done_ = [target, staged, copy_back, op, members]() mutable {
    if (op == ReduceOp::kAvg) staged.div_(members);
    if (copy_back) target.copy_(staged);
  };
  int n = checked_count(w->tensor_.numel(), "an allreduce");
  check(MPI_Iallreduce(MPI_IN_PLACE, w->tensor_.data_ptr(), n, type, MPI_SUM, comm_, &w->req_),
        "MPI_Iallreduce");
  return w;
}

void MpiBackend::allreduce_now(const at::Tensor& tensor, ReduceOp op) {
  if (size() == 1) return;
  if (!tensor.is_cpu() || !tensor.is_contiguous()) {
    auto w = allreduce(tensor, op);
    wait(*w, "an allreduce in " + group_name());
    return;
  }
  MPI_Datatype type = reduce_type(tensor);
  int n = checked_count(tensor.numel(), "an allreduce");
  check(MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), n, type, MPI_SUM, comm_), "MPI_Allreduce");
  if (op == ReduceOp::kAvg) tensor.div_(size());
}

WorkPtr MpiBackend::allgather(const std::vector<at::Tensor>& out, const at::Tensor& in) {
  if (static_cast<int>(out.size()) != size())
    throw Error("libsmp: allgather needs one output tensor per member of " + group_name());
  auto w = std::make_shared<RequestWork>();
  at::Tensor src = host_view(in, true);
  std::vector<int64_t> shape{static_cast<int64_t>(size())};
  at::Tensor flat = at::empty({size() * static_cast<int64_t>(src.nbytes())},
                              at::TensorOptions().dtype(at::kByte));
  w->tensor_ = flat;
  std::vector<at::Tensor> targets = out;
  at::Tensor keep_src = src;
  int64_t nbytes = src.nbytes();
  w->on_done_ = [targets, flat, nbytes, keep_src]() mutable {
    for (size_t i = 0; i < targets.size(); ++i) {
      at::Tensor piece = flat.narrow(0, i * nbytes, nbytes).view(keep_src.scalar_type())
                             .view(keep_src.sizes());
      targets[i].copy_(piece);
    }
  };
  int n = checked_count(nbytes, "an allgather");
  check(MPI_Iallgather(src.data_ptr(), n, MPI_BYTE, flat.data_ptr(), n, MPI_BYTE, comm_, &w->req_),
        "MPI_Iallgather");
  return w;
}

WorkPtr MpiBackend::barrier() {
  auto w = std::make_shared<RequestWork>();
  check(MPI_Ibarrier(comm_, &w->req_), "MPI_Ibarrier");
  return w;
}

BytesWorkPtr MpiBackend::broadcast_bytes(std::string data, int root) {
  auto w = std::make_shared<ChainBytesWork>();
  w->data_ = std::move(data);
  if (size() == 1) return w;  // an empty chain completes at once
  ChainBytesWork* self = w.get();
  MPI_Comm comm = comm_;
  bool is_root = rank() == root;
  if (is_root) self->length_ = static_cast<int64_t>(self->data_.size());
  w->chain_.stages_.push_back([self, comm, root] {
    MPI_Request r;
    check(MPI_Ibcast(&self->length_, 1, MPI_INT64_T, root, comm, &r), "MPI_Ibcast");
    return r;
  });
  w->chain_.stages_.push_back([self, comm, root, is_root] {
    if (!is_root) self->data_.resize(static_cast<size_t>(self->length_));
    MPI_Request r;
    int n = checked_count(self->length_, "a broadcast");
    check(MPI_Ibcast(self->data_.data(), n, MPI_BYTE, root, comm, &r), "MPI_Ibcast");
    return r;
  });
  return w;
}

GatherWorkPtr MpiBackend::allgather_bytes(std::string data) {
  auto w = std::make_shared<ChainGatherWork>();
  w->mine_ = std::move(data);
  w->lengths_.assign(size(), 0);
  ChainGatherWork* self = w.get();
  MPI_Comm comm = comm_;
  int64_t* mine_len = new int64_t(static_cast<int64_t>(w->mine_.size()));
  std::shared_ptr<int64_t> len_holder(mine_len);
  w->chain_.stages_.push_back([self, comm, len_holder] {
    MPI_Request r;
    check(MPI_Iallgather(len_holder.get(), 1, MPI_INT64_T, self->lengths_.data(), 1, MPI_INT64_T,
                         comm, &r),
          "MPI_Iallgather");
    return r;
  });
  w->chain_.stages_.push_back([self, comm] {
    int64_t total = 0;
    self->counts_.clear();
    self->displs_.clear();
    for (int64_t n : self->lengths_) {
      self->displs_.push_back(checked_count(total, "an allgather"));
      self->counts_.push_back(checked_count(n, "an allgather"));
      total += n;
    }
    checked_count(total, "an allgather");
    self->all_.resize(static_cast<size_t>(total));
    MPI_Request r;
    check(MPI_Iallgatherv(self->mine_.data(), static_cast<int>(self->mine_.size()), MPI_BYTE,
                          self->all_.data(), self->counts_.data(), self->displs_.data(), MPI_BYTE,
                          comm, &r),
          "MPI_Iallgatherv");
    return r;
  });
  return w;
}

}  // namespace smp::comm
