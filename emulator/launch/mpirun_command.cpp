#include "emulator/launch/mpirun_command.h"

#include <set>
#include <sstream>

namespace smplocal {
namespace {

const char* kDuplicateMca =
    "The following MCA parameter has been listed multiple times on the\n"
    "command line:\n\n  MCA param:   %s\n\n"
    "MCA parameters can only be listed once on a command line to ensure there\n"
    "is no ambiguity as to its value.  Please correct the situation and\n"
    "try again.";

bool is_mca_flag(const std::string& t) {
  return t == "-mca" || t == "--mca" || t == "-gmca" || t == "--gmca";
}

// argparse.parse_known_args(custom.split()) with one option, --NCCL_DEBUG (default INFO);
// argparse also accepts unambiguous prefixes such as --NCCL.
void parse_custom_options(const std::string& custom, std::string& nccl_debug, std::vector<std::string>& rest) {
  const std::string option = "--NCCL_DEBUG";
  auto tokens = split_whitespace(custom);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    std::string name = t.substr(0, t.find('='));
    if (t.size() > 2 && t.rfind("--", 0) == 0 && option.rfind(name, 0) == 0) {
      if (t.find('=') != std::string::npos) {
        nccl_debug = t.substr(t.find('=') + 1);
        continue;
      }
      if (i + 1 < tokens.size()) {
        nccl_debug = tokens[++i];
        continue;
      }
    }
    rest.push_back(t);
  }
}

}  // namespace

std::vector<std::string> split_whitespace(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

MpirunCommand build_mpirun_command(const MpirunInput& in) {
  MpirunCommand cmd;
  auto& a = cmd.argv;
  int ppn = in.processes_per_host;
  std::string host_list;
  for (size_t i = 0; i < in.hosts.size(); ++i) {
    if (i) host_list += ",";
    host_list += ppn == 1 ? in.hosts[i] : in.hosts[i] + ":" + std::to_string(ppn);
  }
  int np = in.num_processes > 0 ? in.num_processes : ppn * static_cast<int>(in.hosts.size());
  a = {in.mpirun, "--host", host_list, "-np", std::to_string(np), "--allow-run-as-root", "--display-map",
       "--tag-output", "-mca", "btl_tcp_if_include", in.network_interface, "-mca", "oob_tcp_if_include",
       in.network_interface, "-mca", "plm_rsh_no_tree_spawn", "1", "-bind-to", "none", "-map-by", "slot",
       "-mca", "pml", "ob1", "-mca", "btl", in.tcp_only_btl ? "self,tcp" : "^openib", "-mca",
       "orte_abort_on_non_zero_status", "1", "-mca", "btl_vader_single_copy_mechanism", "none"};
  if (in.tcp_only_btl)
    cmd.notes.push_back("no UTS namespaces: \"-mca btl ^openib\" becomes \"-mca btl self,tcp\" "
                        "(the shared-memory transport cannot tell emulated hosts apart)");
  // Emulated hosts are Open MPI nodes reached through the rsh launcher, smp-local's host agent in
  // place of ssh. "plm rsh" on the command line wins over OMPI_MCA_plm=isolated (set in some
  // container images) or a params file, which would otherwise run every rank on algo-1.
  if (!in.host_agent.empty())
    a.insert(a.end(), {"-mca", "plm", "rsh", "-mca", "plm_rsh_agent", in.host_agent});

  std::string nccl_debug = "INFO";
  std::vector<std::string> custom;
  parse_custom_options(in.custom_mpi_options, nccl_debug, custom);
  a.insert(a.end(), {"-x", "NCCL_MIN_NRINGS=4", "-x", "NCCL_SOCKET_IFNAME=" + in.network_interface, "-x",
                     "NCCL_DEBUG=" + nccl_debug});
  if (in.forward_ld_library_path) a.insert(a.end(), {"-x", "LD_LIBRARY_PATH"});
  a.insert(a.end(), {"-x", "PATH"});
  if (!in.gethostname_preload.empty()) a.insert(a.end(), {"-x", "LD_PRELOAD=" + in.gethostname_preload});

  // The same MCA parameter twice makes mpirun refuse to start (as on SageMaker).
  std::set<std::string> mca_seen;
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (is_mca_flag(a[i])) mca_seen.insert(a[++i]);
  for (size_t i = 0; i + 1 < custom.size(); ++i) {
    if (!is_mca_flag(custom[i])) continue;
    const std::string& param = custom[i + 1];
    if (!mca_seen.insert(param).second) {
      char buf[1024];
      std::snprintf(buf, sizeof buf, kDuplicateMca, param.c_str());
      const bool emulation = param == "plm" || param == "plm_rsh_agent";
      cmd.problems.push_back(error_problem(
          "distribution.mpi.custom_mpi_options", buf,
          "Remove \"" + custom[i] + " " + param + "\" from custom_mpi_options: " +
              (emulation
                   ? "smp-local sets it to reach its emulated hosts (Open MPI's rsh launcher, "
                     "smp-local's host agent in place of ssh)."
                   : "the toolkit already sets it.")));
    }
    ++i;
  }
  a.insert(a.end(), custom.begin(), custom.end());

  bool efa_wanted = in.instance_efa_nccl || in.instance_efa_rdma;
  if (efa_wanted && in.local_efa) {
    if (in.instance_efa_nccl) a.insert(a.end(), {"-x", "FI_PROVIDER=efa", "-x", "NCCL_PROTO=simple"});
    if (in.instance_efa_rdma) a.insert(a.end(), {"-x", "FI_EFA_USE_DEVICE_RDMA=1"});
  } else if (efa_wanted) {
    cmd.notes.push_back("the target instance type uses EFA, but this machine has no EFA device: "
                        "the toolkit's EFA flags (-x FI_PROVIDER=efa ...) are dropped");
  }
  for (const auto& name : in.aws_credential_names) a.insert(a.end(), {"-x", name});
  for (const auto& name : in.exported_env_names) a.insert(a.end(), {"-x", name});
  if (in.modelparallel && !in.dlc_torch_version.empty()) {
    a.insert(a.end(), {"-x", "NCCL_PROTO=simple"});
    int major = std::atoi(in.dlc_torch_version.c_str());
    if (major > 1) a.insert(a.end(), {"-x", "NCCL_ALGO=ring"});
  }
  a.insert(a.end(), in.entry_argv.begin(), in.entry_argv.end());
  return cmd;
}

}  // namespace smplocal
