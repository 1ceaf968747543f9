#include "libsmp/runtime/timeout_notice.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/runtime/runtime.h"

namespace smp::detail {
namespace {

constexpr int kNoticeTag = 0;

// One rank's entry in the table every rank holds (fixed size, for MPI_Allgather).
struct Wire {
  char host[256];
  int32_t pid;
  int32_t dump_signal;
};

}  // namespace

TimeoutNotices::TimeoutNotices(int rank, const std::string& host, int dump_signal)
    : rank_(rank), dump_signal_(dump_signal) {
  MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
  int size = 1;
  MPI_Comm_size(comm_, &size);
  Wire mine{};
  std::strncpy(mine.host, host.c_str(), sizeof mine.host - 1);
  mine.pid = static_cast<int32_t>(getpid());
  mine.dump_signal = dump_signal;
  std::vector<Wire> all(size);
  MPI_Allgather(&mine, sizeof(Wire), MPI_BYTE, all.data(), sizeof(Wire), MPI_BYTE, comm_);
  for (const auto& w : all) peers_.push_back({std::string(w.host), w.pid, w.dump_signal});
}

TimeoutNotices::~TimeoutNotices() {
  if (comm_ != MPI_COMM_NULL && comm::mpi_alive()) MPI_Comm_free(&comm_);
}

void TimeoutNotices::announce(double linger_s) {
  if (announced_ || comm_ == MPI_COMM_NULL) return;
  announced_ = handled_ = true;
  std::vector<MPI_Request> requests;
  for (int r = 0; r < static_cast<int>(peers_.size()); ++r) {
    if (r == rank_) continue;
    MPI_Request& req = requests.emplace_back(MPI_REQUEST_NULL);
    MPI_Isend(&rank_, 1, MPI_INT, r, kNoticeTag, comm_, &req);
    // A rank busy in Python code never polls: its faulthandler signal dumps its stacks. Pids are
    // only meaningful on this host (an smp-local host is its own hostname).
    const Peer& p = peers_[r];
    if (p.dump_signal > 0 && p.host == peers_[rank_].host && p.pid > 0) kill(p.pid, p.dump_signal);
  }
  std::fprintf(stderr, "[smp rank %d] asked every rank to print what it waits for and its stacks\n",
               rank_);
  std::fflush(stderr);
  auto until = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(linger_s));
  while (std::chrono::steady_clock::now() < until) {
    int done = 0;
    if (!requests.empty())
      MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Unfinished notices stay posted: the job ends right after this.
}

void TimeoutNotices::check(const std::function<std::string()>& waits) {
  if (handled_ || comm_ == MPI_COMM_NULL) return;
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(MPI_ANY_SOURCE, kNoticeTag, comm_, &flag, &status);
  if (!flag) return;
  handled_ = true;
  int from = -1;
  MPI_Recv(&from, 1, MPI_INT, status.MPI_SOURCE, kNoticeTag, comm_, MPI_STATUS_IGNORE);
  std::fprintf(stderr, "[smp rank %d] rank %d is ending the job (see its message); this rank waits for: %s\n",
               rank_, from, waits ? waits().c_str() : "(nothing)");
  std::fflush(stderr);
  // Ranks on the announcer's host with a dump signal have printed their stacks already.
  const bool signalled = dump_signal_ > 0 && from >= 0 &&
                         from < static_cast<int>(peers_.size()) &&
                         peers_[from].host == peers_[rank_].host;
  if (dumper_ && !signalled) dumper_();
}

TimeoutNotices* timeout_notices() {
  Runtime* rt = runtime_or_null();
  return rt ? rt->notices.get() : nullptr;
}

}  // namespace smp::detail
