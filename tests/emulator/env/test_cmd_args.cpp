// mapping.to_cmd_args edge cases and the entry command.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "emulator/common/process.h"
#include "emulator/env/cmd_args.h"

using namespace smplocal;
using V = std::vector<std::string>;

TEST_CASE("to_cmd_args spells values as Python's str()", "[cmd_args]") {
  Json hps = Json::parse(R"({"lr": 0.0002, "b": true, "epochs": 10, "name": "adam", "x": null,
    "layers": [1, 2], "words": ["a", "b"], "tiny": 1e-05, "cfg": {"z": 1, "a": true, "n": null, "s": "t"},
    "big": 1e16, "f": 2.0})");
  CHECK(to_cmd_args(hps) == V{"-b", "True", "--big", "1e+16", "--cfg", "a=True,n=None,s=t,z=1", "--epochs", "10",
                              "-f", "2.0", "--layers", "[1, 2]", "--lr", "0.0002", "--name", "adam", "--tiny",
                              "1e-05", "--words", "['a', 'b']", "-x", ""});
}

TEST_CASE("to_cmd_args sorts keys by code point and keeps hostile values whole", "[cmd_args]") {
  Json hps = Json::parse(R"({"Zeta": 1, "alpha": "a b", "quote": "it's \"q\"", "shell": ";$(rm -rf /)`x`", "": "e"})");
  CHECK(to_cmd_args(hps) == V{"", "e", "--Zeta", "1", "--alpha", "a b", "--quote", "it's \"q\"", "--shell",
                              ";$(rm -rf /)`x`"});
}

TEST_CASE("entry commands per entry point type", "[cmd_args]") {
  EntryCommandInput in;
  in.entry_point = "train.py";
  in.python = "/usr/bin/python3";
  in.user_args = {"--epochs", "1"};
  in.kind = entry_kind(in.entry_point, false);
  CHECK(entry_command(in) == V{"/usr/bin/python3", "train.py", "--epochs", "1"});
  in.mpi = true;
  in.mpi4py_available = true;
  CHECK(entry_command(in) == V{"/usr/bin/python3", "-m", "mpi4py", "train.py", "--epochs", "1"});
  in.mpi4py_available = false;
  CHECK(entry_command(in) == V{"/usr/bin/python3", "train.py", "--epochs", "1"});
  in.kind = entry_kind("train.py", true);
  CHECK(in.kind == EntryKind::kPythonPackage);
  in.mpi4py_available = true;
  CHECK(entry_command(in) == V{"/usr/bin/python3", "-m", "mpi4py", "-m", "train", "--epochs", "1"});
  in.entry_point = "run.sh";
  in.kind = entry_kind(in.entry_point, false);
  CHECK(entry_command(in) == V{"/bin/sh", "-c", "exec \"$0\" \"$@\"", "./run.sh", "--epochs", "1"});
  in.entry_point = "fashion_mnist";
  in.kind = entry_kind(in.entry_point, false);
  CHECK(entry_command(in) == V{"./fashion_mnist", "--epochs", "1"});
}

TEST_CASE("a shell-script entry point runs by its shebang, or by sh without one, args byte-exact", "[cmd_args]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("entry-sh-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // [[ ]] is bash only: under dash this script would fail.
  std::ofstream(dir / "bash.sh") << "#!/bin/bash\n[[ -n \"$BASH_VERSION\" ]] && printf '<%s>' \"$@\"\n";
  std::ofstream(dir / "plain.sh") << "printf '[%s]' \"$@\"\n";
  for (const char* f : {"bash.sh", "plain.sh"})
    fs::permissions(dir / f, fs::perms::owner_all, fs::perm_options::add);  // TK chmods the entry point
  const V args = {"--msg", "a b;$(rm -rf x)'\"", "--empty", ""};
  EntryCommandInput in;
  in.user_args = args;
  in.entry_point = "bash.sh";
  in.kind = entry_kind(in.entry_point, false);
  auto r = run_capture(entry_command(in), std::chrono::seconds(10), std::nullopt, dir.string());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "<--msg><a b;$(rm -rf x)'\"><--empty><>");
  in.entry_point = "plain.sh";
  r = run_capture(entry_command(in), std::chrono::seconds(10), std::nullopt, dir.string());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "[--msg][a b;$(rm -rf x)'\"][--empty][]");
  fs::remove_all(dir);
}

TEST_CASE("arguments a shell would re-split are detected", "[cmd_args]") {
  CHECK(shell_unsafe_args({"--a", "plain", "1e-05"}).empty());
  CHECK(shell_unsafe_args({"a b", "x;y", "$(z)", ""}).size() == 4);
}
