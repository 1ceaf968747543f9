#include "emulator/outputs/artifacts.h"

#include <chrono>
#include <map>

#include "emulator/archive/collect_tree.h"
#include "emulator/archive/tar_gz_writer.h"
#include "emulator/common/parallel.h"

namespace smplocal {
namespace {

namespace fs = std::filesystem;

// Later hosts replace earlier ones' files of the same name, as SDK local mode merges them;
// SageMaker itself asks hosts to avoid clashes, so they are reported.
std::vector<archive::ArchiveEntry> merged(const std::vector<fs::path>& roots, const std::string& sub,
                                          std::vector<std::string>& clashes) {
  std::map<std::string, archive::ArchiveEntry> by_name;
  for (const auto& root : roots) {
    fs::path dir = root / sub;
    if (!fs::is_directory(dir)) continue;
    for (auto& e : archive::collect_tree(dir)) {
      auto it = by_name.find(e.name);
      if (it != by_name.end() && !fs::is_directory(e.source) && !fs::is_directory(it->second.source))
        clashes.push_back(sub + "/" + e.name);
      by_name[e.name] = e;
    }
  }
  std::vector<archive::ArchiveEntry> out;
  for (auto& [name, e] : by_name) out.push_back(e);
  return out;
}

// Compression threads pay off only for real models; a few KiB are faster on one thread (no
// hand-offs between threads, which cost most on a busy machine).
archive::ArchiveStats write(const fs::path& out, const std::vector<archive::ArchiveEntry>& entries) {
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (const auto& e : entries)
    if (fs::is_regular_file(fs::symlink_status(e.source, ec))) bytes += fs::file_size(e.source, ec);
  archive::TarGzOptions options;
  if (bytes < (4u << 20)) options.threads = 1;
  return archive::write_tar_gz(out, entries, options);
}

}  // namespace

ArtifactsResult package_artifacts(const std::vector<fs::path>& roots, const fs::path& dest) {
  auto start = std::chrono::steady_clock::now();
  ArtifactsResult r;
  fs::create_directories(dest);
  r.model = dest / "model.tar.gz";
  r.output = dest / "output.tar.gz";
  const auto model = merged(roots, "model", r.clashes);
  const auto output = merged(roots, "output/data", r.clashes);
  // Side by side: for a small job both are a few file-system operations, for a large one the model
  // keeps its compression threads busy and the output is written meanwhile.
  run_parallel(2, 2, [&](size_t i) {
    if (i == 0)
      r.model_bytes = write(r.model, model).output_bytes;
    else
      r.output_bytes = write(r.output, output).output_bytes;
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace smplocal
