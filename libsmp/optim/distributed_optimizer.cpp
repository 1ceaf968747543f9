#include "libsmp/optim/distributed_optimizer.h"

#include <ATen/Functions.h>
#include <c10/core/GradMode.h>
#include <torch/serialize/archive.h>

#include <cstring>
#include <set>
#include <sstream>

#include "libsmp/comm/objects.h"
#include "libsmp/model/distributed_model.h"
#include "libsmp/model/model_impl.h"
#include "libsmp/pipeline/step.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {

DistributedOptimizer*& the_optimizer() {
  static DistributedOptimizer* opt = nullptr;
  return opt;
}

at::Tensor bytes_tensor(const std::string& bytes) {
  at::Tensor t = at::empty({static_cast<int64_t>(bytes.size())}, at::TensorOptions().dtype(at::kByte));
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_bytes(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

c10::IValue get(const c10::IValue& dict, const char* key) {
  if (!dict.isGenericDict())
    throw Error("smp::DistributedOptimizer::load_state_dict: expected a dict from state_dict() or "
                "local_state_dict(), got a " + std::string(dict.tagKind()) + ".");
  auto d = dict.toGenericDict();
  auto it = d.find(key);
  if (it == d.end())
    throw Error(std::string("smp::DistributedOptimizer::load_state_dict: the state has no '") + key +
                "' entry; pass what DistributedOptimizer::state_dict()/local_state_dict() returned.");
  return it->value();
}

}  // namespace

namespace detail {
DistributedOptimizer* current_optimizer() { return the_optimizer(); }
}  // namespace detail

DistributedOptimizer::DistributedOptimizer(std::shared_ptr<torch::optim::Optimizer> optimizer)
    : optimizer_(std::move(optimizer)) {
  detail::runtime();
  if (!optimizer_) throw Error("smp::DistributedOptimizer: the optimizer is null.");
  if (the_optimizer())
    throw Error("smp::DistributedOptimizer: one already exists in this process; wrap one optimizer.");
  the_optimizer() = this;
}

DistributedOptimizer::~DistributedOptimizer() {
  if (the_optimizer() == this) the_optimizer() = nullptr;
}

void DistributedOptimizer::localize() {
  if (localized_) return;
  DistributedModel* model = detail::current_model();
  if (!model || !model->partitioned()) return;
  std::set<const void*> local;
  for (const auto& p : model->local_parameters()) local.insert(p.unsafeGetTensorImpl());
  // The optimizer has no per-parameter state yet: it only appears with step(), which needs
  // gradients, which the first smp::step (the one that partitions) produces; and a loaded state
  // waits for this point. So dropping parameters here never orphans state.
  for (auto& group : optimizer_->param_groups()) {
    auto& params = group.params();
    std::vector<at::Tensor> kept;
    for (auto& p : params)
      if (local.count(p.unsafeGetTensorImpl())) kept.push_back(p);
    params = std::move(kept);
  }
  localized_ = true;
  if (pending_) {
    c10::IValue s = std::move(*pending_);
    pending_.reset();
    load_now(s);
  }
}

void DistributedOptimizer::step() {
  auto& rt = detail::runtime();
  if (in_step())
    throw Error("smp::DistributedOptimizer::step() must run outside the smp::step function: call "
                "it after smp::step returns (the gradients are complete then).");
  localize();
  if (pending_)
    throw Error("smp::DistributedOptimizer: a loaded optimizer state is waiting for the model to "
                "be partitioned; run an smp::step before optimizer.step().");
  double t0 = trace::now_us();
  optimizer_->step();
  if (auto* tracer = rt.trace())
    tracer->span("optimizer", "optimizer", t0, trace::now_us(), 0,
                 trace::Json{{"step", rt.steps > 0 ? rt.steps - 1 : 0}});
}

void DistributedOptimizer::zero_grad(bool set_to_none) {
  localize();
  c10::AutoGradMode no_grad(false);
  for (auto& group : optimizer_->param_groups())
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.mutable_grad() = at::Tensor();
      else p.mutable_grad().zero_();
    }
  // Only when the optimizer covers every local parameter do all the model's gradients start from
  // zero (what lets the next step skip rescaling them).
  if (DistributedModel* model = detail::current_model(); model && model->partitioned()) {
    std::set<const void*> mine;
    for (auto& group : optimizer_->param_groups())
      for (auto& p : group.params()) mine.insert(p.unsafeGetTensorImpl());
    bool all = true;
    for (auto& p : model->local_parameters())
      if (!mine.count(p.unsafeGetTensorImpl()) && p.grad().defined()) all = false;
    if (all) model->impl().grads_zeroed = true;
  }
}

c10::IValue DistributedOptimizer::local_state_dict() {
  auto& rt = detail::runtime();
  localize();
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  std::ostringstream out;
  archive.save_to(out);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("_smp_is_partial", true);
  dict.insert("_smp_pp_rank", static_cast<int64_t>(rt.coords.pp_rank));
  dict.insert("_smp_archive", bytes_tensor(out.str()));
  return dict;
}

c10::IValue DistributedOptimizer::state_dict() {
  auto& rt = detail::runtime();
  c10::IValue mine = get(local_state_dict(), "_smp_archive");
  std::vector<std::string> all = rt.pp_gather->allgather_bytes_sync(tensor_bytes(mine.toTensor()));
  c10::List<at::Tensor> archives;
  for (const auto& a : all) archives.push_back(bytes_tensor(a));
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("_smp_is_partial", false);
  dict.insert("_smp_archives", archives);
  return dict;
}

void DistributedOptimizer::load_state_dict(const c10::IValue& state) {
  get(state, "_smp_is_partial");  // shape check now, not at the deferred load
  localize();
  if (localized_ || !detail::current_model() || detail::runtime().topology->pp_size() == 1) {
    // pp == 1: every parameter is local, nothing to drop first.
    load_now(state);
  } else {
    pending_ = state;
  }
}

void DistributedOptimizer::load_now(const c10::IValue& state) {
  auto& rt = detail::runtime();
  bool partial = get(state, "_smp_is_partial").toBool();
  at::Tensor archive_bytes;
  if (partial) {
    int64_t saved_stage = get(state, "_smp_pp_rank").toInt();
    if (saved_stage != rt.coords.pp_rank)
      throw Error("smp::DistributedOptimizer::load_state_dict: this partial optimizer state belongs "
                  "to pipeline stage " + std::to_string(saved_stage) + ", but this rank is stage " +
                  std::to_string(rt.coords.pp_rank) + "; load the file saved for this mp_rank.");
    archive_bytes = get(state, "_smp_archive").toTensor();
  } else {
    auto archives = get(state, "_smp_archives").toTensorList();
    if (static_cast<int>(archives.size()) != rt.topology->pp_size())
      throw Error("smp::DistributedOptimizer::load_state_dict: the state was saved with " +
                  std::to_string(archives.size()) + " pipeline stages, this job has " +
                  std::to_string(rt.topology->pp_size()) + "; optimizer states cannot be "
                  "re-partitioned.");
    archive_bytes = archives.get(rt.coords.pp_rank);
  }
  std::istringstream in(tensor_bytes(archive_bytes));
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  optimizer_->load(archive);
}

}  // namespace smp
