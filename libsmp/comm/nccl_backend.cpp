#include "libsmp/comm/nccl_backend.h"

#include <ATen/core/Tensor.h>

#include <cstring>

#include "libsmp/runtime/error.h"

#ifdef SMP_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace smp::comm {
namespace {

void check_cuda(cudaError_t rc, const char* call) {
  if (rc != cudaSuccess)
    throw Error(std::string("libsmp NCCL backend: ") + call + " failed: " + cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* call) {
  if (rc != ncclSuccess)
    throw Error(std::string("libsmp NCCL backend: ") + call + " failed: " + ncclGetErrorString(rc) +
                " (set NCCL_DEBUG=INFO for NCCL's own log).");
}

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kInt: return ncclInt32;
    case at::kLong: return ncclInt64;
    case at::kChar: return ncclInt8;
    case at::kByte:
    case at::kBool: return ncclUint8;
    default:
      throw Error(std::string("libsmp NCCL backend: tensors of dtype ") +
                  std::string(c10::toString(t.scalar_type())) + " are not supported.");
  }
}

// Completes when the CUDA event recorded after the operation has fired.
class EventWork : public Work {
 public:
  EventWork(cudaEvent_t event, std::vector<at::Tensor> keep) : event_(event), keep_(std::move(keep)) {}
  ~EventWork() override {
    if (event_) cudaEventDestroy(event_);
  }
  bool test() override {
    if (done_) return true;
    cudaError_t rc = cudaEventQuery(event_);
    if (rc == cudaErrorNotReady) return false;
    check_cuda(rc, "cudaEventQuery");
    done_ = true;
    keep_.clear();
    return true;
  }

 private:
  cudaEvent_t event_;
  std::vector<at::Tensor> keep_;
  bool done_ = false;
};

}  // namespace

std::string NcclBackend::version() {
  int v = 0;
  ncclGetVersion(&v);
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

int NcclBackend::device_count(std::string* why_none) {
  int n = 0;
  cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc != cudaSuccess) {
    if (why_none) *why_none = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(rc);
    return 0;
  }
  if (n == 0 && why_none) *why_none = "no CUDA device is visible";
  return n;
}

NcclBackend::NcclBackend(MpiBackend& bootstrap, int device)
    : Backend(bootstrap.group_name(), bootstrap.members(), bootstrap.rank(), bootstrap.timeout()),
      mpi_(bootstrap), device_(device) {
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  ncclUniqueId id;
  std::string blob;
  if (rank() == 0) {
    check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    blob.assign(reinterpret_cast<const char*>(&id), sizeof id);
  }
  blob = mpi_.broadcast_bytes_sync(blob, 0);
  if (blob.size() != sizeof id) throw Error("libsmp NCCL backend: bad ncclUniqueId from rank 0.");
  std::memcpy(&id, blob.data(), sizeof id);
  check_nccl(ncclCommInitRank(&comm_, size(), id, rank()), "ncclCommInitRank");
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

NcclBackend::~NcclBackend() {
  if (comm_) ncclCommDestroy(comm_);
  if (stream_) cudaStreamDestroy(stream_);
}

void NcclBackend::before_enqueue() {
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
#ifdef SMP_TORCH_CUDA
  // After whatever torch queued on its current stream (the producers of the data).
  cudaEvent_t ready;
  check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
  check_cuda(cudaEventRecord(ready, c10::cuda::getCurrentCUDAStream(device_).stream()), "cudaEventRecord");
  check_cuda(cudaStreamWaitEvent(stream_, ready, 0), "cudaStreamWaitEvent");
  cudaEventDestroy(ready);
#else
  // Without torch's CUDA headers the producing stream is unknown: wait for the whole device.
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
#endif
}

WorkPtr NcclBackend::after_enqueue(std::vector<at::Tensor> keep) {
  cudaEvent_t done;
  check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
  check_cuda(cudaEventRecord(done, stream_), "cudaEventRecord");
  return std::make_shared<EventWork>(done, std::move(keep));
}

WorkPtr NcclBackend::allreduce_raw(void* data, size_t count, ncclDataType_t type, ncclRedOp_t op) {
  before_enqueue();
  check_nccl(ncclAllReduce(data, data, count, type, op, comm_, stream_), "ncclAllReduce");
  return after_enqueue({});
}

WorkPtr NcclBackend::broadcast_raw(void* data, size_t count, ncclDataType_t type, int root) {
  before_enqueue();
  check_nccl(ncclBroadcast(data, data, count, type, root, comm_, stream_), "ncclBroadcast");
  return after_enqueue({});
}

WorkPtr NcclBackend::send_raw(const void* data, size_t count, ncclDataType_t type, int dst) {
  before_enqueue();
  check_nccl(ncclSend(data, count, type, dst, comm_, stream_), "ncclSend");
  return after_enqueue({});
}

WorkPtr NcclBackend::recv_raw(void* data, size_t count, ncclDataType_t type, int src) {
  before_enqueue();
  check_nccl(ncclRecv(data, count, type, src, comm_, stream_), "ncclRecv");
  return after_enqueue({});
}

namespace {
const at::Tensor& cuda_tensor(const at::Tensor& t, int device, const char* op) {
  if (!t.is_cuda() || t.get_device() != device || !t.is_contiguous())
    throw Error(std::string("libsmp NCCL backend: ") + op + " needs a contiguous CUDA tensor on "
                "device " + std::to_string(device) + "; use the MPI backend for CPU tensors.");
  return t;
}
}  // namespace

WorkPtr NcclBackend::isend(const at::Tensor& tensor, int dst, int) {
  const at::Tensor& t = cuda_tensor(tensor, device_, "send");
  before_enqueue();
  check_nccl(ncclSend(t.data_ptr(), t.numel(), nccl_type(t), dst, comm_, stream_), "ncclSend");
  return after_enqueue({t});
}

WorkPtr NcclBackend::irecv(const at::Tensor& tensor, int src, int) {
  const at::Tensor& t = cuda_tensor(tensor, device_, "recv");
  before_enqueue();
  check_nccl(ncclRecv(t.data_ptr(), t.numel(), nccl_type(t), src, comm_, stream_), "ncclRecv");
  return after_enqueue({t});
}

WorkPtr NcclBackend::broadcast(const at::Tensor& tensor, int root) {
  const at::Tensor& t = cuda_tensor(tensor, device_, "broadcast");
  before_enqueue();
  check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t), root, comm_, stream_),
             "ncclBroadcast");
  return after_enqueue({t});
}

WorkPtr NcclBackend::allreduce(const at::Tensor& tensor, ReduceOp op) {
  const at::Tensor& t = cuda_tensor(tensor, device_, "allreduce");
  before_enqueue();
  check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t),
                           op == ReduceOp::kAvg ? ncclAvg : ncclSum, comm_, stream_),
             "ncclAllReduce");
  return after_enqueue({t});
}

WorkPtr NcclBackend::allgather(const std::vector<at::Tensor>& out, const at::Tensor& in) {
  const at::Tensor& src = cuda_tensor(in, device_, "allgather");
  if (static_cast<int>(out.size()) != size())
    throw Error("libsmp NCCL backend: allgather needs one output tensor per member of " + group_name());
  before_enqueue();
  // Point-to-point exchange in one group call: every rank sends `in` to all and receives each.
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (int r = 0; r < size(); ++r) {
    const at::Tensor& dst = cuda_tensor(out[r], device_, "allgather");
    check_nccl(ncclSend(src.data_ptr(), src.numel(), nccl_type(src), r, comm_, stream_), "ncclSend");
    check_nccl(ncclRecv(dst.data_ptr(), dst.numel(), nccl_type(dst), r, comm_, stream_), "ncclRecv");
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  std::vector<at::Tensor> keep = out;
  keep.push_back(src);
  return after_enqueue(std::move(keep));
}

WorkPtr NcclBackend::barrier() { return mpi_.barrier(); }
WorkPtr NcclBackend::isend_bytes(std::string data, int dst, int tag) {
  return mpi_.isend_bytes(std::move(data), dst, tag);
}
BytesWorkPtr NcclBackend::irecv_bytes(int src, int tag) { return mpi_.irecv_bytes(src, tag); }
BytesWorkPtr NcclBackend::broadcast_bytes(std::string data, int root) {
  return mpi_.broadcast_bytes(std::move(data), root);
}
GatherWorkPtr NcclBackend::allgather_bytes(std::string data) {
  return mpi_.allgather_bytes(std::move(data));
}

}  // namespace smp::comm
