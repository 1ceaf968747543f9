#include "samples/fashion_mnist/artifacts.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "libsmp/smp.h"

namespace fashion_mnist {
namespace {

namespace fs = std::filesystem;

// Writes through a temporary name so a reader never sees half a file.
void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());  // ranks of one host may write the same file
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

}  // namespace

void save_epoch_checkpoint(const std::string& dir, int epoch, smp::DistributedModel& model,
                           smp::DistributedOptimizer& optimizer, int keep) {
  fs::create_directories(dir);
  c10::Dict<std::string, int64_t> user;
  user.insert("epoch", epoch);
  smp::save_checkpoint(dir, "epoch_" + std::to_string(epoch), /*partial=*/true, &model, &optimizer,
                       c10::IValue(user), keep);
}

int resume_if_checkpointed(const std::string& dir) {
  bool mine = fs::is_regular_file(fs::path(dir) / "newest");
  int seeing = 0;
  for (const auto& v : smp::allgather(c10::IValue(mine), smp::WORLD)) seeing += v.toBool() ? 1 : 0;
  if (seeing == 0) return 0;
  if (seeing != smp::size())
    throw std::runtime_error(
        "only " + std::to_string(seeing) + " of " + std::to_string(smp::size()) +
        " ranks see a checkpoint in " + dir +
        ". Every host needs the same checkpoint files (SageMaker syncs them "
        "from checkpoint_s3_uri); remove the stale ones or share the directory.");
  c10::IValue user = smp::resume_from_checkpoint(dir, "newest");
  if (!user.isGenericDict() || !user.toGenericDict().contains("epoch"))
    throw std::runtime_error(
        "the checkpoint in " + dir +
        " has no {\"epoch\": N} user content; it was not written by this program. "
        "Remove it or point the job's checkpoint_local_path elsewhere.");
  return static_cast<int>(user.toGenericDict().at("epoch").toInt());
}

void save_final_model(const std::string& model_dir, smp::DistributedModel& model) {
  if (smp::dp_rank() == 0) {
    smp::StateDict state = model.state_dict();  // collective over this pipeline's stages
    if (smp::rank() == 0) {
      fs::create_directories(model_dir);
      smp::save(state.to_ivalue(), (fs::path(model_dir) / "model.pt").string(), /*partial=*/false);
    }
  }
  smp::barrier();
}

void write_metrics(const std::string& output_data_dir, const nlohmann::json& metrics) {
  write_text(fs::path(output_data_dir) / "metrics.json", metrics.dump(2) + "\n");
}

void write_failure(const std::string& output_dir, const std::string& reason) {
  try {
    write_text(fs::path(output_dir) / "failure", reason + "\n");
  } catch (const std::exception&) {
    // The job fails anyway; the reason is on stderr too.
  }
}

}  // namespace fashion_mnist
