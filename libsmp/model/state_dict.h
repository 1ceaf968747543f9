#pragma once
// StateDict: named tensors of a model (full) or of one pipeline stage (partial), in the module's
// order, with SMP's markers. As an IValue it is the dict torch.save/torch.load see: name → tensor,
// plus "_smp_is_partial" (bool) and "_smp_partition" (stage of every child, when known).

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <string>
#include <utility>
#include <vector>

namespace smp {

struct StateDict {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  bool partial = false;
  std::vector<int> partition;  // stage per ordered child; empty when unknown

  const at::Tensor* find(const std::string& name) const;
  std::vector<std::string> names() const;
  c10::IValue to_ivalue() const;
  // smp::Error when `value` is not a dict of str keys to tensors (and the markers).
  static StateDict from_ivalue(const c10::IValue& value);
};

}  // namespace smp
