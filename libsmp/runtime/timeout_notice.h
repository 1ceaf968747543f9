#pragma once
// TimeoutNotices: when one rank's wait times out, every rank says where it stands before the job
// ends, not only the rank that noticed. That rank sends a notice to every other rank over a
// communicator of its own, signals the ranks on its host that installed a stack-dump signal (the
// Python package installs faulthandler on SIGUSR2, which dumps the stacks even of a rank busy
// in Python code and never polling), then lingers a moment so they can print. Every rank checks
// for a notice while it waits — the step's scheduler, blocking collectives — and prints what it
// waits for, plus its stacks through the dumper its binding installed (when no signal did that).

#include <mpi.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace smp::detail {

class TimeoutNotices {
 public:
  // Collective over MPI_COMM_WORLD: every rank learns every rank's host, pid and dump signal.
  TimeoutNotices(int rank, const std::string& host, int dump_signal);
  ~TimeoutNotices();
  TimeoutNotices(const TimeoutNotices&) = delete;
  TimeoutNotices& operator=(const TimeoutNotices&) = delete;

  // Prints this rank's stacks (e.g. Python's faulthandler); called with no lock held.
  void set_dumper(std::function<void()> dumper) { dumper_ = std::move(dumper); }

  // The rank that timed out: notices to everyone, signals to its host's dumpers, then lingers
  // up to `linger_s` while the notices are delivered (once per process).
  void announce(double linger_s = 1.5);

  // While waiting: if a peer's notice has arrived (handled once), prints
  // "[smp rank R] rank S is ending the job ...; this rank waits for: <waits()>" and its stacks.
  void check(const std::function<std::string()>& waits);

 private:
  struct Peer {
    std::string host;
    pid_t pid = 0;
    int dump_signal = 0;
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int dump_signal_ = 0;
  std::vector<Peer> peers_;
  std::function<void()> dumper_;
  bool announced_ = false;
  bool handled_ = false;
};

// The process's notices (null before smp::init): TaskRunner and comm waits call check() on it.
TimeoutNotices* timeout_notices();

}  // namespace smp::detail
