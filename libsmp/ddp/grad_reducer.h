#pragma once
// GradReducer: hybrid data parallelism's gradient averaging. When a step ends, every gradient of
// this stage is averaged over the DP group (the ranks holding the same stage) with one allreduce
// per bucket of about bucket_cap_mb, all buckets in flight at once. With gradient_as_bucket_view
// the gradients live inside the buckets (autograd accumulates into them in place), so a step
// costs no copies; otherwise they are copied in and out. A parameter without a gradient counts as
// zeros, so every replica reduces the same buckets.

#include <ATen/core/Tensor.h>

#include <vector>

#include "libsmp/comm/backend.h"
#include "libsmp/trace/tracer.h"

namespace smp::ddp {

class GradReducer {
 public:
  GradReducer(std::vector<at::Tensor> params, comm::Backend& group, double bucket_cap_mb,
              bool gradient_as_bucket_view);

  // Averages every gradient over the group; blocks (polling, with the group's timeout).
  void reduce(trace::Tracer* tracer, long long step);

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
