// bench_s3: throughput of smp-local's S3 transfers against `aws s3 cp` (Debian awscli v2), both
// measured in the same run against the same local server, with the server's own CPU time so a
// server-bound result is visible as such.
//   bench_s3 [--server v3|v4] [--runs N] [--concurrency N] [--part-mib N] [--workdir DIR]
// Needs SMP_TEST_S3_ENDPOINT etc. (scripts/s3/start-servers.sh writes them to
// build/test-services.env). Data: 1 GiB to download (one 512 MiB object + 512 x 1 MiB) and a
// 512 MiB upload. Each run alternates who goes first; the best run of each is reported.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "emulator/s3/channel.h"
#include "emulator/s3/error.h"
#include "emulator/s3/transfer.h"
#include "tests/emulator/s3/support/s3_test_env.h"

using namespace smp::s3;
using namespace smp::s3::testing;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct Args {
  bool v4 = false;
  int runs = 2;
  TransferOptions transfer;
  fs::path workdir = fs::temp_directory_path();
  bool awscli = true;
  bool download = true, upload = true;
};

// CPU seconds (user+system) of a process from /proc, or -1 when unknown.
double process_cpu(long pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields;
  std::string field;
  for (size_t i = close + 2; i <= stat.size(); ++i) {
    if (i == stat.size() || stat[i] == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += stat[i];
    }
  }
  if (fields.size() < 13) return -1;
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu(int who) {
  rusage u{};
  getrusage(who, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Measure {
  double seconds = 0, client_cpu = 0, server_cpu = -1;
};

Measure timed(long server_pid, bool child, const std::function<void()>& work) {
  const double s0 = process_cpu(server_pid), c0 = self_cpu(child ? RUSAGE_CHILDREN : RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  work();
  Measure m;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.client_cpu = self_cpu(child ? RUSAGE_CHILDREN : RUSAGE_SELF) - c0;
  if (s0 >= 0) m.server_cpu = process_cpu(server_pid) - s0;
  return m;
}

void write_pattern(const fs::path& path, uint64_t size, unsigned seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  const std::string block = pattern_bytes(static_cast<size_t>(std::min<uint64_t>(size, 8 * kMiB)), seed);
  for (uint64_t done = 0; done < size; done += block.size())
    out.write(block.data(), static_cast<std::streamsize>(std::min<uint64_t>(block.size(), size - done)));
}

uint64_t tree_bytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::vector<char> ba(4 * kMiB), bb(4 * kMiB);
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount() || std::memcmp(ba.data(), bb.data(), static_cast<size_t>(fa.gcount())) != 0)
      return false;
  }
  return fa.eof() && fb.eof();
}

void awscli(const TestServer& server, const std::vector<std::string>& args) {
  const auto r = run_awscli(server, args);
  if (r.exit_code != 0) throw std::runtime_error("awscli failed: " + r.output);
}

std::string rate(uint64_t bytes, double seconds) { return format_rate(static_cast<double>(bytes) / seconds); }

void report(const char* what, uint64_t bytes, const Measure& ours, const Measure& aws, bool have_aws) {
  std::printf("%s\n", what);
  auto line = [&](const char* who, const Measure& m) {
    std::printf("  %-10s %7.2f s  %12s   client CPU %5.1f s", who, m.seconds, rate(bytes, m.seconds).c_str(),
                m.client_cpu);
    if (m.server_cpu >= 0)
      std::printf("   server CPU %5.1f s (%3.0f%% of one core)", m.server_cpu, 100 * m.server_cpu / m.seconds);
    std::printf("\n");
  };
  line("smp-local", ours);
  if (have_aws) {
    line("awscli", aws);
    std::printf("  ratio smp-local/awscli: %.2fx\n", aws.seconds / ours.seconds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--server") args.v4 = next() == "v4";
    else if (a == "--runs") args.runs = std::max(1, std::stoi(next()));
    else if (a == "--concurrency") args.transfer.concurrency = std::stoi(next());
    else if (a == "--part-mib") args.transfer.part_size = std::stoull(next()) * kMiB;
    else if (a == "--threshold-mib") args.transfer.multipart_threshold = std::stoull(next()) * kMiB;
    else if (a == "--workdir") args.workdir = next();
    else if (a == "--no-awscli") args.awscli = false;
    else if (a == "--no-md5") args.transfer.verify_md5 = false;
    else if (a == "--only") {
      const std::string what = next();
      args.download = what == "download";
      args.upload = what == "upload";
    }
    else {
      std::fprintf(stderr, "usage: bench_s3 [--server v3|v4] [--runs N] [--concurrency N] [--part-mib N] "
                           "[--threshold-mib N] [--workdir DIR] [--no-awscli] [--no-md5] "
                           "[--only download|upload]\n");
      return 2;
    }
  }
  std::string why;
  const auto server = test_server(args.v4, &why);
  if (!server) {
    std::fprintf(stderr, "bench_s3: %s\n", why.c_str());
    return 2;
  }
  const char* pid_env = std::getenv(args.v4 ? "SMP_TEST_S3V4_PID" : "SMP_TEST_S3_PID");
  const long server_pid = pid_env ? std::atol(pid_env) : -1;

  Client client(client_config(*server));
  const std::string bucket = fresh_bucket(client, "bench");
  std::string tmpl = (args.workdir / "smp-bench-s3-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path work = tmpl;
  int status = 0;
  try {
    std::printf("bench_s3: server %s (%s), concurrency %d, part %llu MiB, threshold %llu MiB, %d runs\n",
                args.v4 ? "@20minutes/s3rver 5 (SigV4-verifying)" : "s3rver 3", server->endpoint.c_str(),
                args.transfer.concurrency, static_cast<unsigned long long>(args.transfer.part_size / kMiB),
                static_cast<unsigned long long>(args.transfer.multipart_threshold / kMiB), args.runs);
    // Data set: one 512 MiB object and 512 objects of 1 MiB (1 GiB), uploaded by us.
    write_pattern(work / "src/dl/big.bin", 512 * kMiB, 1);
    for (int i = 0; i < 512; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "src/dl/small/f%04d.bin", i);
      write_pattern(work / name, kMiB, 100 + static_cast<unsigned>(i));
    }
    std::vector<UploadItem> seed;
    for (const auto& e : fs::recursive_directory_iterator(work / "src/dl"))
      if (e.is_regular_file())
        seed.push_back({e.path(), bucket, "dl/" + e.path().lexically_relative(work / "src/dl").generic_string()});
    TransferManager manager(client, args.transfer);
    const auto seeded = manager.upload(seed);
    std::printf("seeded: %s\n", seeded.text().c_str());
    const uint64_t dl_bytes = seeded.bytes;

    Measure best_ours_dl, best_aws_dl, best_ours_up, best_aws_up;
    std::vector<double> dl_ratios, up_ratios;  // per run: robust to the load of a shared machine
    best_ours_dl.seconds = best_aws_dl.seconds = best_ours_up.seconds = best_aws_up.seconds = 1e18;
    for (int run = 0; run < args.runs; ++run) {
      const fs::path ours_dir = work / "out-ours", aws_dir = work / "out-aws";
      auto ours_dl = [&] {
        return timed(server_pid, false, [&] {
          const auto objects = resolve_channel(client, S3Uri{bucket, "dl/"}, S3DataType::kS3Prefix);
          manager.download(channel_downloads(objects, ours_dir));
        });
      };
      auto aws_dl = [&] {
        return timed(server_pid, true, [&] {
          awscli(*server, {"s3", "cp", "--recursive", "--only-show-errors", "s3://" + bucket + "/dl/",
                           aws_dir.string()});
        });
      };
      Measure o, a;
      if (!args.download) {
      } else if (run % 2 == 0 || !args.awscli) {
        o = ours_dl();
        if (args.awscli) a = aws_dl();
      } else {
        a = aws_dl();
        o = ours_dl();
      }
      if (args.download) {
      if (tree_bytes(ours_dir) != dl_bytes || !same_file(ours_dir / "big.bin", work / "src/dl/big.bin") ||
          !same_file(ours_dir / "small/f0511.bin", work / "src/dl/small/f0511.bin"))
        throw std::runtime_error("smp-local's download differs from the source");
      if (args.awscli && tree_bytes(aws_dir) != dl_bytes) throw std::runtime_error("awscli's download is incomplete");
      std::printf("run %d download: smp-local %.2f s (%s), awscli %.2f s (%s)\n", run + 1, o.seconds,
                  rate(dl_bytes, o.seconds).c_str(), a.seconds, args.awscli ? rate(dl_bytes, a.seconds).c_str() : "-");
      if (args.awscli) dl_ratios.push_back(a.seconds / o.seconds);
      if (o.seconds < best_ours_dl.seconds) best_ours_dl = o;
      if (args.awscli && a.seconds < best_aws_dl.seconds) best_aws_dl = a;
      fs::remove_all(ours_dir);
      fs::remove_all(aws_dir);
      }
      if (!args.upload) continue;

      const fs::path big = work / "src/dl/big.bin";
      auto ours_up = [&] {
        return timed(server_pid, false, [&] { client.put_file(bucket, "up/ours.bin", big, args.transfer); });
      };
      auto aws_up = [&] {
        return timed(server_pid, true, [&] {
          awscli(*server, {"s3", "cp", "--only-show-errors", big.string(), "s3://" + bucket + "/up/aws.bin"});
        });
      };
      if (run % 2 == 0 || !args.awscli) {
        o = ours_up();
        if (args.awscli) a = aws_up();
      } else {
        a = aws_up();
        o = ours_up();
      }
      const auto head = client.head_object(bucket, "up/ours.bin");
      if (!head || head->size != 512 * kMiB) throw std::runtime_error("smp-local's upload is incomplete");
      std::printf("run %d upload:   smp-local %.2f s (%s), awscli %.2f s (%s)\n", run + 1, o.seconds,
                  rate(512 * kMiB, o.seconds).c_str(), a.seconds, args.awscli ? rate(512 * kMiB, a.seconds).c_str() : "-");
      if (args.awscli) up_ratios.push_back(a.seconds / o.seconds);
      if (o.seconds < best_ours_up.seconds) best_ours_up = o;
      if (args.awscli && a.seconds < best_aws_up.seconds) best_aws_up = a;
      client.delete_objects(bucket, {"up/ours.bin", "up/aws.bin"});
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    };
    if (!dl_ratios.empty()) std::printf("\nmedian of the per-run ratios smp-local/awscli: download %.2fx", median(dl_ratios));
    if (!up_ratios.empty()) std::printf(", upload %.2fx\n", median(up_ratios));
    else if (!dl_ratios.empty()) std::printf("\n");
    std::printf("\nbest of %d runs:\n", args.runs);
    if (args.download)
      report("download 1 GiB (1 x 512 MiB + 512 x 1 MiB), aws s3 cp --recursive vs list + transfer manager:",
           dl_bytes, best_ours_dl, best_aws_dl, args.awscli);
    if (args.upload)
      report("upload 512 MiB file, aws s3 cp vs put_file (multipart):", 512 * kMiB, best_ours_up, best_aws_up,
           args.awscli);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_s3: %s\n", e.what());
    status = 1;
  }
  // Leave neither the 1.5 GiB of server data nor the local copies behind.
  try {
    std::vector<std::string> keys;
    for (const auto& o : client.list_objects(bucket, "")) keys.push_back(o.key);
    client.delete_objects(bucket, keys);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_s3: cleanup of s3://%s failed: %s\n", bucket.c_str(), e.what());
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  return status;
}
