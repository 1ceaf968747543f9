// smp-local-host-agent: makes the calling process an emulated SageMaker host (algo-K) and execs
// a program there. Two callers:
//   smp-local:  smp-local-host-agent --exec <host> [--cwd DIR] -- <argv...>
//   Open MPI:   smp-local-host-agent <host> <remote command...>   (as --mca plm_rsh_agent, in
//               place of ssh; the command is shell-quoted text, split here without a shell)
// The job directory comes from SMP_LOCAL_JOB_DIR; the host's setup from hosts/<host>/agent.json.

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "emulator/agent/namespace.h"
#include "emulator/agent/words.h"
#include "emulator/common/error.h"
#include "emulator/common/fs.h"
#include "libsmp/core/json.h"

namespace {

using smplocal::Error;

int usage() {
  std::fprintf(stderr,
               "usage: smp-local-host-agent --exec <algo-K> [--cwd DIR] -- <program> [args...]\n"
               "       smp-local-host-agent <algo-K> <remote command>   (Open MPI plm_rsh_agent)\n");
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  bool exec_mode = std::strcmp(argv[1], "--exec") == 0;
  int i = exec_mode ? 2 : 1;
  std::string host = argv[i++];
  if (!std::regex_match(host, std::regex("^algo-[0-9]{1,3}$")))
    throw Error("host agent: \"" + host + "\" is not an emulated host name (algo-K)");
  const char* job_dir = getenv("SMP_LOCAL_JOB_DIR");
  if (!job_dir || !*job_dir) throw Error("host agent: SMP_LOCAL_JOB_DIR is not set (the agent is started by smp-local)");
  std::filesystem::path config_path = std::filesystem::path(job_dir) / "hosts" / host / "agent.json";
  auto config = smp::core::Json::parse(smplocal::read_file(config_path));

  std::string cwd;
  std::vector<std::string> command;
  if (exec_mode) {
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
      if (std::strcmp(argv[i], "--cwd") == 0 && i + 1 < argc) cwd = argv[++i];
      else return usage();
    }
    for (++i; i < argc; ++i) command.push_back(argv[i]);
  } else {
    std::string line;
    for (; i < argc; ++i) line += std::string(line.empty() ? "" : " ") + argv[i];
    command = smplocal::split_shell_words(line);
  }
  if (command.empty()) return usage();

  smplocal::enter_host(smplocal::host_setup_from_json(config));
  for (auto it = config.at("env").begin(); it != config.at("env").end(); ++it)
    setenv(it.key().c_str(), it.value().get<std::string>().c_str(), 1);
  // New credentials (user namespace) clear the parent-death signal; set it again so nothing of a
  // job outlives the process that started it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!cwd.empty() && chdir(cwd.c_str()) != 0)
    throw Error("host agent: cannot enter " + cwd + " on " + host + ": " + std::strerror(errno));

  std::vector<char*> args;
  for (auto& s : command) args.push_back(s.data());
  args.push_back(nullptr);
  execvp(args[0], args.data());
  throw Error("host agent: cannot run " + command[0] + " on " + host + ": " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smp-local: %s\n", e.what());
    return 127;
  }
}
