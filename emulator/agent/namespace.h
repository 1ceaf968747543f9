#pragma once
// HostNamespace: turns the calling process into an emulated host — private mount and UTS
// namespaces (inside a user namespace when unprivileged), the host's tree on /opt/ml, its
// channel mounts and /etc/hosts, its hostname.

#include <string>
#include <vector>

#include "libsmp/core/json.h"

namespace smplocal {

struct HostSetup {
  std::string host;             // algo-K
  std::string mode;             // "root", "userns" or "none"
  std::string opt_ml;           // staged tree to bind on /opt/ml
  std::string etc_hosts;        // file to bind on /etc/hosts
  struct BindMount { std::string source, target; bool readonly; };
  std::vector<BindMount> mounts;
};

HostSetup host_setup_from_json(const smp::core::Json& agent_config);

// Performs the setup in the calling process. Throws smplocal::Error with the failing step.
void enter_host(const HostSetup& setup);

}  // namespace smplocal
