#pragma once
// Artifacts: what the training program leaves behind for SageMaker to collect — partial
// checkpoints per epoch (and resuming from them), the final full model in SM_MODEL_DIR, the
// per-epoch metrics in SM_OUTPUT_DATA_DIR, and the `failure` file when it stops on an error.

#include <nlohmann/json.hpp>

#include <string>

namespace smp {
class DistributedModel;
class DistributedOptimizer;
}  // namespace smp

namespace fashion_mnist {

// Every rank, after an epoch: smp::save_checkpoint(dir, "epoch_<N>", partial) with {"epoch": N}
// as user content; keeps the newest `keep` epochs.
void save_epoch_checkpoint(const std::string& dir, int epoch, smp::DistributedModel& model,
                           smp::DistributedOptimizer& optimizer, int keep);

// Every rank, before training: when `dir` holds a checkpoint (its `newest` file), loads it into
// the model and optimizer and returns the epoch it was saved after; 0 when there is none.
// Throws when only some ranks see it (a checkpoint directory not shared by every host).
int resume_if_checkpointed(const std::string& dir);

// Every rank: the full model (gathered over the pipeline by the dp_rank 0 replica, as SMP's docs
// advise) written by rank 0 to <model_dir>/model.pt — a state dict torch.load reads.
void save_final_model(const std::string& model_dir, smp::DistributedModel& model);

// Rank 0: <output_data_dir>/metrics.json, rewritten after every epoch.
void write_metrics(const std::string& output_data_dir, const nlohmann::json& metrics);

// SageMaker's convention: the reason a job failed, in <output_dir>/failure (best effort).
void write_failure(const std::string& output_dir, const std::string& reason);

}  // namespace fashion_mnist
