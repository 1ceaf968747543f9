#pragma once
// Checkpoints: SMP's save/load of objects and its checkpoint directory layout.
//
// smp::save(obj, path, partial) / smp::load(path, partial): one object per file, written with
// torch::pickle_save (what torch.load reads). partial=true: every mp_rank uses its own file,
// "<path>_<mp_rank>" (SMP's checkpoint.pt_{mprank}); partial=false: "<path>" itself.
//
// save_checkpoint(path, tag, ...) — called on every rank with the same tag — writes
//   partial=true:  <path>/<tag>_partial/model_pp<P>_tp<T>.pt       this stage's model state
//                  <path>/<tag>_partial/optimizer_pp<P>_tp<T>.pt   this stage's optimizer state
//                  <path>/<tag>_partial/user_content.pt            the user's object
//   partial=false: <path>/<tag>                                    the full model state dict
//                  <path>/user_content_<tag>                       the user's object
//   and <path>/newest, whose text is the tag. Files of a stage are written by its dp_rank 0
//   replica; shared files by rank 0. num_kept_partial_checkpoints > 0 deletes the oldest
//   <tag>_partial directories beyond that many. Returns once every rank's files are complete.
// resume_from_checkpoint(path, tag) loads them into the live DistributedModel (and, with
// load_optimizer, the live DistributedOptimizer) and returns the user content. Before the first
// step the loads are deferred; a partial checkpoint then also fixes the partition it was saved
// with, so a resumed run computes exactly what the uninterrupted one would have.

#include <ATen/core/ivalue.h>

#include <string>

namespace smp {

class DistributedModel;
class DistributedOptimizer;

void save(const c10::IValue& obj, const std::string& path, bool partial = true);
c10::IValue load(const std::string& path, bool partial = true);

void save_checkpoint(const std::string& path, const std::string& tag, bool partial = true,
                     DistributedModel* model = nullptr, DistributedOptimizer* optimizer = nullptr,
                     const c10::IValue& user_content = c10::IValue(),
                     int num_kept_partial_checkpoints = -1);

// tag "" or "newest": the tag in <path>/newest.
c10::IValue resume_from_checkpoint(const std::string& path, const std::string& tag = "",
                                   bool partial = true, bool strict = true,
                                   bool load_optimizer = true);

// The file names above, for tools and tests.
std::string partial_checkpoint_dir(const std::string& path, const std::string& tag);
std::string partial_model_file(int pp_rank, int tp_rank);      // "model_pp0_tp0.pt"
std::string partial_optimizer_file(int pp_rank, int tp_rank);  // "optimizer_pp0_tp0.pt"

}  // namespace smp
