#include "libsmp/ddp/grad_reducer.h"

#include <ATen/Functions.h>
#include <c10/core/GradMode.h>

#include <map>

#include "libsmp/comm/mpi_backend.h"

namespace smp::ddp {

GradReducer::GradReducer(std::vector<at::Tensor> params, comm::Backend& group,
                         double bucket_cap_mb, bool gradient_as_bucket_view)
    : group_(group), as_view_(gradient_as_bucket_view) {
  const double cap = bucket_cap_mb * 1024.0 * 1024.0;
  // Buckets hold one dtype and device each; parameters keep their order inside them.
  std::map<std::pair<int, std::string>, std::vector<at::Tensor>> by_kind;
  std::vector<std::pair<int, std::string>> kinds;
  for (auto& p : params) {
    if (!p.requires_grad()) continue;
    auto key = std::make_pair(static_cast<int>(p.scalar_type()), p.device().str());
    if (!by_kind.count(key)) kinds.push_back(key);
    by_kind[key].push_back(p);
  }
  for (const auto& key : kinds) {
    std::vector<at::Tensor> current;
    double bytes = 0;
    auto close = [&] {
      if (current.empty()) return;
      int64_t total = 0;
      for (auto& p : current) total += p.numel();
      Bucket b;
      b.flat = at::zeros({total}, current.front().options().requires_grad(false));
      int64_t offset = 0;
      for (auto& p : current) {
        b.slots.push_back({p, b.flat.narrow(0, offset, p.numel()).view(p.sizes())});
        offset += p.numel();
      }
      buckets_.push_back(std::move(b));
      current.clear();
      bytes = 0;
    };
    for (auto& p : by_kind[key]) {
      double nbytes = static_cast<double>(p.numel()) * p.element_size();
      if (!current.empty() && bytes + nbytes > cap) close();
      current.push_back(p);
      bytes += nbytes;
    }
    close();
  }
}

size_t GradReducer::total_bytes() const {
  size_t n = 0;
  for (const auto& b : buckets_) n += b.flat.nbytes();
  return n;
}

void GradReducer::reduce(trace::Tracer* tracer, long long step, bool prescaled) {
  if (group_.size() == 1 || buckets_.empty()) return;
  c10::AutoGradMode no_grad(false);
  double start = tracer ? trace::now_us() : 0;
  const comm::ReduceOp op = prescaled ? comm::ReduceOp::kSum : comm::ReduceOp::kAvg;
  auto fill = [&](Bucket& b) {
    for (auto& s : b.slots) {
      at::Tensor g = s.param.grad();
      if (!g.defined()) {
        s.view.zero_();
      } else if (g.data_ptr() != s.view.data_ptr()) {
        s.view.copy_(g);
      } else {
        continue;  // already the bucket's view
      }
      if (as_view_) s.param.mutable_grad() = s.view;
    }
  };
  auto* mpi = dynamic_cast<comm::MpiBackend*>(&group_);
  if (mpi && buckets_.front().flat.is_cpu()) {
    auto arrived = group_.barrier();
    group_.wait(*arrived, "every data-parallel replica in " + group_.group_name() +
                              " to reach the DDP gradient allreduce of step " + std::to_string(step));
    for (auto& b : buckets_) {
      fill(b);
      mpi->allreduce_now(b.flat, op);
    }
  } else {
    std::vector<comm::WorkPtr> works;
    works.reserve(buckets_.size());
    for (auto& b : buckets_) {
      fill(b);
      works.push_back(group_.allreduce(b.flat, op));
    }
    for (size_t i = 0; i < works.size(); ++i)
      group_.wait(*works[i], "the DDP gradient allreduce (bucket " + std::to_string(i) + " of " +
                                 std::to_string(works.size()) + ") in " + group_.group_name() +
                                 ": a data-parallel replica has not joined it");
  }
  if (!as_view_) {
    for (auto& b : buckets_)
      for (auto& s : b.slots) {
        at::Tensor& g = s.param.mutable_grad();
        if (!g.defined()) g = s.view.clone();
        else g.copy_(s.view);
      }
  }
  if (tracer)
    tracer->span("allreduce", "allreduce", start, trace::now_us(), 1,
                 trace::Json{{"step", step}, {"bytes", total_bytes()}, {"group", "DP_GROUP"},
                             {"buckets", buckets_.size()}});
}

}  // namespace smp::ddp
