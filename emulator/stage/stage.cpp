#include "emulator/stage/stage.h"

#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "emulator/archive/collect_tree.h"
#include "emulator/archive/safe_extract.h"
#include "emulator/archive/tar_gz_writer.h"
#include "emulator/common/error.h"
#include "emulator/common/fs.h"
#include "emulator/common/parallel.h"
#include "emulator/env/cmd_args.h"
#include "emulator/stage/channels.h"
#include "emulator/stage/s3_stage.h"
#include "libsmp/core/pyjson.h"

namespace smplocal {

namespace fs = std::filesystem;

namespace {

// The platform writes these files; Python's json.dump default style is the closest known shape.
void write_json(const fs::path& path, const Json& value) { write_file(path, smp::core::py_dumps(value)); }

std::string etc_hosts_content(int hosts) {
  std::string original;
  try {
    original = read_file("/etc/hosts");
  } catch (const Error&) {
    original = "127.0.0.1\tlocalhost\n";
  }
  if (!original.empty() && original.back() != '\n') original += '\n';
  std::string names;
  for (int i = 1; i <= hosts; ++i) names += " algo-" + std::to_string(i);
  return original + "# smp-local: every emulated host runs on this machine\n127.0.1.1\t" + names.substr(1) + "\n";
}

}  // namespace

static bool is_tarball(const fs::path& p) {
  std::string name = p.filename().string();
  return name.size() > 7 && name.compare(name.size() - 7, 7, ".tar.gz") == 0;
}

void stage_code(const std::string& code_source, const std::string& entry_point, const fs::path& code_dir) {
  fs::create_directories(code_dir);
  fs::path src = code_source;
  if (fs::is_regular_file(src) && is_tarball(src)) {
    archive::extract_tar_gz_safely(src, code_dir);
  } else if (fs::is_directory(src)) {
    fs::copy(src, code_dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  } else if (fs::is_regular_file(src)) {
    fs::copy_file(src, code_dir / src.filename());
  } else {
    throw Error("the code location " + code_source + " is neither a directory nor a file.");
  }
  fs::path entry = code_dir / entry_point;
  const EntryKind kind = entry_kind(entry_point, false);
  if (fs::is_regular_file(entry) && (kind == EntryKind::kExecutable || kind == EntryKind::kShellScript))
    fs::permissions(entry, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);  // TK chmods non-Python entry points before running them
}

Json agent_config(const TrainingJob& job, const JobPlan& plan, const JobDir& dir, int h,
                  NamespaceMode namespaces, const std::vector<Mount>& mounts, const std::string& preload) {
  const HostPlan& host = plan.hosts[h];
  const ContainerEnv& c = plan.containers[h];
  Json env = Json::object();
  for (const auto& [k, v] : c.platform_env)
    if (!job.environment.contains(k)) env[k] = v;  // job Environment comes through the process env
  for (const auto& [k, v] : c.toolkit_env) env[k] = v;
  for (const auto& [k, v] : c.sm_env) env[k] = v;
  if (namespaces == NamespaceMode::kNone) {
    env["SMP_LOCAL_RESOURCECONFIG"] = (dir.opt_ml(host.name) / "input/config/resourceconfig.json").string();
    // Everything started on the host sees algo-K: under MPI that includes mpirun and orted, whose
    // session directories are named after the hostname and would otherwise collide (all "this
    // machine"), hanging the launch now and then.
    if (!preload.empty()) env["LD_PRELOAD"] = preload;
  }
  Json mounts_json = Json::array();
  for (const auto& m : mounts) mounts_json.push_back({{"source", m.source}, {"target", m.target}, {"readonly", m.readonly}});
  return {{"host", host.name},
          {"namespaces", namespaces == NamespaceMode::kRoot ? "root" : namespaces == NamespaceMode::kUserNs ? "userns" : "none"},
          {"opt_ml", dir.opt_ml(host.name).string()},
          {"etc_hosts", dir.etc_hosts(host.name).string()},
          {"mounts", mounts_json},
          {"env", env}};
}

fs::path host_checkpoint_dir(const TrainingJob& job, const JobDir& dir, const std::string& host) {
  return dir.opt_ml(host) / fs::path(job.checkpoint->local_path).lexically_relative("/opt/ml");
}

namespace {

// One host's tree: /opt/ml with its config files, channels and code, and the agent's file.
struct HostStaged {
  size_t mounts = 0, files_linked = 0, files_copied = 0;
  std::vector<std::string> log;
};

HostStaged stage_host(const TrainingJob& job, const JobPlan& plan, const JobDir& dir, int h,
                      NamespaceMode ns, const std::string& preload, const std::string& hosts_file,
                      const std::string& code) {
  HostStaged out;
  const int hosts = static_cast<int>(plan.hosts.size());
  const std::string& name = plan.hosts[h].name;
  const ContainerEnv& c = plan.containers[h];
  fs::path opt = dir.opt_ml(name);
  for (const char* sub : {"input/config", "input/data", "model", "output/data", "code"})
    fs::create_directories(opt / sub);
  write_json(opt / "input/config/hyperparameters.json", c.hyperparameters_file);
  write_json(opt / "input/config/resourceconfig.json", c.resource_config);
  write_json(opt / "input/config/inputdataconfig.json", c.input_data_config);
  if (c.checkpoint_config) {
    write_json(opt / "input/config/checkpointconfig.json", *c.checkpoint_config);
    fs::create_directories(host_checkpoint_dir(job, dir, name));
  }
  write_file(dir.etc_hosts(name), hosts_file);

  std::vector<Mount> mounts;
  for (const auto& ch : job.channels) {
    if (ch.is_s3()) continue;  // S3 channels are downloaded by the S3 stage
    auto r =
        stage_local_channel(ch, h, hosts, opt / "input/data" / ch.name, ns != NamespaceMode::kNone);
    mounts.insert(mounts.end(), r.mounts.begin(), r.mounts.end());
    out.files_linked += r.files_linked;
    out.files_copied += r.files_copied;
    out.log.insert(out.log.end(), r.log.begin(), r.log.end());
  }
  out.mounts = mounts.size();
  if (!code.empty()) stage_code(code, job.entry_point, opt / "code");
  write_file(dir.agent_config(name),
             agent_config(job, plan, dir, h, ns, mounts, preload).dump(1) + "\n");
  return out;
}

}  // namespace

StageReport stage_job(const TrainingJob& job, const JobPlan& plan, const JobDir& dir, NamespaceMode ns,
                      const std::string& preload, const LogFn& log, S3Session* s3) {
  auto start = std::chrono::steady_clock::now();
  StageReport report;
  if (fs::exists(dir.root / "hosts")) throw Error("job directory " + dir.root.string() + " is already staged.",
                                                  "Pick another job name, or remove the old job.");
  fs::create_directories(dir.logs());
  // S3 channels are listed (and their keys checked) before anything is written or uploaded.
  if (s3) s3->resolve_channels(job.channels);
  try {
    int hosts = static_cast<int>(plan.hosts.size());
    std::string hosts_file = etc_hosts_content(hosts);
    // The code: an S3 tarball is fetched once; local code is also uploaded where the SDK puts it.
    std::string code = job.code_source;
    if (code.rfind("s3://", 0) == 0) {
      fs::path tarball = dir.root / "code" / "sourcedir.tar.gz";
      s3->fetch(code, tarball);
      code = tarball.string();
    } else if (!job.code_upload_uri.empty()) {
      fs::path tarball = dir.root / "code" / "sourcedir.tar.gz";
      fs::create_directories(tarball.parent_path());
      fs::path src = code;
      archive::write_tar_gz(tarball, fs::is_directory(src) ? archive::collect_tree(src)
                                                            : std::vector<archive::ArchiveEntry>{{src, src.filename().string()}});
      s3->upload(tarball, job.code_upload_uri);
    }
    // Hosts are independent, so their trees are built side by side: with many hosts, sharded
    // channels (a link per file) or a tarball to extract per host, and cores to spare, that
    // shortens staging (on 2 cores a 2-host job stages no faster). Log lines keep host order.
    fs::create_directories(dir.root / "hosts");
    std::vector<HostStaged> staged(static_cast<size_t>(hosts));
    run_parallel(
        staged.size(), static_cast<int>(std::thread::hardware_concurrency()), [&](size_t h) {
          staged[h] =
              stage_host(job, plan, dir, static_cast<int>(h), ns, preload, hosts_file, code);
        });
    for (const auto& s : staged) {
      for (const auto& line : s.log) log(line);
      report.mounts += s.mounts;
      report.files_linked += s.files_linked;
      report.files_copied += s.files_copied;
    }
    std::vector<std::string> host_names;
    for (const auto& h : plan.hosts) host_names.push_back(h.name);
    for (const auto& ch : job.channels)
      if (ch.is_s3()) s3->stage_channel(ch, host_names, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir.root / "hosts", ec);
    fs::remove_all(dir.data_cache(), ec);
    fs::remove_all(dir.root / "code", ec);
    throw;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace smplocal
