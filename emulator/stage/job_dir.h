#pragma once
// JobDir: every path of a job's directory in one place.
//
//   <root>/<job>/job.json            the CreateTrainingJob request (secrets redacted)
//   <root>/<job>/record.json         DescribeTrainingJob-shaped record, updated as the job runs
//   <root>/<job>/plan.json           rank table and mpirun argv
//   <root>/<job>/logs/job.log        everything smp-local printed; logs/algo-K.log per host
//   <root>/<job>/hosts/algo-K/opt/ml the host's /opt/ml tree
//   <root>/<job>/hosts/algo-K/agent.json  what the host agent sets up (mounts, environment)
//   <root>/<job>/trace/              libsmp rank traces (made by the ranks), merged timeline

#include <filesystem>
#include <string>

namespace smplocal {

struct JobDir {
  std::filesystem::path root;  // <root>/<job>

  std::filesystem::path request() const { return root / "job.json"; }
  std::filesystem::path record() const { return root / "record.json"; }
  std::filesystem::path plan() const { return root / "plan.json"; }
  std::filesystem::path logs() const { return root / "logs"; }
  std::filesystem::path job_log() const { return logs() / "job.log"; }
  std::filesystem::path host_log(const std::string& host) const { return logs() / (host + ".log"); }
  std::filesystem::path host(const std::string& host) const { return root / "hosts" / host; }
  std::filesystem::path opt_ml(const std::string& h) const { return host(h) / "opt" / "ml"; }
  std::filesystem::path agent_config(const std::string& h) const { return host(h) / "agent.json"; }
  std::filesystem::path etc_hosts(const std::string& h) const { return host(h) / "etc-hosts"; }
  std::filesystem::path data_cache() const { return root / "data"; }
  std::filesystem::path trace() const { return root / "trace"; }
  std::filesystem::path rank_traces() const { return trace() / "ranks"; }
};

}  // namespace smplocal
