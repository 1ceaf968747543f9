#include "libsmp/pipeline/step.h"

#include <ATen/ThreadLocalState.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "libsmp/model/model_impl.h"
#include "libsmp/pipeline/task_runner.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {

bool g_in_step = false;  // read by tasks under the baton, so a plain flag is enough

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

// `v` with `fn` applied to every tensor inside it (also in lists, tuples and dicts); numbers,
// strings and None stay as they are.
c10::IValue map_tensors(const c10::IValue& v, const std::function<at::Tensor(const at::Tensor&)>& fn) {
  if (v.isTensor()) return fn(v.toTensor());
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList().vec()) out.push_back(fn(t));
    return out;
  }
  if (v.isList()) {
    auto list = v.toList();
    c10::impl::GenericList out(list.elementType());
    for (size_t k = 0; k < list.size(); ++k) out.push_back(map_tensors(list.get(k), fn));
    return out;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> elems;
    for (const auto& e : v.toTupleRef().elements()) elems.push_back(map_tensors(e, fn));
    return c10::ivalue::Tuple::create(std::move(elems));
  }
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    c10::impl::GenericDict out(dict.keyType(), dict.valueType());
    for (const auto& entry : dict) out.insert(entry.key(), map_tensors(entry.value(), fn));
    return out;
  }
  return v;
}

// Microbatch i of m: every tensor's slice along `axis` (a scalar tensor goes to every microbatch).
c10::IValue slice(const c10::IValue& v, int m, int i, int64_t axis) {
  return map_tensors(v, [&](const at::Tensor& t) {
    if (t.dim() == 0) return t;
    const int64_t len = t.size(axis) / m;
    return t.narrow(axis, i * len, len);
  });
}

c10::IValue detach_nested(const c10::IValue& v) {
  return map_tensors(v, [](const at::Tensor& t) { return t.detach(); });
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

namespace {

// A microbatch's return values as they travel from the leader to the other stages: a flag byte
// (whether the microbatch ran model.backward, so every stage knows whether to allreduce) and the
// values pickled as one tuple (tensors detached: the other stages get copies).
pipeline::Packed pack_returns(const Returns& values, bool backward_ran) {
  std::vector<c10::IValue> detached;
  detached.reserve(values.size());
  for (const auto& v : values) detached.push_back(detach_nested(v));
  std::vector<char> bytes;
  try {
    bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create(std::move(detached)));
  } catch (const std::exception& e) {
    throw Error(std::string("smp::step: the step function's return values cannot be sent to the "
                            "other pipeline stages (return tensors, numbers, strings and lists, "
                            "tuples or dicts of them): ") + e.what());
  }
  pipeline::Packed p;
  p.skeleton.reserve(bytes.size() + 1);
  p.skeleton.push_back(backward_ran ? 'B' : '-');
  p.skeleton.append(bytes.begin(), bytes.end());
  return p;
}

Returns unpack_returns(const pipeline::Packed& p, bool& backward_ran) {
  if (p.skeleton.empty()) throw Error("libsmp internal error: an empty step result arrived");
  backward_ran = backward_ran || p.skeleton[0] == 'B';
  c10::IValue v = torch::jit::pickle_load(std::vector<char>(p.skeleton.begin() + 1, p.skeleton.end()));
  return v.toTupleRef().elements().vec();
}

// The step function on every rank, once per microbatch (no DistributedModel: no pipeline).
std::vector<Returns> run_everywhere(const StepFunction& fn, const std::vector<Inputs>& pieces,
                                    pipeline::RunOptions run) {
  auto& rt = detail::runtime();
  const int m = static_cast<int>(pieces.size());
  std::vector<Returns> results(m);
  at::ThreadLocalState tls;  // grad mode etc. of the caller, for every task thread
  double t0 = trace::now_us();
  runner().run(
      m,
      [&](int i) {
        at::ThreadLocalStateGuard guard(tls);
        results[i] = fn(pieces[i]);
      },
      run);
  if (auto* tracer = rt.trace()) {
    tracer->span("step " + std::to_string(rt.steps), "step", t0, trace::now_us(), 0,
                 trace::Json{{"step", rt.steps}});
    tracer->step_finished();
  }
  return results;
}

// The step function on the leader of the pipeline (stage 0), on the model's execution server;
// every rank gets the leader's results.
std::vector<Returns> run_on_server(detail::ModelImpl& model, const StepFunction& fn,
                                   const std::vector<Inputs>& pieces,
                                   const pipeline::RunOptions& run, bool& backward_ran) {
  auto& rt = detail::runtime();
  const int m = static_cast<int>(pieces.size());
  const bool leader = model.stage == 0;
  std::vector<Returns> results(m);
  auto packed = model.server->run_step(
      m,
      [&](int i) -> pipeline::Packed {
        results[i] = fn(pieces[i]);
        if (model.stages == 1) return {};
        return pack_returns(results[i], model.mbs.at(i).backward_called);
      },
      run, rt.steps);
  backward_ran = model.any_backward;
  if (!leader)
    for (int i = 0; i < m; ++i) results[i] = unpack_returns(packed[i], backward_ran);
  return results;
}

}  // namespace

StepResult step(const StepFunction& fn, const Inputs& inputs, const StepOptions& options) {
  auto& rt = detail::runtime();
  if (g_in_step)
    throw Error("smp::step cannot be called from inside a step function (steps do not nest).");
  if (!fn) throw Error("smp::step: the step function is empty.");
  const int m = rt.config.microbatches;
  std::vector<Inputs> pieces = split_inputs(inputs, m, options);
  DistributedModel* owner = detail::current_model();
  detail::ModelImpl* model = owner ? &owner->impl() : nullptr;
  if (model) model->prepare_step(fn, pieces[0]);

  pipeline::RunOptions run;
  run.schedule = rt.config.pipeline;
  run.active_microbatches = rt.config.active_microbatches;
  run.timeout = rt.timeout;
  // One stage never waits for a peer, so its tasks can run back to back on this thread when the
  // schedule's order is exactly that (interleaved: F0 B0 F1 B1 ...; or a single microbatch).
  run.run_inline = rt.topology->pp_size() == 1 &&
                   (m == 1 || rt.config.pipeline != core::PipelineSchedule::kSimple);
  run.context = "rank " + std::to_string(rt.rank) + " (pipeline stage " +
                std::to_string(rt.coords.pp_rank) + "), step " + std::to_string(rt.steps);
  // A peer that timed out asks every rank where it stands.
  run.progress = [model] {
    if (auto* notices = detail::timeout_notices())
      notices->check([model] {
        return model && model->server ? model->server->describe_waits() : runner().describe_waits();
      });
  };

  std::vector<Returns> results;
  g_in_step = true;
  try {
    if (model) {
      model->begin_step(rt.steps, m);
      bool backward_ran = false;
      results = run_on_server(*model, fn, pieces, run, backward_ran);
      model->end_step(backward_ran);
    } else {
      results = run_everywhere(fn, pieces, run);
    }
  } catch (const TimeoutError& e) {
    if (model) model->abort_step();
    g_in_step = false;
    if (rt.throw_on_timeout) throw;
    detail::fatal(e.what());
  } catch (...) {
    if (model) model->abort_step();
    g_in_step = false;
    throw;
  }
  g_in_step = false;
  ++rt.steps;
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
      if (options.detach_outputs) v = detach_nested(v);
      per_mb.push_back(std::move(v));
    }
    values.emplace_back(std::move(per_mb));
  }
  return StepResult(std::move(values));
}

}  // namespace smp
