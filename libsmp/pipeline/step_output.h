#pragma once
// StepOutput: one value the step function returned, across the microbatches of one smp::step
// (SMP's smp.StepOutput): the per-microbatch outputs and their reductions. StepResult holds one
// StepOutput per returned value, in return order.

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <vector>

namespace smp {

class StepOutput {
 public:
  explicit StepOutput(std::vector<c10::IValue> outputs) : outputs_(std::move(outputs)) {}

  // One entry per microbatch, in microbatch order.
  const std::vector<c10::IValue>& outputs() const { return outputs_; }
  size_t size() const { return outputs_.size(); }
  const c10::IValue& operator[](size_t microbatch) const { return outputs_.at(microbatch); }
  bool is_tensor() const;  // every microbatch returned a tensor

  // Tensor outputs only (smp::Error otherwise, naming the offending type).
  std::vector<at::Tensor> tensors() const;
  at::Tensor reduce_mean() const;             // mean over microbatches of the stacked outputs
  at::Tensor reduce_sum() const;              // sum over microbatches
  at::Tensor concat(int64_t dim = 0) const;   // torch.cat along the batch dimension
  at::Tensor stack(int64_t dim = 0) const;    // torch.stack

 private:
  std::vector<c10::IValue> outputs_;
};

// The StepOutputs of one smp::step call, one per returned value.
class StepResult {
 public:
  StepResult() = default;
  explicit StepResult(std::vector<StepOutput> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  const StepOutput& operator[](size_t index) const;
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }

 private:
  std::vector<StepOutput> values_;
};

}  // namespace smp
