#pragma once
// init / shutdown: bring libsmp up on this process (config, MPI, groups, trace) and take it down.
//
// Where the configuration comes from:
//   smp::init()            — SM_HP_MP_PARAMETERS (JSON, set by SageMaker's training toolkit and
//                            by smp-local); an error when it is missing.
//   smp::init(config)      — the script's dict; values in SM_HP_MP_PARAMETERS, when that is set,
//                            override it key by key (as SMP's GPT-2 example documents: the
//                            launcher wins).
// The merged parameters are validated with libsmp/core (SDK rules, libsmp's own rules, world size)
// and compared across ranks first, so a mismatch fails on every rank instead of hanging.

#include <optional>
#include <string>

#include "libsmp/core/json.h"

namespace smp {

using Json = core::Json;

struct InitOptions {
  // Give up on a peer after this many seconds (default: SMP_RECV_TIMEOUT_S, else 300).
  std::optional<double> recv_timeout_s;
  // Write Chrome-trace files here (default: SMP_TRACE_DIR; unset = no trace).
  std::optional<std::string> trace_dir;
  // Rewrite the trace file every this many steps (default: SMP_TRACE_FLUSH_EVERY, else 1).
  std::optional<int> trace_flush_every;
  // Read SM_HP_MP_PARAMETERS (set false to use only the explicit config).
  bool use_environment = true;
  // A peer that times out inside smp::step: false (default, or SMP_ON_TIMEOUT=abort) prints the
  // message and ends the job with MPI_Abort(1); true (SMP_ON_TIMEOUT=throw) throws
  // smp::TimeoutError to the caller instead.
  std::optional<bool> throw_on_timeout;
  // A signal whose handler prints this process's stacks (the Python package: faulthandler on
  // SIGUSR2); when a rank on this host times out it sends it here. 0: none (C++ programs).
  int stack_dump_signal = 0;
};

void init();
void init(const Json& config, const InitOptions& options = {});
bool is_initialized();
// Flushes traces, frees the communicators and finalizes MPI (when libsmp initialized it).
// Also runs at process exit when the program did not call it. Idempotent.
// shutdown(false) keeps MPI up (finalized at exit) so that smp::init can run again in this
// process, e.g. with another configuration (tests do this).
void shutdown(bool finalize_mpi = true);

// The mp_parameters in effect after merging (throws before init).
const Json& mp_parameters();

namespace detail {
// init for bindings: `config` null means SM_HP_MP_PARAMETERS alone, as smp::init().
void init(const Json* config, const InitOptions& options);
}  // namespace detail

}  // namespace smp
