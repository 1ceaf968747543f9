#pragma once
// smp::step: one training (or evaluation) step of SMP — the step function runs once per
// microbatch, pipelined across the stages by the configured schedule (SMP's @smp.step).
//
// Every tensor input (also inside lists, tuples and dicts) is split along its batch axis (0, or
// StepOptions::input_split_axes[name]) into `microbatches` equal pieces; inputs named in
// non_split_inputs and non-tensor values reach every microbatch unchanged. With a
// DistributedModel the function runs on pipeline stage 0 only (the other stages serve its model
// calls; their own inputs are split and checked but otherwise unused); inside it model(x) runs the
// pipeline and returns the model's output, and model.backward(loss) runs the backward. What the
// function returns reaches every rank of the pipeline, as one StepOutput per returned value
// (tensors, numbers, strings, and lists, tuples or dicts of them). Without a model the function
// runs on every rank. Gradients (with ddp: also averaged over the DP group) are complete when
// smp::step returns; call optimizer.step() after it, outside the step function.

#include <ATen/core/ivalue.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "libsmp/pipeline/step_output.h"

namespace smp {

struct StepOptions;

// The step function's arguments by name (in order); per microbatch, the slices.
class Inputs {
 public:
  Inputs() = default;
  Inputs(std::initializer_list<std::pair<std::string, c10::IValue>> items);
  void add(std::string name, c10::IValue value);

  size_t size() const { return items_.size(); }
  const std::vector<std::pair<std::string, c10::IValue>>& items() const { return items_; }
  bool contains(const std::string& name) const;
  // smp::Error naming the known arguments when `name` is not one of them.
  const c10::IValue& operator[](const std::string& name) const;
  const c10::IValue& operator[](size_t index) const;
  at::Tensor tensor(const std::string& name) const;  // the argument, which must be a tensor
  // Which microbatch these inputs are (0-based), or -1 for a whole batch.
  int microbatch() const { return microbatch_; }

 private:
  friend std::vector<Inputs> split_inputs(const Inputs&, int, const StepOptions&);
  std::vector<std::pair<std::string, c10::IValue>> items_;
  int microbatch_ = -1;
};

using Returns = std::vector<c10::IValue>;
using StepFunction = std::function<Returns(const Inputs&)>;

struct StepOptions {
  std::set<std::string> non_split_inputs;      // passed whole to every microbatch
  std::map<std::string, int> input_split_axes; // split axis per input (default 0)
  bool detach_outputs = true;                  // detach returned tensors (also nested ones)
};

StepResult step(const StepFunction& fn, const Inputs& inputs, const StepOptions& options = {});

// Inside a step function: the running microbatch (0-based); -1 outside.
int current_microbatch();
// True while smp::step runs on this rank.
bool in_step();

// Splits `inputs` into `microbatches` pieces as smp::step does (exposed for tests and bindings).
std::vector<Inputs> split_inputs(const Inputs& inputs, int microbatches, const StepOptions& options);

}  // namespace smp
