#include "samples/fashion_mnist/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>

#include "libsmp/smp.h"

namespace fashion_mnist {
namespace {

// Per microbatch: forward through the pipeline, NLL loss, backward through every stage. Returns the
// output and the loss, as the example's train_step does.
smp::Returns train_step(smp::DistributedModel& model, const smp::Inputs& in) {
  at::Tensor output = model(in.tensor("data"));
  at::Tensor loss = at::nll_loss(output, in.tensor("target"));
  model.backward(loss);
  return {output, loss};
}

// Per microbatch: forward only; the summed loss and the number of correct predictions.
smp::Returns eval_step(smp::DistributedModel& model, const smp::Inputs& in) {
  // Grad mode is per thread and the step function may run on one of libsmp's task threads:
  // switch it off here, not around the smp::step call.
  torch::NoGradGuard no_grad;
  at::Tensor output = model(in.tensor("data"));
  const at::Tensor& target = in.tensor("target");
  at::Tensor loss_sum = at::nll_loss(output, target, {}, at::Reduction::Sum);
  at::Tensor correct = output.argmax(1).eq(target).sum();
  return {loss_sum, correct};
}

// Sums each value over the data-parallel replicas (every rank of the DP group gets the totals).
std::vector<double> sum_over_replicas(const std::vector<double>& values) {
  std::vector<double> total(values.size(), 0.0);
  for (const auto& v : smp::allgather(c10::IValue(values), smp::DP_GROUP)) {
    auto list = v.toDoubleList();
    for (size_t i = 0; i < total.size(); ++i) total[i] += list.get(i);
  }
  return total;
}

}  // namespace

Trainer::Trainer(smp::DistributedModel& model, smp::DistributedOptimizer& optimizer,
                 const Hyperparameters& hp, c10::Device device, int microbatches)
    : model_(model), optimizer_(optimizer), hp_(hp), device_(device), microbatches_(microbatches) {}

TrainStats Trainer::train_epoch(const Dataset& shard, int epoch) {
  model_.module()->train();
  // Dropout's random stream restarts per epoch, so a run resumed from a checkpoint repeats the
  // uninterrupted run's later epochs exactly.
  at::manual_seed(static_cast<uint64_t>(hp_.seed) * 1000003u + epoch);
  // The same order on every rank of this pipeline: they share the shard and the seed.
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(hp_.seed) * 1000003u + epoch);
  at::Tensor order = at::randperm(shard.size(), gen, at::kLong);
  int64_t steps = shard.size() / hp_.batch_size;  // drop_last, as SMP asks
  if (hp_.max_steps > 0 && steps > hp_.max_steps) steps = hp_.max_steps;
  const int64_t total = steps * hp_.batch_size * smp::dp_size();

  double loss_sum = 0;
  for (int64_t s = 0; s < steps; ++s) {
    Dataset batch = select(shard, order.narrow(0, s * hp_.batch_size, hp_.batch_size));
    optimizer_.zero_grad();
    smp::StepResult out = smp::step(
        [this](const smp::Inputs& in) { return train_step(model_, in); },
        smp::Inputs{{"data", batch.images.to(device_)}, {"target", batch.labels.to(device_)}});
    optimizer_.step();  // outside the step: gradients (and DDP's allreduce) are complete here
    double loss = out[1].reduce_mean().item<double>();
    loss_sum += loss;
    if (smp::rank() == 0 && (s % hp_.log_interval == 0 || s + 1 == steps)) {
      int64_t seen = (s + 1) * hp_.batch_size * smp::dp_size();
      std::printf("Train Epoch: %d [%lld/%lld (%.0f%%)]\tLoss: %.6f\n", epoch,
                  static_cast<long long>(seen), static_cast<long long>(total),
                  100.0 * static_cast<double>(seen) / static_cast<double>(total), loss);
      std::fflush(stdout);
    }
  }
  TrainStats stats;
  stats.steps = steps;
  stats.samples = total;
  stats.loss =
      steps ? sum_over_replicas({loss_sum / static_cast<double>(steps)})[0] / smp::dp_size() : 0.0;
  return stats;
}

EvalStats Trainer::evaluate(const Dataset& shard) {
  model_.module()->eval();
  double loss_sum = 0, correct = 0, samples = 0;
  for (int64_t start = 0; start < shard.size(); start += hp_.test_batch_size) {
    int64_t n = std::min<int64_t>(hp_.test_batch_size, shard.size() - start);
    n -= n % microbatches_;  // smp::step splits a batch into equal microbatches
    if (n == 0) break;
    at::Tensor index = at::arange(start, start + n, at::kLong);
    Dataset batch = select(shard, index);
    smp::StepResult out = smp::step(
        [this](const smp::Inputs& in) { return eval_step(model_, in); },
        smp::Inputs{{"data", batch.images.to(device_)}, {"target", batch.labels.to(device_)}});
    loss_sum += out[0].reduce_sum().item<double>();
    correct += out[1].reduce_sum().item<double>();
    samples += static_cast<double>(n);
  }
  auto total = sum_over_replicas({loss_sum, correct, samples});
  EvalStats stats;
  stats.samples = static_cast<int64_t>(total[2]);
  stats.correct = static_cast<int64_t>(total[1]);
  stats.loss = stats.samples ? total[0] / total[2] : 0.0;
  return stats;
}

}  // namespace fashion_mnist
