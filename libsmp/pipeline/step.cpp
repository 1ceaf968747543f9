#include "libsmp/pipeline/step.h"

#include <ATen/ThreadLocalState.h>

#include <algorithm>
#include <memory>

#include "libsmp/pipeline/participant.h"
#include "libsmp/pipeline/task_runner.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {

bool g_in_step = false;  // read by tasks under the baton, so a plain flag is enough

std::vector<pipeline::StepParticipant*>& participants() {
  static std::vector<pipeline::StepParticipant*> list;
  return list;
}

// The worker threads outlive steps (and re-initializations); they are joined at exit.
pipeline::TaskRunner& runner() {
  static pipeline::TaskRunner r;
  return r;
}

std::string names_of(const std::vector<std::pair<std::string, c10::IValue>>& items) {
  std::string out;
  for (const auto& [name, value] : items) out += (out.empty() ? "'" : ", '") + name + "'";
  return out.empty() ? "none" : out;
}

// Checks that every tensor inside `v` can be split into `m` pieces along `axis`.
void check_splittable(const c10::IValue& v, int m, int64_t axis, const std::string& where) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (t.dim() == 0) return;  // a scalar tensor is passed to every microbatch
    if (axis < 0 || axis >= t.dim())
      throw Error("smp::step: input " + where + " has " + std::to_string(t.dim()) +
                  " dimensions, so it cannot be split along axis " + std::to_string(axis) +
                  ". Fix StepOptions::input_split_axes, or list it in non_split_inputs.");
    if (t.size(axis) % m != 0)
      throw Error("smp::step: input " + where + " has size " + std::to_string(t.size(axis)) +
                  " along axis " + std::to_string(axis) + ", which microbatches=" +
                  std::to_string(m) + " does not divide. Use a batch size that is a multiple of " +
                  std::to_string(m) + " (e.g. drop the last incomplete batch), or list it in "
                  "StepOptions::non_split_inputs if it must not be split.");
    return;
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    for (size_t i = 0; i < list.size(); ++i)
      check_splittable(c10::IValue(list.get(i)), m, axis, where + "[" + std::to_string(i) + "]");
  } else if (v.isList()) {
    auto list = v.toList();
    for (size_t i = 0; i < list.size(); ++i)
      check_splittable(list.get(i), m, axis, where + "[" + std::to_string(i) + "]");
  } else if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    for (size_t i = 0; i < elems.size(); ++i)
      check_splittable(elems[i], m, axis, where + "[" + std::to_string(i) + "]");
  } else if (v.isGenericDict()) {
    for (const auto& entry : v.toGenericDict())
      check_splittable(entry.value(), m, axis, where + "[" + entry.key().tagKind() + " key]");
  }
}

c10::IValue slice(const c10::IValue& v, int m, int i, int64_t axis) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (t.dim() == 0) return v;
    int64_t len = t.size(axis) / m;
    return t.narrow(axis, i * len, len);
  }
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList().vec()) out.push_back(slice(c10::IValue(t), m, i, axis).toTensor());
    return out;
  }
  if (v.isList()) {
    auto list = v.toList();
    c10::impl::GenericList out(list.elementType());
    for (size_t k = 0; k < list.size(); ++k) out.push_back(slice(list.get(k), m, i, axis));
    return out;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> elems;
    for (const auto& e : v.toTupleRef().elements()) elems.push_back(slice(e, m, i, axis));
    return c10::ivalue::Tuple::create(std::move(elems));
  }
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    c10::impl::GenericDict out(dict.keyType(), dict.valueType());
    for (const auto& entry : dict) out.insert(entry.key(), slice(entry.value(), m, i, axis));
    return out;
  }
  return v;  // numbers, strings, None: the same for every microbatch
}

}  // namespace

Inputs::Inputs(std::initializer_list<std::pair<std::string, c10::IValue>> items) {
  for (const auto& item : items) add(item.first, item.second);
}

void Inputs::add(std::string name, c10::IValue value) {
  if (contains(name)) throw Error("smp::Inputs: the argument '" + name + "' is given twice.");
  items_.emplace_back(std::move(name), std::move(value));
}

bool Inputs::contains(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& i) { return i.first == name; });
}

const c10::IValue& Inputs::operator[](const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return item.second;
  throw Error("smp step function: there is no input named '" + name + "'; the inputs are " +
              names_of(items_) + ".");
}

const c10::IValue& Inputs::operator[](size_t index) const {
  if (index >= items_.size())
    throw Error("smp step function: input index " + std::to_string(index) + " is out of range; " +
                "there are " + std::to_string(items_.size()) + " inputs (" + names_of(items_) + ").");
  return items_[index].second;
}

at::Tensor Inputs::tensor(const std::string& name) const {
  const c10::IValue& v = (*this)[name];
  if (!v.isTensor())
    throw Error("smp step function: input '" + name + "' is a " + v.tagKind() + ", not a tensor.");
  return v.toTensor();
}

std::vector<Inputs> split_inputs(const Inputs& inputs, int microbatches, const StepOptions& options) {
  for (const auto& name : options.non_split_inputs)
    if (!inputs.contains(name))
      throw Error("smp::step: non_split_inputs names '" + name + "', which is not an input (" +
                  names_of(inputs.items()) + ").");
  for (const auto& [name, axis] : options.input_split_axes)
    if (!inputs.contains(name))
      throw Error("smp::step: input_split_axes names '" + name + "', which is not an input (" +
                  names_of(inputs.items()) + ").");
  auto axis_of = [&](const std::string& name) {
    auto it = options.input_split_axes.find(name);
    return it == options.input_split_axes.end() ? int64_t{0} : int64_t{it->second};
  };
  for (const auto& [name, value] : inputs.items())
    if (!options.non_split_inputs.count(name))
      check_splittable(value, microbatches, axis_of(name), "'" + name + "'");
  std::vector<Inputs> out(microbatches);
  for (int i = 0; i < microbatches; ++i) {
    out[i].microbatch_ = i;
    for (const auto& [name, value] : inputs.items())
      out[i].items_.emplace_back(name, options.non_split_inputs.count(name)
                                           ? value
                                           : slice(value, microbatches, i, axis_of(name)));
  }
  return out;
}

int current_microbatch() { return g_in_step ? pipeline::TaskRunner::current_task() : -1; }
bool in_step() { return g_in_step; }

namespace pipeline {
void register_participant(StepParticipant* p) { participants().push_back(p); }
void unregister_participant(StepParticipant* p) {
  auto& list = participants();
  list.erase(std::remove(list.begin(), list.end(), p), list.end());
}
}  // namespace pipeline

StepResult step(const StepFunction& fn, const Inputs& inputs, const StepOptions& options) {
  auto& rt = detail::runtime();
  if (g_in_step)
    throw Error("smp::step cannot be called from inside a step function (steps do not nest).");
  if (!fn) throw Error("smp::step: the step function is empty.");
  const int m = rt.config.microbatches;
  std::vector<Inputs> pieces = split_inputs(inputs, m, options);
  pipeline::StepContext ctx{rt.steps, m};
  std::vector<pipeline::StepParticipant*> parts = participants();

  pipeline::RunOptions run;
  run.schedule = rt.config.pipeline;
  run.active_microbatches = rt.config.active_microbatches;
  run.timeout = rt.timeout;
  run.progress = [&parts] {
    for (auto* p : parts) p->progress();
  };
  // One stage never waits for a peer, so its tasks can run back to back on this thread when the
  // schedule's order is exactly that (interleaved: F0 B0 F1 B1 ...; or a single microbatch).
  run.run_inline = rt.topology->pp_size() == 1 &&
                   (m == 1 || rt.config.pipeline != core::PipelineSchedule::kSimple);
  run.context = "rank " + std::to_string(rt.rank) + " (pipeline stage " +
                std::to_string(rt.coords.pp_rank) + "), step " + std::to_string(rt.steps);

  std::vector<Returns> results(m);
  at::ThreadLocalState tls;  // grad mode etc. of the caller, for every task thread
  g_in_step = true;
  try {
    for (auto* p : parts) p->begin_step(ctx);
    double t0 = trace::now_us();
    runner().run(
        m,
        [&](int i) {
          at::ThreadLocalStateGuard guard(tls);
          results[i] = fn(pieces[i]);
        },
        run);
    double t1 = trace::now_us();
    if (auto* tracer = rt.trace())
      tracer->span("step " + std::to_string(rt.steps), "step", t0, t1, 0,
                   trace::Json{{"step", rt.steps}});
    for (auto* p : parts) p->end_step(ctx);
  } catch (const TimeoutError& e) {
    for (auto* p : parts) p->abort_step();
    g_in_step = false;
    if (rt.throw_on_timeout) throw;
    detail::fatal(e.what());
  } catch (...) {
    for (auto* p : parts) p->abort_step();
    g_in_step = false;
    throw;
  }
  g_in_step = false;
  ++rt.steps;
  if (auto* tracer = rt.trace()) tracer->step_finished();

  const size_t n = results.empty() ? 0 : results[0].size();
  for (int i = 1; i < m; ++i)
    if (results[i].size() != n)
      throw Error("smp::step: the step function returned " + std::to_string(n) +
                  " values for microbatch 0 but " + std::to_string(results[i].size()) +
                  " for microbatch " + std::to_string(i) + "; return the same values every time.");
  std::vector<StepOutput> values;
  for (size_t j = 0; j < n; ++j) {
    std::vector<c10::IValue> per_mb;
    per_mb.reserve(m);
    for (int i = 0; i < m; ++i) {
      c10::IValue v = std::move(results[i][j]);
      if (options.detach_outputs && v.isTensor()) v = v.toTensor().detach();
      per_mb.push_back(std::move(v));
    }
    values.emplace_back(std::move(per_mb));
  }
  return StepResult(std::move(values));
}

}  // namespace smp
