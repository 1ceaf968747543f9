// State dicts: StateDict <-> IValue, a stage's local state, the full state gathered over the
// pipeline group, and loading (full or partial) into this stage.
#include "libsmp/model/state_dict.h"

#include <ATen/Functions.h>
#include <ATen/core/Dict.h>
#include <c10/core/GradMode.h>

#include <map>
#include <set>

#include "libsmp/comm/objects.h"
#include "libsmp/model/model_impl.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {
constexpr const char* kPartialKey = "_smp_is_partial";
constexpr const char* kPartitionKey = "_smp_partition";

std::string join(const std::vector<std::string>& names, size_t limit = 8) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}
}  // namespace

const at::Tensor* StateDict::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

std::vector<std::string> StateDict::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : tensors) out.push_back(n);
  return out;
}

c10::IValue StateDict::to_ivalue() const {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  dict.insert(kPartialKey, partial);
  if (!partition.empty()) {
    c10::List<int64_t> list;
    for (int s : partition) list.push_back(s);
    dict.insert(kPartitionKey, list);
  }
  return dict;
}

StateDict StateDict::from_ivalue(const c10::IValue& value) {
  if (!value.isGenericDict())
    throw Error("smp: a model state dict must be a dict of names to tensors, got a " +
                std::string(value.tagKind()) + ".");
  StateDict out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString())
      throw Error("smp: a model state dict has a non-string key (" + std::string(entry.key().tagKind()) + ").");
    std::string name = entry.key().toStringRef();
    const c10::IValue& v = entry.value();
    if (name == kPartialKey) {
      out.partial = v.isBool() && v.toBool();
    } else if (name == kPartitionKey) {
      if (v.isIntList())
        for (int64_t s : v.toIntVector()) out.partition.push_back(static_cast<int>(s));
    } else if (v.isTensor()) {
      out.tensors.emplace_back(name, v.toTensor());
    } else {
      throw Error("smp: state dict entry '" + name + "' is a " + std::string(v.tagKind()) +
                  ", not a tensor.");
    }
  }
  return out;
}

namespace detail {

StateDict ModelImpl::local_state() const {
  StateDict out;
  out.partial = true;
  out.partition = assignment;
  if (partitioned) {
    out.tensors = local_params;
    out.tensors.insert(out.tensors.end(), local_buffers.begin(), local_buffers.end());
  } else {
    for (const auto& item : root->named_parameters()) out.tensors.emplace_back(item.key(), item.value());
    for (const auto& item : root->named_buffers()) out.tensors.emplace_back(item.key(), item.value());
  }
  return out;
}

StateDict ModelImpl::full_state() {
  auto& rt = runtime();
  StateDict out;
  out.partition = assignment;
  if (!partitioned || stages == 1) {
    out.tensors = local_state().tensors;
    return out;
  }
  // Every stage contributes its own tensors; the result follows the module's order.
  std::vector<std::string> pieces = rt.pp_gather->allgather_bytes_sync(pickle(local_state().to_ivalue()));
  std::map<std::string, at::Tensor> all;
  for (const auto& piece : pieces)
    for (auto& [name, t] : StateDict::from_ivalue(unpickle(piece)).tensors) all[name] = t;
  auto take = [&](const std::string& name) {
    auto it = all.find(name);
    if (it == all.end())
      throw Error("libsmp internal error: no pipeline stage holds '" + name + "'.");
    out.tensors.emplace_back(name, it->second);
  };
  for (const auto& item : root->named_parameters()) take(item.key());
  for (const auto& item : root->named_buffers()) take(item.key());
  return out;
}

void ModelImpl::load_now(const StateDict& state, bool strict) {
  if (state.partial && !state.partition.empty() && state.partition != assignment)
    throw Error("smp::DistributedModel::load_state_dict: the partial state dict was saved with "
                "another partition of the children than this model's (" + describe_partition() +
                "); load it before the first smp::step (it then fixes the partition), or use a "
                "full state dict.");
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> local_names;
  c10::AutoGradMode no_grad(false);
  auto load = [&](const std::vector<std::pair<std::string, at::Tensor>>& targets) {
    for (const auto& [name, t] : targets) {
      local_names.insert(name);
      const at::Tensor* src = state.find(name);
      if (!src) {
        missing.push_back(name);
        continue;
      }
      if (src->sizes() != t.sizes()) {
        mismatched.push_back(name);
        continue;
      }
      const_cast<at::Tensor&>(t).copy_(*src);
    }
  };
  load(local_params);
  load(local_buffers);
  std::set<std::string> model_names;
  for (const auto& item : root->named_parameters()) model_names.insert(item.key());
  for (const auto& item : root->named_buffers()) model_names.insert(item.key());
  for (const auto& [name, t] : state.tensors)
    if (state.partial ? !local_names.count(name) : !model_names.count(name)) unexpected.push_back(name);
  if (!mismatched.empty())
    throw Error("smp::DistributedModel::load_state_dict: shapes differ for " + join(mismatched) +
                " (a checkpoint of another model?).");
  if (strict && (!missing.empty() || !unexpected.empty()))
    throw Error("smp::DistributedModel::load_state_dict (strict): " +
                (missing.empty() ? std::string() : "missing " + join(missing) + ". ") +
                (unexpected.empty() ? std::string() : "unexpected " + join(unexpected) + ". ") +
                "Pass strict=false to load what matches.");
}

}  // namespace detail
}  // namespace smp
