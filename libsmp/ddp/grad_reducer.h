#pragma once
// GradReducer: hybrid data parallelism's gradient averaging. When a step ends, every gradient of
// this stage is averaged over the DP group (the ranks holding the same stage) with one allreduce
// per bucket of about bucket_cap_mb, all buckets in flight at once. With gradient_as_bucket_view
// the gradients live inside the buckets (autograd accumulates into them in place), so a step
// costs no copies; otherwise they are copied in and out. A parameter without a gradient counts as
// zeros, so every replica reduces the same buckets. Over MPI the replicas first meet in a barrier
// (with the timeout: a missing replica is reported), then the buckets go through MPI's blocking,
// tuned MPI_Allreduce; over NCCL all buckets are in flight at once.

#include <ATen/core/Tensor.h>

#include <vector>

#include "libsmp/comm/backend.h"
#include "libsmp/trace/tracer.h"

namespace smp::ddp {

class GradReducer {
 public:
  GradReducer(std::vector<at::Tensor> params, comm::Backend& group, double bucket_cap_mb,
              bool gradient_as_bucket_view);

  // Averages every gradient over the group; blocks (with the group's timeout while waiting for
  // the other replicas). `prescaled`: the gradients were already divided by the group size
  // (DistributedModel seeds the backward with 1/dp), so a sum is the average and no division
  // pass over the buckets is needed.
  void reduce(trace::Tracer* tracer, long long step, bool prescaled = false);

  size_t bucket_count() const { return buckets_.size(); }
  size_t total_bytes() const;

 private:
  struct Slot {
    at::Tensor param;
    at::Tensor view;  // the parameter's place in the bucket, shaped like it
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<Slot> slots;
  };
  std::vector<Bucket> buckets_;
  comm::Backend& group_;
  bool as_view_;
};

}  // namespace smp::ddp
