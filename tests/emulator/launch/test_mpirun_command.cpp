// The toolkit's mpirun command line (contract §4.2, TK test_mpi.py order).
#include <catch2/catch_test_macros.hpp>

#include "emulator/launch/mpirun_command.h"
#include "tests/emulator/support.h"

using namespace smplocal;
using V = std::vector<std::string>;

namespace {
MpirunInput base() {
  MpirunInput in;
  in.hosts = {"algo-1", "algo-2"};
  in.processes_per_host = 8;
  in.network_interface = "eth0";
  in.gethostname_preload = "/lib/gethostname.so";
  in.exported_env_names = {"SM_HOSTS", "PYTHONPATH"};
  in.entry_argv = {"python3", "-m", "mpi4py", "train.py", "--epochs", "1"};
  return in;
}
}  // namespace

TEST_CASE("mpirun argv in the toolkit's order", "[mpirun]") {
  MpirunInput in = base();
  in.custom_mpi_options = "-verbose -x orte_base_help_aggregate=0";
  auto cmd = build_mpirun_command(in);
  CHECK(cmd.problems.empty());
  CHECK(cmd.argv == V{"mpirun", "--host", "algo-1:8,algo-2:8", "-np", "16", "--allow-run-as-root", "--display-map",
                      "--tag-output", "-mca", "btl_tcp_if_include", "eth0", "-mca", "oob_tcp_if_include", "eth0",
                      "-mca", "plm_rsh_no_tree_spawn", "1", "-bind-to", "none", "-map-by", "slot", "-mca", "pml", "ob1",
                      "-mca", "btl", "^openib", "-mca", "orte_abort_on_non_zero_status", "1", "-mca",
                      "btl_vader_single_copy_mechanism", "none", "-x", "NCCL_MIN_NRINGS=4", "-x",
                      "NCCL_SOCKET_IFNAME=eth0", "-x", "NCCL_DEBUG=INFO", "-x", "LD_LIBRARY_PATH", "-x", "PATH", "-x",
                      "LD_PRELOAD=/lib/gethostname.so", "-verbose", "-x", "orte_base_help_aggregate=0", "-x",
                      "SM_HOSTS", "-x", "PYTHONPATH", "python3", "-m", "mpi4py", "train.py", "--epochs", "1"});
}

TEST_CASE("one process per host lists bare host names", "[mpirun]") {
  MpirunInput in = base();
  in.processes_per_host = 1;
  in.num_processes = 3;
  auto cmd = build_mpirun_command(in);
  CHECK(cmd.argv[2] == "algo-1,algo-2");
  CHECK(cmd.argv[4] == "3");
}

TEST_CASE("NCCL_DEBUG in custom options (--NCCL_DEBUG) overrides, as argparse would", "[mpirun]") {
  for (const char* opts : {"--NCCL_DEBUG WARN", "--NCCL_DEBUG=WARN", "--NCCL WARN"}) {
    MpirunInput in = base();
    in.custom_mpi_options = opts;
    auto cmd = build_mpirun_command(in);
    CHECK(std::find(cmd.argv.begin(), cmd.argv.end(), "NCCL_DEBUG=WARN") != cmd.argv.end());
    CHECK(std::find(cmd.argv.begin(), cmd.argv.end(), "WARN") == cmd.argv.end());
  }
}

TEST_CASE("an MCA parameter the toolkit already sets fails with Open MPI's message", "[mpirun]") {
  MpirunInput in = base();
  in.custom_mpi_options = "--mca btl_vader_single_copy_mechanism none";
  auto cmd = build_mpirun_command(in);
  REQUIRE(cmd.problems.size() == 1);
  CHECK(cmd.problems[0].message ==
        "The following MCA parameter has been listed multiple times on the\ncommand line:\n\n"
        "  MCA param:   btl_vader_single_copy_mechanism\n\n"
        "MCA parameters can only be listed once on a command line to ensure there\n"
        "is no ambiguity as to its value.  Please correct the situation and\ntry again.");
  in.custom_mpi_options = "-mca btl_tcp_if_include lo --mca my_param 1";
  CHECK(build_mpirun_command(in).problems.size() == 1);
  in.custom_mpi_options = "-mca my_param 1";
  CHECK(build_mpirun_command(in).problems.empty());
}

TEST_CASE("EFA flags only when the target has EFA and this machine too", "[mpirun]") {
  MpirunInput in = base();
  in.instance_efa_nccl = in.instance_efa_rdma = true;
  auto without = build_mpirun_command(in);
  CHECK(std::find(without.argv.begin(), without.argv.end(), "FI_PROVIDER=efa") == without.argv.end());
  CHECK(without.notes.size() == 1);
  in.local_efa = true;
  auto with = build_mpirun_command(in);
  auto it = std::find(with.argv.begin(), with.argv.end(), "FI_PROVIDER=efa");
  REQUIRE(it != with.argv.end());
  CHECK(*(it + 2) == "NCCL_PROTO=simple");
  CHECK(*(it + 4) == "FI_EFA_USE_DEVICE_RDMA=1");
}

TEST_CASE("model-parallel additions and credentials", "[mpirun]") {
  MpirunInput in = base();
  in.modelparallel = true;
  in.dlc_torch_version = "2.0.1";
  in.aws_credential_names = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
  in.host_agent = "/bin/agent";
  auto cmd = build_mpirun_command(in);
  std::string joined;
  for (const auto& a : cmd.argv) joined += a + " ";
  // The rsh launcher is named, so that OMPI_MCA_plm=isolated cannot fold every host into algo-1.
  CHECK(joined.find("-mca plm rsh -mca plm_rsh_agent /bin/agent") != std::string::npos);
  CHECK(joined.find("-x AWS_ACCESS_KEY_ID -x AWS_SECRET_ACCESS_KEY -x SM_HOSTS -x PYTHONPATH -x NCCL_PROTO=simple -x NCCL_ALGO=ring python3") != std::string::npos);
  in.dlc_torch_version = "1.8.1";
  auto older = build_mpirun_command(in);
  CHECK(std::find(older.argv.begin(), older.argv.end(), "NCCL_ALGO=ring") == older.argv.end());
}

TEST_CASE("custom_mpi_options naming the launcher smp-local needs is refused with the reason",
          "[mpirun]") {
  MpirunInput in = base();
  in.host_agent = "/bin/agent";
  in.custom_mpi_options = "-mca plm isolated";
  auto cmd = build_mpirun_command(in);
  REQUIRE(cmd.problems.size() == 1);
  CHECK(cmd.problems[0].message.find("MCA param:   plm\n") != std::string::npos);
  CHECK(cmd.problems[0].fix.find("smp-local sets it to reach its emulated hosts") !=
        std::string::npos);
}
