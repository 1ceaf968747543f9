// DDP gradient averaging against a raw MPI_Allreduce of the same number of bytes, on 2 ranks:
// libsmp's GradReducer over 64 parameter tensors (bucketed at 25 MB, gradients as bucket views,
// as DistributedModel uses it: replicas meet in a barrier, then a blocking MPI_Allreduce sum per
// bucket) versus one MPI_Allreduce(MPI_IN_PLACE, float, SUM) of a buffer of the same total size,
// alternated, median of N. Run: bench_ddp_allreduce [--mb 100] [--reps 10]
#include <torch/torch.h>

#include <mpi.h>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/ddp/grad_reducer.h"
#include "libsmp/runtime/runtime.h"
#include "libsmp/smp.h"
#include "libsmp_bench.h"

using smpbench::int_arg;


int main(int argc, char** argv) {
  if (!smpbench::under_mpirun()) {
    std::printf("bench_ddp_allreduce: load average %s\n", smpbench::load_average().c_str());
    return smpbench::relaunch(2, argc, argv);
  }
  at::set_num_threads(1);
  const int total_mb = int_arg(argc, argv, "--mb", 100), reps = int_arg(argc, argv, "--reps", 10);
  smp::InitOptions o;
  o.use_environment = false;
  smp::init({{"partitions", 1}, {"ddp", true}}, o);
  auto& rt = smp::detail::runtime();
  auto& dp = dynamic_cast<smp::comm::MpiBackend&>(*rt.dp);

  const int64_t total = static_cast<int64_t>(total_mb) * 1024 * 1024 / 4;
  const int tensors = 64;
  std::vector<at::Tensor> params;
  for (int i = 0; i < tensors; ++i) {
    at::Tensor p = torch::zeros({total / tensors}).requires_grad_(true);
    p.mutable_grad() = torch::randn({total / tensors});
    params.push_back(p);
  }
  smp::ddp::GradReducer reducer(params, dp, 25.0, true);
  at::Tensor raw = torch::randn({total});

  // DistributedModel seeds its backward with 1/dp and lets the reducer sum (prescaled); the plain
  // average (sum, then a division pass over the buckets) is timed too.
  std::vector<double> tr, ta, tm;
  for (int i = 0; i <= reps; ++i) {
    smp::barrier(smp::DP_GROUP);
    double ta0 = smpbench::now_s();
    reducer.reduce(nullptr, i, /*prescaled=*/false);
    double ta1 = smpbench::now_s();
    smp::barrier(smp::DP_GROUP);
    double t0 = smpbench::now_s();
    reducer.reduce(nullptr, i, /*prescaled=*/true);
    double t1 = smpbench::now_s();
    smp::barrier(smp::DP_GROUP);
    double t2 = smpbench::now_s();
    MPI_Allreduce(MPI_IN_PLACE, raw.data_ptr(), static_cast<int>(total), MPI_FLOAT, MPI_SUM, dp.comm());
    double t3 = smpbench::now_s();
    if (i) {
      ta.push_back(ta1 - ta0);
      tr.push_back(t1 - t0);
      tm.push_back(t3 - t2);
    }
  }
  double a = smpbench::median(tr), b = smpbench::median(tm), c = smpbench::median(ta);
  if (smp::rank() == 0)
    std::printf("ddp allreduce: %d MB in %d tensors, %zu buckets | GradReducer (as in a step) %.1f ms "
                "| raw MPI_Allreduce %.1f ms | ratio %.2fx (target <= 1.1x) | GradReducer with a "
                "division pass %.1f ms (%.2fx)\n",
                total_mb, tensors, reducer.bucket_count(), a * 1e3, b * 1e3, a / b, c * 1e3, c / b);
  smp::shutdown();
  return 0;
}
