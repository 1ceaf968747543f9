// mapping.to_cmd_args edge cases and the entry command.
#include <catch2/catch_test_macros.hpp>

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
  CHECK(entry_command(in) == V{"/bin/sh", "./run.sh", "--epochs", "1"});
  in.entry_point = "fashion_mnist";
  in.kind = entry_kind(in.entry_point, false);
  CHECK(entry_command(in) == V{"./fashion_mnist", "--epochs", "1"});
}

TEST_CASE("arguments a shell would re-split are detected", "[cmd_args]") {
  CHECK(shell_unsafe_args({"--a", "plain", "1e-05"}).empty());
  CHECK(shell_unsafe_args({"a b", "x;y", "$(z)", ""}).size() == 4);
}
