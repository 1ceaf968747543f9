#pragma once
// Options: what a SageMaker training container hands this program — the hyperparameters as argv
// (the training toolkit's to_cmd_args: `--key value`, keys sorted) and the SM_* / /opt/ml paths.

#include <cstdint>
#include <string>
#include <vector>

namespace fashion_mnist {

// Hyperparameters: the training knobs, by their job.json names (`batch-size` or `batch_size`).
struct Hyperparameters {
  int epochs = 3;
  int batch_size = 64;        // per data-parallel replica and step; divisible by microbatches
  int test_batch_size = 200;  // per replica; divisible by microbatches
  double lr = 1e-3;           // Adam's learning rate
  double gamma = 0.7;         // StepLR: the learning rate shrinks by this factor every epoch
  int64_t seed = 1;
  int log_interval = 50;  // print the training loss every this many steps (rank 0)
  int max_steps = 0;      // stop each epoch after this many steps (0: the whole shard)
  int num_kept_checkpoints = 2;
};

// Parses argv[1..]. Unknown keys are ignored with a note in `notes` (SageMaker also passes
// `--mp_parameters {...}`, which libsmp reads from SM_HP_MP_PARAMETERS instead).
// Throws std::invalid_argument naming the key and the value it expected.
Hyperparameters parse_hyperparameters(int argc, char** argv, std::vector<std::string>& notes);

// Paths: where the job's data comes from and its outputs go (as SageMaker lays them out).
struct Paths {
  std::string training;         // SM_CHANNEL_TRAINING
  std::string model_dir;        // SM_MODEL_DIR: becomes model.tar.gz
  std::string output_data_dir;  // SM_OUTPUT_DATA_DIR: becomes output.tar.gz
  std::string output_dir;       // SM_OUTPUT_DIR: the `failure` file goes here
  std::string checkpoint_dir;   // checkpointconfig.json's LocalPath, else /opt/ml/checkpoints
};

// Throws std::runtime_error when the training channel is not given.
Paths sagemaker_paths();

}  // namespace fashion_mnist
