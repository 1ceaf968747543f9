#pragma once
// Trainer: one epoch of training and one pass over the test set, each batch through smp::step —
// the train and eval step functions of SageMaker's MNIST model-parallel example.

#include <c10/core/Device.h>

#include <cstdint>

#include "samples/fashion_mnist/dataset.h"
#include "samples/fashion_mnist/options.h"

namespace smp {
class DistributedModel;
class DistributedOptimizer;
}  // namespace smp

namespace fashion_mnist {

struct TrainStats {
  double loss = 0;      // mean training loss over the epoch's steps and the data-parallel replicas
  int64_t steps = 0;    // steps per replica
  int64_t samples = 0;  // over all replicas
};

struct EvalStats {
  double loss = 0;      // mean NLL per sample
  int64_t correct = 0;  // over all replicas
  int64_t samples = 0;  // over all replicas
  double accuracy() const { return samples ? 100.0 * static_cast<double>(correct) / samples : 0.0; }
};

class Trainer {
 public:
  Trainer(smp::DistributedModel& model, smp::DistributedOptimizer& optimizer,
          const Hyperparameters& hp, c10::Device device, int microbatches);

  // Every rank calls these with its replica's shard (the ranks of one pipeline with the same one).
  TrainStats train_epoch(const Dataset& shard, int epoch);
  EvalStats evaluate(const Dataset& shard);

 private:
  smp::DistributedModel& model_;
  smp::DistributedOptimizer& optimizer_;
  const Hyperparameters& hp_;
  c10::Device device_;
  int microbatches_;
};

}  // namespace fashion_mnist
