// DistributedModel's partitioning: which contiguous children each pipeline stage runs (manual:
// set_partition + default_partition; auto: a tracing pass of the step function on rank 0,
// balanced by core::balance_stages and broadcast so every rank applies the same split), then
// keeping only this rank's stage, making the DP replicas identical and starting the stage's
// execution server.
#include <ATen/Functions.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>

#include "libsmp/comm/mpi_backend.h"
#ifdef SMP_HAVE_NCCL
#include "libsmp/comm/nccl_backend.h"
#endif
#include "libsmp/core/partition.h"
#include "libsmp/model/model_impl.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {
bool g_tracing = false;

double bytes_of(const std::vector<at::Tensor>& tensors) {
  double n = 0;
  for (const auto& t : tensors) n += static_cast<double>(t.numel()) * t.element_size();
  return n;
}
}  // namespace

bool is_tracing() { return g_tracing; }

namespace detail {

std::vector<int> ModelImpl::manual_partition() const {
  auto& rt = runtime();
  std::vector<int> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto it = manual.find(layers[i].name);
    int s = it != manual.end() ? it->second : rt.config.default_partition;
    if (!out.empty() && s < out.back())
      throw Error("smp::DistributedModel: libsmp runs each pipeline stage as one contiguous run of "
                  "children, but child '" + layers[i].name + "' is on partition " +
                  std::to_string(s) + " after child '" + layers[i - 1].name + "' on partition " +
                  std::to_string(out.back()) + " (unplaced children go to default_partition " +
                  std::to_string(rt.config.default_partition) +
                  "). Assign non-decreasing partitions in the children's order with "
                  "set_partition, or set auto_partition to true.");
    out.push_back(s);
  }
  return out;
}

namespace {
// Thrown by model(x) on rank 0 once the traced step function has reached the model: the rest of
// the step function (loss, backward) does not run while tracing.
struct TracingEnd {};
}  // namespace

void ModelImpl::trace_forward(const at::Tensor& input) {
  const int n = static_cast<int>(layers.size());
  traced.assign(n, core::ChildProfile{});
  c10::AutoGradMode no_grad(false);
  // One warm-up pass, then the fastest of two timed passes per child.
  for (int pass = 0; pass < 3; ++pass) {
    at::Tensor h = input;
    for (int i = 0; i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      h = layers[i].forward(h);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (pass == 1) traced[i].seconds = dt;
      if (pass == 2) traced[i].seconds = std::min(traced[i].seconds, dt);
      traced[i].activation_bytes = static_cast<double>(h.numel()) * h.element_size();
    }
  }
  throw TracingEnd{};
}

std::vector<int> ModelImpl::auto_partition(const StepFunction& fn, const Inputs& first) {
  auto& rt = runtime();
  const int n = static_cast<int>(layers.size());
  std::string decision;
  if (rt.rank == 0) {
    // As SMP does: rank 0 runs the step function on the first microbatch, with grad off, up to
    // the model call, and profiles the model's children on the input it gets.
    try {
      traced.clear();
      g_tracing = true;
      try {
        c10::AutoGradMode no_grad(false);
        fn(first);
      } catch (const TracingEnd&) {
      }
      g_tracing = false;
      if (traced.empty())
        throw Error("the step function returned without calling the model, so there is nothing "
                    "to trace; call model(x) in the step function, or set auto_partition to "
                    "false and place the children with set_partition.");
      std::vector<core::ChildProfile> prof = std::move(traced);
      traced.clear();
      for (int i = 0; i < n; ++i) {
        prof[i].name = layers[i].name;
        prof[i].param_bytes =
            bytes_of(layers[i].module->parameters()) + bytes_of(layers[i].module->buffers());
      }
      std::vector<double> cost = core::partition_costs(prof, rt.config.memory_weight);
      std::vector<int> a = core::balance_stages(cost, std::min(stages, n));
      std::ostringstream log, enc;
      log << "[smp] auto-partition of " << n << " children into " << stages
          << " stages (memory_weight " << rt.config.memory_weight << ", traced on one microbatch):";
      for (int i = 0; i < n; ++i) {
        char line[256];
        std::snprintf(line, sizeof line,
                      "\n[smp]   %-24s %9.1f us  params %9.3f MB  activation %9.3f MB  cost %.3f "
                      "-> stage %d",
                      ("'" + layers[i].name + "'").c_str(), prof[i].seconds * 1e6,
                      prof[i].param_bytes / 1e6, prof[i].activation_bytes / 1e6, cost[i], a[i]);
        log << line;
        enc << (i ? "," : "") << a[i];
      }
      std::fprintf(stderr, "%s\n", log.str().c_str());
      decision = enc.str();
    } catch (const std::exception& e) {
      g_tracing = false;
      decision = std::string("!") + e.what();
    }
  }
  decision = rt.objects->broadcast_bytes_sync(decision, 0);
  if (!decision.empty() && decision[0] == '!')
    throw Error("smp::DistributedModel: the auto-partition tracing pass failed on rank 0: " +
                decision.substr(1));
  std::vector<int> a;
  std::istringstream in(decision);
  for (std::string part; std::getline(in, part, ',');) a.push_back(std::stoi(part));
  return a;
}

void ModelImpl::prepare_step(const StepFunction& fn, const Inputs& first) {
  if (partitioned) return;
  auto& rt = runtime();
  stages = rt.topology->pp_size();
  stage = rt.coords.pp_rank;
  std::vector<int> a;
  const char* how = "manual";
  if (forced) {
    a = *forced;
    how = "from checkpoint";
  } else if (stages == 1) {
    a.assign(layers.size(), 0);
  } else if (rt.config.auto_partition) {
    if (!manual.empty() && rt.rank == 0)
      std::fprintf(stderr, "[smp] warning: set_partition is ignored because auto_partition is "
                           "true; set \"auto_partition\": false to place children by hand.\n");
    a = auto_partition(fn, first);
    how = "auto";
  } else {
    a = manual_partition();
  }
  apply_partition(std::move(a));
  if (rt.rank == 0 && stages > 1) {
    std::string line = "[smp] pipeline partition (" + std::string(how) + "):";
    for (int s = 0; s < stages; ++s) {
      line += s ? " | stage " : " stage ";
      line += std::to_string(s) + ":";
      bool any = false;
      for (size_t i = 0; i < layers.size(); ++i)
        if (assignment[i] == s) {
          line += " '" + layers[i].name + "'";
          any = true;
        }
      if (!any) line += " (no children: passes activations through)";
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void ModelImpl::apply_partition(std::vector<int> a) {
  auto& rt = runtime();
  if (a.size() != layers.size())
    throw Error("smp::DistributedModel: the partition has " + std::to_string(a.size()) +
                " entries for " + std::to_string(layers.size()) +
                " children (a checkpoint of a different model?).");
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] < 0 || a[i] >= stages || (i > 0 && a[i] < a[i - 1]))
      throw Error("smp::DistributedModel: invalid partition for " + std::to_string(stages) +
                  " stages at child '" + layers[i].name + "' (stage " + std::to_string(a[i]) +
                  "); a checkpoint saved with another pipeline_parallel_degree cannot be loaded "
                  "partially.");
  assignment = std::move(a);

  std::set<const void*> local;
  for (size_t i = 0; i < layers.size(); ++i)
    if (assignment[i] == stage) {
      for (auto& p : layers[i].module->parameters()) local.insert(p.unsafeGetTensorImpl());
      for (auto& b : layers[i].module->buffers()) local.insert(b.unsafeGetTensorImpl());
    }
  for (size_t i = 0; i < layers.size(); ++i)
    if (assignment[i] != stage)
      for (auto& p : layers[i].module->parameters())
        if (local.count(p.unsafeGetTensorImpl()))
          throw Error("smp::DistributedModel: child '" + layers[i].name + "' (stage " +
                      std::to_string(assignment[i]) + ") shares a parameter with a child on stage " +
                      std::to_string(stage) + "; children sharing parameters must be on the same "
                      "stage (set_partition).");
  local_params.clear();
  local_buffers.clear();
  for (const auto& item : root->named_parameters())
    if (local.count(item.value().unsafeGetTensorImpl())) local_params.emplace_back(item.key(), item.value());
  for (const auto& item : root->named_buffers())
    if (local.count(item.value().unsafeGetTensorImpl())) local_buffers.emplace_back(item.key(), item.value());

  {
    // The other stages' tensors are dropped: this rank holds only its own stage.
    c10::AutoGradMode no_grad(false);
    for (size_t i = 0; i < layers.size(); ++i) {
      if (assignment[i] == stage) continue;
      for (auto& p : layers[i].module->parameters()) {
        p.set_data(at::empty({0}, p.options()));
        if (p.grad().defined()) p.mutable_grad() = at::Tensor();
      }
      for (auto& b : layers[i].module->buffers()) b.set_data(at::empty({0}, b.options()));
    }
  }
  if (!local_params.empty()) device = local_params.front().second.device();

  auto* pp = dynamic_cast<comm::MpiBackend*>(rt.pipeline.get());
  if (!pp) throw Error("libsmp internal error: the pipeline group has no MPI communicator");
  server = std::make_unique<pipeline::ExecutionServer>(
      pp->comm(), stage, stages,
      [this](int first_child, pipeline::Packed args) { return serve(first_child, std::move(args)); },
      rt.trace());

  if (rt.topology->dp_size() > 1) {
    c10::AutoGradMode no_grad(false);
    for (auto& [name, t] : local_params) rt.dp->broadcast_sync(t, 0);
    for (auto& [name, t] : local_buffers) rt.dp->broadcast_sync(t, 0);
    if (rt.config.ddp) {
      std::vector<at::Tensor> params;
      for (auto& [name, t] : local_params) params.push_back(t);
      comm::Backend* group = rt.dp.get();
#ifdef SMP_HAVE_NCCL
      // CUDA gradients are averaged by NCCL (the MPI backend would stage them through the host).
      if (device.is_cuda()) {
        if (!rt.dp_cuda)
          rt.dp_cuda = std::make_unique<comm::NcclBackend>(dynamic_cast<comm::MpiBackend&>(*rt.dp),
                                                           device.index());
        group = rt.dp_cuda.get();
      }
#endif
      reducer = std::make_unique<ddp::GradReducer>(params, *group, options.bucket_cap_mb,
                                                   options.gradient_as_bucket_view);
    }
  }
  partitioned = true;
  if (pending_load) {
    StateDict state = std::move(*pending_load);
    pending_load.reset();
    load_now(state, pending_strict);
  }
  for (auto& hook : hooks) hook(*owner);
  hooks.clear();
}

}  // namespace detail
}  // namespace smp
