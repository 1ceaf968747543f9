#pragma once
// The exit codes of smp-local (documented in the README).

namespace smplocal {

enum ExitCode : int {
  kExitCompleted = 0,  // the job completed (or validate/plan found no error)
  kExitInternal = 1,   // smp-local itself failed
  kExitInvalid = 2,    // invalid spec or command line: nothing was run or written
  kExitFailed = 3,     // the job ran and Failed
  kExitStopped = 4,    // the job was Stopped (max_run, Ctrl-C, SIGTERM)
};

}  // namespace smplocal
