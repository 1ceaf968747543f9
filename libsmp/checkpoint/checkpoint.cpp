#include "libsmp/checkpoint/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "libsmp/comm/objects.h"
#include "libsmp/model/distributed_model.h"
#include "libsmp/optim/distributed_optimizer.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/queries.h"
#include "libsmp/runtime/runtime.h"

namespace fs = std::filesystem;

namespace smp {
namespace {

// Atomic: a reader never sees half a file (temp name in the same directory, then rename).
void write_file(const std::string& path, const std::string& bytes) {
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  std::string tmp = path + ".tmp" + std::to_string(detail::runtime().rank);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("smp: cannot write " + tmp + " (check that the directory is writable).");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error("smp: writing " + tmp + " failed (disk full?).");
  }
  fs::rename(tmp, path, ec);
  if (ec) throw Error("smp: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(std::string("smp: ") + what + " " + path + " does not exist or cannot be read.");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string partial_path(const std::string& path) {
  return path + "_" + std::to_string(mp_rank());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void prune_partials(const std::string& path, const std::string& keep_tag, int keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.size() > 8 && name.ends_with("_partial"))
      dirs.emplace_back(entry.last_write_time(), entry.path());
  }
  std::sort(dirs.begin(), dirs.end());  // oldest first
  int excess = static_cast<int>(dirs.size()) - keep;
  for (int i = 0; i < excess; ++i)
    if (dirs[i].second.filename() != keep_tag + "_partial") fs::remove_all(dirs[i].second, ec);
}

}  // namespace

std::string partial_checkpoint_dir(const std::string& path, const std::string& tag) {
  return (fs::path(path) / (tag + "_partial")).string();
}
std::string partial_model_file(int pp, int tp) {
  return "model_pp" + std::to_string(pp) + "_tp" + std::to_string(tp) + ".pt";
}
std::string partial_optimizer_file(int pp, int tp) {
  return "optimizer_pp" + std::to_string(pp) + "_tp" + std::to_string(tp) + ".pt";
}

void save(const c10::IValue& obj, const std::string& path, bool partial) {
  detail::runtime();
  write_file(partial ? partial_path(path) : path, pickle(obj));
}

c10::IValue load(const std::string& path, bool partial) {
  detail::runtime();
  std::string file = partial ? partial_path(path) : path;
  return unpickle(read_file(file, partial ? "the partial file (<path>_<mp_rank>)" : "the file"));
}

void save_checkpoint(const std::string& path, const std::string& tag, bool partial,
                     DistributedModel* model, DistributedOptimizer* optimizer,
                     const c10::IValue& user_content, int num_kept_partial_checkpoints) {
  auto& rt = detail::runtime();
  if (tag.empty() || tag.find('/') != std::string::npos || tag == "newest")
    throw Error("smp::save_checkpoint: tag \"" + tag + "\" is not usable as a file name; use e.g. "
                "\"step_100\".");
  if (!model) model = detail::current_model();
  if (!optimizer) optimizer = detail::current_optimizer();
  const bool writer = rt.coords.rdp_rank == 0;  // one replica of every stage writes
  if (partial) {
    std::string dir = partial_checkpoint_dir(path, tag);
    // State dicts first (the optimizer's may communicate), files after.
    std::string model_bytes, optim_bytes;
    if (model) model_bytes = pickle(model->local_state_dict().to_ivalue());
    if (optimizer) optim_bytes = pickle(optimizer->local_state_dict());
    if (writer) {
      if (model) write_file((fs::path(dir) / partial_model_file(pp_rank(), tp_rank())).string(), model_bytes);
      if (optimizer)
        write_file((fs::path(dir) / partial_optimizer_file(pp_rank(), tp_rank())).string(), optim_bytes);
    }
    if (rt.rank == 0) write_file((fs::path(dir) / "user_content.pt").string(), pickle(user_content));
  } else {
    StateDict full;
    if (model) full = model->state_dict();  // collective over the pipeline group
    if (rt.rank == 0) {
      if (model) write_file((fs::path(path) / tag).string(), pickle(full.to_ivalue()));
      write_file((fs::path(path) / ("user_content_" + tag)).string(), pickle(user_content));
    }
  }
  barrier(CommGroup::WORLD);  // every file is complete before `newest` names the tag
  if (rt.rank == 0) {
    write_file((fs::path(path) / "newest").string(), tag + "\n");
    if (partial && num_kept_partial_checkpoints > 0)
      prune_partials(path, tag, num_kept_partial_checkpoints);
  }
  barrier(CommGroup::WORLD);
}

c10::IValue resume_from_checkpoint(const std::string& path, const std::string& tag_in,
                                   bool partial, bool strict, bool load_optimizer) {
  detail::runtime();
  std::string tag = tag_in;
  if (tag.empty() || tag == "newest")
    tag = trim(read_file((fs::path(path) / "newest").string(),
                         "smp::resume_from_checkpoint: the newest-checkpoint pointer"));
  DistributedModel* model = detail::current_model();
  DistributedOptimizer* optimizer = detail::current_optimizer();
  if (partial) {
    std::string dir = partial_checkpoint_dir(path, tag);
    if (model) {
      std::string f = (fs::path(dir) / partial_model_file(pp_rank(), tp_rank())).string();
      model->load_state_dict(StateDict::from_ivalue(unpickle(read_file(f, "the model checkpoint"))),
                             strict);
    }
    if (optimizer && load_optimizer) {
      std::string f = (fs::path(dir) / partial_optimizer_file(pp_rank(), tp_rank())).string();
      optimizer->load_state_dict(unpickle(read_file(f, "the optimizer checkpoint")));
    }
    return unpickle(read_file((fs::path(dir) / "user_content.pt").string(), "the user content"));
  }
  if (model) {
    std::string f = (fs::path(path) / tag).string();
    model->load_state_dict(StateDict::from_ivalue(unpickle(read_file(f, "the full model checkpoint"))),
                           strict);
  }
  return unpickle(read_file((fs::path(path) / ("user_content_" + tag)).string(), "the user content"));
}

}  // namespace smp
