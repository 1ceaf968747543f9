#include "libsmp/pipeline/step_output.h"

#include <ATen/Functions.h>

#include "libsmp/runtime/error.h"

namespace smp {

bool StepOutput::is_tensor() const {
  for (const auto& v : outputs_)
    if (!v.isTensor()) return false;
  return !outputs_.empty();
}

std::vector<at::Tensor> StepOutput::tensors() const {
  std::vector<at::Tensor> out;
  out.reserve(outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (!outputs_[i].isTensor())
      throw Error("StepOutput: microbatch " + std::to_string(i) + " returned a " +
                  outputs_[i].tagKind() +
                  ", not a tensor; reduce_mean/reduce_sum/concat/stack need tensors. Read the "
                  "per-microbatch values with outputs() instead.");
    out.push_back(outputs_[i].toTensor());
  }
  if (out.empty()) throw Error("StepOutput: the step ran no microbatch, there is nothing to reduce.");
  return out;
}

at::Tensor StepOutput::reduce_mean() const { return at::stack(tensors(), 0).mean(0); }
at::Tensor StepOutput::reduce_sum() const { return at::stack(tensors(), 0).sum(0); }
at::Tensor StepOutput::concat(int64_t dim) const { return at::cat(tensors(), dim); }
at::Tensor StepOutput::stack(int64_t dim) const { return at::stack(tensors(), dim); }

const StepOutput& StepResult::operator[](size_t index) const {
  if (index >= values_.size())
    throw Error("StepResult: the step function returned " + std::to_string(values_.size()) +
                " values; index " + std::to_string(index) + " does not exist.");
  return values_[index];
}

}  // namespace smp
