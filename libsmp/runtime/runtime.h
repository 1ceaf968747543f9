#pragma once
// Runtime: the process-wide state smp::init() builds — merged config, topology, this rank's
// coordinates, one communicator per group (plus dedicated ones for pipeline, object and DDP
// traffic so they never match each other's messages), the tracer and the step counter.
// Internal to libsmp; user code reaches it through the query functions.

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "libsmp/comm/backend.h"
#include "libsmp/core/config.h"
#include "libsmp/core/topology.h"
#include "libsmp/runtime/groups.h"
#include "libsmp/runtime/timeout_notice.h"
#include "libsmp/trace/tracer.h"

namespace smp::detail {

core::CommGroup to_core(CommGroup group);

struct Runtime {
  core::Config config;
  core::Json parameters;  // merged mp_parameters as given
  std::unique_ptr<core::Topology> topology;
  core::RankCoords coords;
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  std::string host;
  std::chrono::duration<double> timeout{300.0};
  // On a timed-out wait inside smp::step: throw smp::TimeoutError (SMP_ON_TIMEOUT=throw) instead
  // of the default, which prints the message and ends the job with MPI_Abort.
  bool throw_on_timeout = false;

  // One backend per CommGroup (indexed by the enum) for user collectives (smp::barrier, ...).
  std::array<std::unique_ptr<comm::Backend>, 6> groups;
  std::unique_ptr<comm::Backend> objects;    // WORLD: smp::send / broadcast / recv_from
  std::unique_ptr<comm::Backend> pipeline;   // PP group: activations, outputs, gradients
  std::unique_ptr<comm::Backend> dp;         // DP group: parameter broadcast, DDP (CPU)
  std::unique_ptr<comm::Backend> dp_cuda;    // DP group over NCCL (CUDA tensors), when built
  std::unique_ptr<comm::Backend> pp_gather;  // PP group: state_dict gathers (collective)

  std::unique_ptr<TimeoutNotices> notices;  // a peer's timeout: every rank says where it stands
  std::unique_ptr<trace::Tracer> tracer;
  int64_t steps = 0;  // smp steps completed on this rank

  comm::Backend& group(CommGroup g) { return *groups[static_cast<int>(g)]; }
  trace::Tracer* trace() { return tracer.get(); }
};

// The runtime; throws smp::Error("smp::init() has not been called ...") before init.
Runtime& runtime();
Runtime* runtime_or_null();

// Prints "[smp rank R] message" to stderr, asks every rank to print where it stands
// (TimeoutNotices), flushes traces and ends the whole job with MPI_Abort(1). For failures other
// ranks cannot recover from (a peer timed out mid-pipeline).
[[noreturn]] void fatal(const std::string& message);

// Owner of the runtime (init.cpp).
void set_runtime(std::unique_ptr<Runtime> rt);
std::unique_ptr<Runtime> take_runtime();

}  // namespace smp::detail
