#pragma once
// Artifacts: model.tar.gz (every host's /opt/ml/model merged) and output.tar.gz (every host's
// /opt/ml/output/data), written with the parallel tar.gz writer.

#include <filesystem>
#include <string>
#include <vector>

namespace smplocal {

struct ArtifactsResult {
  std::filesystem::path model;        // written files
  std::filesystem::path output;
  std::vector<std::string> clashes;   // names several hosts wrote (the highest-numbered host wins)
  unsigned long long model_bytes = 0, output_bytes = 0;
  double seconds = 0;
};

// `host_roots`: each host's opt/ml tree, algo-1 first. Writes into `dest_dir` (created).
ArtifactsResult package_artifacts(const std::vector<std::filesystem::path>& host_roots,
                                  const std::filesystem::path& dest_dir);

}  // namespace smplocal
