// bench_archive: smp-local's model.tar.gz writer against `tar czf` on a model directory
// (issue 2: >= 1.6x faster on 2 cores, readable by GNU tar). Prints times and ratios measured in
// one run, alternating the order of the tools, best of N each.
//
// The data: a model directory of --size-mib MiB (default 512) shaped like a checkpoint of a
// transformer trained in bf16 mixed precision and saved as float32:
//   - weight shards (pytorch_model-0000K-of-0000N.bin, ~98 % of the bytes): float32 values drawn
//     from seeded normals with a per-layer standard deviation (0.02 / sqrt(1 + layer / 8)), in
//     tensors of 1..8 MiB; 1 tensor in 20 is a LayerNorm gain (1 + N(0, 0.05)) and 1 in 20 a bias
//     (N(0, 0.01)). Every value is rounded to bf16 precision (7 mantissa bits), so the two low
//     bytes of each float are zero: the low-entropy mantissas of weights trained in bf16.
//   - text (vocab.json, merges.txt, training_log.jsonl, config.json, README.md, ~2 %):
//     seeded pseudo-words and JSON lines.
// gzip -6 keeps about 45 % of it (0.448 at 512 MiB; printed below). Same seed, same bytes.
// Such data is slow to deflate (~6 MiB/s per core for gzip -6: many short matches), which makes
// the benchmark long: ~8 min for 512 MiB x 3 runs. Each run line shows the cores a 2-thread spin
// could get just before it; on a shared machine only runs with ~2 cores measure the writer.
//
// Usage: bench_archive [--size-mib N] [--runs N] [--threads N] [--cores N] [--dir PATH] [--keep]
//                      [--with-pigz]
//   --with-pigz adds `tar cf - | pigz -p THREADS -6` as a third, reference tool.
//   --cores N pins this process and the tools it spawns to N cores (for "2 cores" on a bigger
//   machine); --threads is write_tar_gz's thread count (default 2).

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "emulator/archive/tar_gz_writer.h"
#include "tests/emulator/archive/test_support.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace smplocal::archive;
namespace t = smplocal::archive::testing;

namespace {

// splitmix64: a fast seeded generator; the data only needs to be reproducible and realistic.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
};

// Rounds to bf16 precision (round to nearest even) and keeps the float32 container.
float to_bf16_precision(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &b, 4);
  return x;
}

void write_weights(const fs::path& p, std::size_t bytes, Rng& rng, int& layer) {
  std::ofstream f(p, std::ios::binary);
  std::vector<float> tensor;
  while (bytes >= 4) {
    std::size_t n = std::min<std::size_t>(bytes / 4, (1 + rng.next() % 8) * (1 << 18));
    const int kind = static_cast<int>(rng.next() % 20);  // 0: LayerNorm gain, 1: bias, else matrix
    const double mean = kind == 0 ? 1.0 : 0.0;
    const double sd = kind == 0 ? 0.05 : kind == 1 ? 0.01 : 0.02 / std::sqrt(1.0 + layer / 8.0);
    tensor.resize(n);
    for (std::size_t i = 0; i < n; i += 2) {  // Box-Muller: two normals per pair of uniforms
      double r = std::sqrt(-2.0 * std::log(rng.uniform())), a = 2 * M_PI * rng.uniform();
      tensor[i] = to_bf16_precision(static_cast<float>(mean + sd * r * std::cos(a)));
      if (i + 1 < n) tensor[i + 1] = to_bf16_precision(static_cast<float>(mean + sd * r * std::sin(a)));
    }
    f.write(reinterpret_cast<const char*>(tensor.data()), static_cast<std::streamsize>(n * 4));
    bytes -= n * 4;
    if (kind > 1) ++layer;
  }
  if (bytes > 0) f.write("\0\0\0", static_cast<std::streamsize>(bytes));
}

std::string word(Rng& rng) {
  static const char* syl[] = {"an", "ber", "ch", "de", "el", "fo", "ga", "in", "ka", "lo", "ma",
                              "ne", "or", "pe", "qu", "ra", "st", "th", "un", "ve", "wo", "xi"};
  std::string w;
  // Zipf-like: short, frequent words dominate, as in a tokenizer vocabulary.
  int n = 1 + static_cast<int>(-std::log(rng.uniform()) * 1.5);
  for (int i = 0; i < n; ++i) w += syl[rng.next() % 22];
  return w;
}

void write_text_files(const fs::path& dir, std::size_t bytes, Rng& rng) {
  std::string vocab = "{", merges = "#version: 0.2\n", log;
  for (int id = 0; vocab.size() < bytes * 4 / 10; ++id) {
    vocab += (id ? ", \"" : "\"") + word(rng) + "\": " + std::to_string(id);
  }
  vocab += "}\n";
  while (merges.size() < bytes * 2 / 10) merges += word(rng) + " " + word(rng) + "\n";
  for (int step = 0; log.size() + vocab.size() + merges.size() < bytes - 4096; ++step) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "{\"step\": %d, \"loss\": %.6f, \"lr\": %.3e, \"grad_norm\": %.4f}\n", step,
                  2.5 * std::exp(-step / 4000.0) + 0.3 * rng.uniform(), 3e-4 * (1 - step / 1e6),
                  0.5 + rng.uniform());
    log += line;
  }
  t::write_file(dir / "vocab.json", vocab);
  t::write_file(dir / "merges.txt", merges);
  t::write_file(dir / "training_log.jsonl", log);
  t::write_file(dir / "config.json",
                "{\"architectures\": [\"GPT2LMHeadModel\"], \"n_layer\": 24, \"n_head\": 16,\n"
                " \"n_embd\": 1024, \"vocab_size\": 50257, \"torch_dtype\": \"float32\"}\n");
  t::write_file(dir / "README.md", "# model\nTrained with smdistributed.modelparallel (bf16).\n");
}

std::uint64_t make_model_dir(const fs::path& dir, std::uint64_t total) {
  fs::create_directories(dir / "code");
  Rng rng{42};
  const std::uint64_t text = total / 50;
  write_text_files(dir, text, rng);
  std::uint64_t used = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) used += e.file_size();
  }
  const int shards = 4;
  int layer = 0;
  for (int k = 1; k <= shards; ++k) {
    std::uint64_t left = total - used;
    std::uint64_t size = k == shards ? left : (total - text) / shards;
    char name[64];
    std::snprintf(name, sizeof name, "pytorch_model-%05d-of-%05d.bin", k, shards);
    write_weights(dir / name, size, rng, layer);
    used += size;
  }
  return used;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Spawns argv with stdin/stdout redirected to the given fds (-1 = inherit); returns the pid.
pid_t spawn(const std::vector<std::string>& argv, int in_fd, int out_fd,
            const std::vector<int>& close_fds) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_fd >= 0) posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  for (int fd : close_fds) posix_spawn_file_actions_addclose(&fa, fd);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

bool wait_ok(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// `tar cf - -C model . | pigz -p N -6 > out`, spawned as two processes joined by a pipe.
bool tar_pipe_pigz(const fs::path& model, const fs::path& out, unsigned threads) {
  int p[2];
  if (::pipe(p) != 0) return false;
  int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t tar = spawn({"tar", "cf", "-", "-C", model.string(), "."}, -1, p[1], {p[0]});
  pid_t pigz = spawn({"pigz", "-p", std::to_string(threads), "-6"}, p[0], out_fd, {p[1]});
  ::close(p[0]);
  ::close(p[1]);
  ::close(out_fd);
  bool ok = tar > 0 && pigz > 0;
  if (tar > 0) ok = wait_ok(tar) && ok;
  if (pigz > 0) ok = wait_ok(pigz) && ok;
  return ok;
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

unsigned cores_available() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set)) : 0;
}

void pin_to_cores(unsigned n) {
  cpu_set_t have, want;
  sched_getaffinity(0, sizeof have, &have);
  CPU_ZERO(&want);
  for (int c = 0, taken = 0; c < CPU_SETSIZE && taken < static_cast<int>(n); ++c) {
    if (CPU_ISSET(c, &have)) {
      CPU_SET(c, &want);
      ++taken;
    }
  }
  sched_setaffinity(0, sizeof want, &want);  // children spawned later inherit it
}

// CPU seconds (user + system) used so far by this process and by its reaped children: tar
// reaps gzip, so the children's total covers the whole `tar czf` pipeline.
double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    struct rusage ru;
    getrusage(who, &ru);
    total += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
             ru.ru_stime.tv_usec / 1e6;
  }
  return total;
}

// How many cores a process with `threads` busy threads gets right now: spins them for `seconds`
// and divides CPU time by wall time. On a shared machine (Linux autogroup scheduling gives each
// session an equal share) this shows whether a run could have used 2 cores at all.
double obtainable_cores(unsigned threads, double seconds) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  const double wall = now();
  struct rusage before;
  getrusage(RUSAGE_SELF, &before);
  for (unsigned i = 0; i < threads; ++i) {
    spinners.emplace_back([&stop] {
      volatile std::uint64_t x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : spinners) t.join();
  struct rusage after;
  getrusage(RUSAGE_SELF, &after);
  auto secs = [](const struct rusage& r) {
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec +
           r.ru_stime.tv_usec / 1e6;
  };
  return (secs(after) - secs(before)) / (now() - wall);
}

struct Tool {
  std::string label;
  std::function<bool(const fs::path&)> run;  // writes the archive at the given path
  std::vector<double> times;                 // wall seconds per run
  std::vector<double> cpu;                   // CPU seconds per run
  std::uint64_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t size_mib = 512;
  int runs = 3;
  unsigned threads = 2, cores = 0;
  fs::path base;
  bool keep = false, with_pigz = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--size-mib") size_mib = std::stoull(value());
    else if (a == "--runs") runs = std::stoi(value());
    else if (a == "--threads") threads = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--cores") cores = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--dir") base = value();
    else if (a == "--keep") keep = true;
    else if (a == "--with-pigz") with_pigz = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_archive [--size-mib N] [--runs N] [--threads N] [--cores N] "
                   "[--dir PATH] [--keep] [--with-pigz]\n");
      return 2;
    }
  }
  if (keep && base.empty()) {
    std::fprintf(stderr, "--keep needs --dir PATH (the default directory is temporary)\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up in logs as they happen
  if (cores > 0) pin_to_cores(cores);
  t::TempDir temp;
  const fs::path work = base.empty() ? temp.path() : base;
  const fs::path model = work / "model";
  std::printf("bench_archive: %llu MiB model directory in %s; %u cores available; load %s\n",
              static_cast<unsigned long long>(size_mib), work.c_str(), cores_available(),
              loadavg().c_str());
  double t0 = now();
  const std::uint64_t input = make_model_dir(model, size_mib << 20);
  std::printf("  generated %.1f MiB (bf16-precision float32 weight shards + text) in %.1f s\n",
              input / 1048576.0, now() - t0);
  // Warm the page cache for both tools alike: generation left it warm, one read makes sure.
  for (const auto& e : fs::recursive_directory_iterator(model)) {
    if (e.is_regular_file()) (void)t::read_file(e.path()).size();
  }

  std::vector<Tool> tools;
  tools.push_back({"tar czf (GNU tar + gzip -6)", [&](const fs::path& out) {
                     return t::run({"tar", "czf", out.string(), "-C", model.string(), "."})
                                .status == 0;
                   }, {}, {}, 0});
  tools.push_back({"write_tar_gz threads=" + std::to_string(threads), [&](const fs::path& out) {
                     TarGzOptions o;
                     o.threads = threads;
                     write_tar_gz(out, collect_tree(model), o);
                     return true;
                   }, {}, {}, 0});
  if (with_pigz) tools.push_back({"tar cf - | pigz -p " + std::to_string(threads) + " -6 (reference)",
                   [&](const fs::path& out) { return tar_pipe_pigz(model, out, threads); }, {}, {}, 0});

  for (int r = 0; r < runs; ++r) {
    std::vector<std::size_t> order(tools.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    if (r % 2 == 1) std::reverse(order.begin(), order.end());  // alternate who goes first
    for (std::size_t k : order) {
      const fs::path out = work / ("out" + std::to_string(k) + ".tar.gz");
      fs::remove(out);
      const double spin = obtainable_cores(2, 1.0);
      double start = now(), cpu_start = cpu_seconds();
      if (!tools[k].run(out)) {
        std::fprintf(stderr, "%s failed\n", tools[k].label.c_str());
        return 1;
      }
      tools[k].times.push_back(now() - start);
      tools[k].cpu.push_back(cpu_seconds() - cpu_start);
      tools[k].bytes = fs::file_size(out);
      std::printf("  run %d  %-34s %7.2f s wall %7.2f s CPU  %.2f cores busy  (2-thread spin just "
                  "before: %.2f cores; load %s)\n",
                  r + 1, tools[k].label.c_str(), tools[k].times.back(), tools[k].cpu.back(),
                  tools[k].cpu.back() / tools[k].times.back(), spin, loadavg().c_str());
      std::fflush(stdout);
    }
  }

  // Our archive must be what GNU tar would have listed and gzip must accept it.
  const fs::path ours = work / "out1.tar.gz";
  t::RunResult gz = t::run({"gzip", "-t", ours.string()});
  t::RunResult list = t::run({"tar", "-tzf", ours.string()});
  const std::size_t members = std::count(list.output.begin(), list.output.end(), '\n');
  const std::size_t expected = collect_tree(model).size();
  const bool valid = gz.status == 0 && list.status == 0 && members == expected;
  std::printf("  verify: gzip -t %s, tar -tzf lists %zu of %zu members\n",
              gz.status == 0 ? "ok" : "FAILED", members, expected);

  auto best = [](const Tool& t) { return *std::min_element(t.times.begin(), t.times.end()); };
  auto best_cpu = [](const Tool& t) { return *std::min_element(t.cpu.begin(), t.cpu.end()); };
  std::printf("results (best of %d, load now %s):\n", runs, loadavg().c_str());
  for (const Tool& tool : tools) {
    std::printf("  %-40s %7.2f s wall  %6.1f MiB/s  %7.2f s CPU  gzip ratio %.3f\n",
                tool.label.c_str(), best(tool), input / 1048576.0 / best(tool), best_cpu(tool),
                static_cast<double>(tool.bytes) / input);
  }
  const double ratio = best(tools[0]) / best(tools[1]);
  std::printf("ratio tar czf / write_tar_gz: %.2fx wall (target >= 1.6x on 2 cores)\n", ratio);
  // Under contention (other processes busy on the same cores) the wall ratio only shows the CPU
  // share we got; the CPU cost says what the parallel writer costs in work.
  std::printf("CPU cost write_tar_gz / tar czf: %.2fx\n", best_cpu(tools[1]) / best_cpu(tools[0]));
  if (with_pigz) {
    std::printf("ratio pigz / write_tar_gz:    %.2fx\n", best(tools[2]) / best(tools[1]));
  }
  if (keep) {
    std::printf("kept %s\n", work.c_str());
  } else if (!base.empty()) {
    fs::remove_all(model);
    for (std::size_t k = 0; k < tools.size(); ++k) {
      fs::remove(work / ("out" + std::to_string(k) + ".tar.gz"));
    }
  }
  return valid ? 0 : 1;
}
