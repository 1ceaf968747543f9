#include "libsmp/runtime/runtime.h"

#include <mpi.h>

#include <cstdio>

#include "libsmp/runtime/error.h"

namespace smp::detail {
namespace {
std::unique_ptr<Runtime>& slot() {
  static std::unique_ptr<Runtime> rt;
  return rt;
}
}  // namespace

core::CommGroup to_core(CommGroup group) {
  switch (group) {
    case CommGroup::WORLD: return core::CommGroup::kWorld;
    case CommGroup::MP_GROUP: return core::CommGroup::kMp;
    case CommGroup::DP_GROUP: return core::CommGroup::kDp;
    case CommGroup::PP_GROUP: return core::CommGroup::kPp;
    case CommGroup::TP_GROUP: return core::CommGroup::kTp;
    case CommGroup::RDP_GROUP: return core::CommGroup::kRdp;
  }
  return core::CommGroup::kWorld;
}

Runtime& runtime() {
  if (!slot())
    throw Error(
        "smp::init() has not been called: call smp::init() (config from SM_HP_MP_PARAMETERS) or "
        "smp::init(config) at the start of the program, before any other libsmp call.");
  return *slot();
}

Runtime* runtime_or_null() { return slot().get(); }

void set_runtime(std::unique_ptr<Runtime> rt) { slot() = std::move(rt); }
std::unique_ptr<Runtime> take_runtime() { return std::move(slot()); }

void fatal(const std::string& message) {
  int rank = -1;
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "[smp rank %d] FATAL: %s\n[smp rank %d] aborting the job (MPI_Abort).\n",
               rank, message.c_str(), rank);
  std::fflush(stderr);
  if (auto* rt = runtime_or_null(); rt && rt->notices) rt->notices->announce();
  if (auto* rt = runtime_or_null(); rt && rt->tracer) rt->tracer->flush();
  if (init && !fin) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace smp::detail
