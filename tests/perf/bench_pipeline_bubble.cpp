// Pipeline bubble: the measured idle fraction of every stage against (p-1)/(m+p-1), for
// p in {2, 4} and m in {4, 8, 16}, both schedules. Stages are perfectly balanced and cost no CPU:
// each is one layer that sleeps 5 ms in forward and 10 ms in backward (so 4 ranks on 2 cores still
// measure the schedule, not the CPU contention). Idle fraction of a stage in a step =
// 1 - (its forward+backward time) / (the step's span over all ranks).
// Run: bench_pipeline_bubble [--tf-ms 5] [--tb-ms 10] [--steps 4] [--p 2|4] [--m 4|8|16]
//      [--simple 1 | --interleaved 1]      (launches mpirun -np 2 and -np 4)
#include <torch/torch.h>

#include <thread>

#include "libsmp/core/schedule.h"
#include "libsmp/smp.h"
#include "libsmp_bench.h"

namespace {

double g_busy_s = 0;  // this rank's compute (sleep) time

void sleep_for_ms(double ms) {
  double t0 = smpbench::now_s();
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
  g_busy_s += smpbench::now_s() - t0;
}

struct SleepFn : torch::autograd::Function<SleepFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, double tf, double tb) {
    ctx->saved_data["tb"] = tb;
    sleep_for_ms(tf);
    return x.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    sleep_for_ms(ctx->saved_data["tb"].toDouble());
    return {g[0], at::Tensor(), at::Tensor()};
  }
};

struct SleepLayerImpl : torch::nn::Module {
  SleepLayerImpl(double tf, double tb) : tf(tf), tb(tb) { w = register_parameter("w", torch::ones({1})); }
  at::Tensor forward(const at::Tensor& x) { return SleepFn::apply(x * w, tf, tb); }
  double tf, tb;
  at::Tensor w;
};
TORCH_MODULE(SleepLayer);

double arg(int argc, char** argv, const std::string& name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (name == argv[i]) return std::atof(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (!smpbench::under_mpirun()) {
    std::printf("bench_pipeline_bubble: load average %s\n", smpbench::load_average().c_str());
    int rc = 0;
    int only_p = static_cast<int>(arg(argc, argv, "--p", 0));
    for (int np : {2, 4})
      if (!only_p || only_p == np) rc |= smpbench::relaunch(np, argc, argv);
    return rc;
  }
  at::set_num_threads(1);
  const double tf = arg(argc, argv, "--tf-ms", 5), tb = arg(argc, argv, "--tb-ms", 10);
  const int steps = static_cast<int>(arg(argc, argv, "--steps", 4));
  const int p = smpbench::world_size();
  const int only_m = static_cast<int>(arg(argc, argv, "--m", 0));
  const bool only_simple = arg(argc, argv, "--simple", 0) != 0;
  const bool only_interleaved = arg(argc, argv, "--interleaved", 0) != 0;
  const int active = static_cast<int>(arg(argc, argv, "--active", 0));  // 0: SMP's default
  for (const char* pipeline : {"interleaved", "simple"})
    for (int m : {4, 8, 16}) {
      if ((only_m && m != only_m) || (only_simple && std::string(pipeline) != "simple") ||
          (only_interleaved && std::string(pipeline) != "interleaved"))
        continue;
      smp::InitOptions o;
      o.use_environment = false;
      // SMP_BENCH_TRACE=<dir>: write the ranks' traces there (to see where the idle time goes).
      if (const char* dir = std::getenv("SMP_BENCH_TRACE")) o.trace_dir = dir;
      smp::Json params = {{"partitions", p}, {"microbatches", m}, {"pipeline", pipeline},
                          {"auto_partition", false}, {"default_partition", 0}};
      if (active > 0) params["active_microbatches"] = std::min(active, m);
      smp::init(params, o);
      std::vector<double> idle(p, 0.0);
      {
        torch::nn::Sequential seq;
        for (int s = 0; s < p; ++s) seq->push_back(SleepLayer(tf, tb));
        smp::DistributedModel model(seq);
        for (int s = 0; s < p; ++s) model.set_partition(std::to_string(s), s);
        at::Tensor x = torch::ones({m, 4});
        for (int step = 0; step <= steps; ++step) {
          smp::barrier();
          double busy0 = g_busy_s;
          double t0 = smpbench::now_s();
          smp::step(
              [&](const smp::Inputs& in) -> smp::Returns {
                at::Tensor loss = model(in.tensor("x")).sum();
                model.backward(loss);
                return {};
              },
              {{"x", x}});
          double t1 = smpbench::now_s();
          auto all = smp::allgather(c10::IValue(std::vector<double>{t0, t1, g_busy_s - busy0}), smp::WORLD);
          if (step == 0) continue;  // warm-up (partitioning)
          double start = 1e300, end = 0;
          for (auto& v : all) {
            auto d = v.toDoubleVector();
            start = std::min(start, d[0]);
            end = std::max(end, d[1]);
          }
          if (std::getenv("SMP_BENCH_DEBUG") && smp::rank() == 0)
            for (int r = 0; r < p; ++r) {
              auto d = all[r].toDoubleVector();
              std::printf("  step %d rank %d: start %+.2f ms end %+.2f ms busy %.2f ms (window %.2f ms)\n",
                          step, r, (d[0] - start) * 1e3, (d[1] - start) * 1e3, d[2] * 1e3,
                          (end - start) * 1e3);
            }
          for (int r = 0; r < p; ++r) {
            auto d = all[r].toDoubleVector();
            // world rank r is stage r here (cluster placement, dp = 1)
            idle[r] += (1.0 - d[2] / (end - start)) / steps;
          }
        }
      }
      if (smp::rank() == 0) {
        double theory = smp::core::ideal_bubble_fraction(p, m);
        auto sim = smp::core::simulate_pipeline(
            std::string(pipeline) == "simple" ? smp::core::PipelineSchedule::kSimple
                                              : smp::core::PipelineSchedule::kInterleaved,
            p, m, active > 0 ? std::min(active, m) : p + 2, tf, tb);
        double worst = 0;
        std::string per_stage;
        for (int s = 0; s < p; ++s) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%s%.3f", s ? " " : "", idle[s]);
          per_stage += buf;
          worst = std::max(worst, std::abs(idle[s] - theory));
        }
        std::printf("bubble p=%d m=%-2d %-11s theory (p-1)/(m+p-1)=%.3f model=%.3f measured per stage [%s] "
                    "max |measured-theory| = %.1f points %s\n",
                    p, m, pipeline, theory, sim.idle_fraction(0), per_stage.c_str(), 100 * worst,
                    worst <= 0.05 ? "(within 5)" : "(OVER 5)");
        std::fflush(stdout);
      }
      smp::shutdown(false);
    }
  return 0;
}
