#include "libsmp/model/model_impl.h"

#include <set>

#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace detail {
namespace {

ModelImpl*& the_model() {
  static ModelImpl* model = nullptr;
  return model;
}

std::string qualified_name(torch::nn::Module& root, const torch::nn::Module* child) {
  for (const auto& item : root.named_modules("", /*include_self=*/false))
    if (item.value().get() == child) return item.key();
  return "";
}

}  // namespace

DistributedModel* current_model() { return the_model() ? the_model()->owner : nullptr; }

ModelImpl::ModelImpl(DistributedModel* owner_, std::shared_ptr<torch::nn::Module> root_,
                     std::vector<Layer> layers_, ModelOptions options_)
    : owner(owner_), root(std::move(root_)), layers(std::move(layers_)),
      options(std::move(options_)) {
  runtime();  // smp::Error when smp::init() has not run
  if (!root) throw Error("smp::DistributedModel: the module is null.");
  if (layers.empty())
    throw Error("smp::DistributedModel: the model has no children to run; pass a "
                "torch::nn::Sequential with modules in it, or the ordered children of the module.");
  if (the_model())
    throw Error("smp::DistributedModel: a DistributedModel already exists in this process; SMP "
                "wraps exactly one model per training script.");
  std::set<std::string> names;
  for (auto& l : layers) {
    if (!l.module || !l.forward)
      throw Error("smp::DistributedModel: child '" + l.name + "' has no module or no forward.");
    if (!names.insert(l.name).second)
      throw Error("smp::DistributedModel: the child '" + l.name + "' is listed twice.");
  }
  // Every parameter and buffer must belong to one child: the root's own would be on no stage.
  std::set<const void*> owned;
  for (auto& l : layers) {
    for (auto& p : l.module->parameters()) owned.insert(p.unsafeGetTensorImpl());
    for (auto& b : l.module->buffers()) owned.insert(b.unsafeGetTensorImpl());
  }
  for (const auto& item : root->named_parameters())
    if (!owned.count(item.value().unsafeGetTensorImpl()))
      throw Error("smp::DistributedModel: parameter '" + item.key() +
                  "' is not inside any of the ordered children, so no pipeline stage would hold "
                  "it. Move it into one of the children (" + describe_partition() + ").");
  for (const auto& item : root->named_buffers())
    if (!owned.count(item.value().unsafeGetTensorImpl()))
      throw Error("smp::DistributedModel: buffer '" + item.key() +
                  "' is not inside any of the ordered children; move it into one of them.");
  the_model() = this;
}

ModelImpl::~ModelImpl() {
  if (the_model() == this) the_model() = nullptr;
}

int ModelImpl::index_of(const std::string& child) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == child) return static_cast<int>(i);
  throw Error("smp::DistributedModel: there is no child named '" + child +
              "'; the ordered children are: " + describe_partition() + ".");
}

std::string ModelImpl::describe_partition() const {
  std::string out;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ", ";
    out += "'" + layers[i].name + "'";
    if (partitioned) out += " (stage " + std::to_string(assignment[i]) + ")";
  }
  return out;
}

}  // namespace detail

namespace {

std::vector<Layer> layers_of(const torch::nn::Sequential& seq) {
  std::vector<Layer> out;
  auto children = seq->named_children();
  size_t i = 0;
  for (const auto& any : *seq) {
    torch::nn::AnyModule module = any;
    out.push_back({children[i].key(), children[i].value(),
                   [module](const at::Tensor& x) mutable { return module.forward<at::Tensor>(x); }});
    ++i;
  }
  return out;
}

std::vector<Layer> layers_of(torch::nn::Module& root, std::vector<torch::nn::AnyModule> children) {
  std::vector<Layer> out;
  for (auto& any : children) {
    std::shared_ptr<torch::nn::Module> m = any.ptr();
    std::string name = detail::qualified_name(root, m.get());
    if (name.empty())
      throw Error("smp::DistributedModel: a child passed to the constructor (" + m->name() +
                  ") is not a submodule of the model; register it with register_module first.");
    out.push_back({name, m, [any](const at::Tensor& x) mutable { return any.forward<at::Tensor>(x); }});
  }
  return out;
}

}  // namespace

DistributedModel::DistributedModel(torch::nn::Sequential sequential, ModelOptions options)
    : impl_(std::make_unique<detail::ModelImpl>(this, sequential.ptr(), layers_of(sequential),
                                                std::move(options))) {}

DistributedModel::DistributedModel(std::shared_ptr<torch::nn::Module> root,
                                   std::vector<torch::nn::AnyModule> children, ModelOptions options)
    : impl_(std::make_unique<detail::ModelImpl>(
          this, root, root ? layers_of(*root, std::move(children)) : std::vector<Layer>{},
          std::move(options))) {}

DistributedModel::DistributedModel(std::shared_ptr<torch::nn::Module> root,
                                   std::vector<Layer> layers, ModelOptions options)
    : impl_(std::make_unique<detail::ModelImpl>(this, std::move(root), std::move(layers),
                                                std::move(options))) {}

DistributedModel::~DistributedModel() = default;

at::Tensor DistributedModel::forward(const at::Tensor& input) { return impl_->forward(input); }

void DistributedModel::backward(const at::Tensor& loss) { impl_->backward({loss}, {}); }

void DistributedModel::backward(const std::vector<at::Tensor>& tensors,
                                const std::vector<at::Tensor>& grad_tensors) {
  impl_->backward(tensors, grad_tensors);
}

void DistributedModel::set_partition(const std::string& child, int index) {
  auto& rt = detail::runtime();
  if (impl_->partitioned)
    throw Error("smp::DistributedModel::set_partition('" + child + "'): the model is already "
                "partitioned (partitioning happens in the first smp::step); call it before.");
  if (index < 0 || index >= rt.config.pipeline_parallel_degree)
    throw Error("smp::DistributedModel::set_partition('" + child + "', " + std::to_string(index) +
                "): the partition index must be in 0.." +
                std::to_string(rt.config.pipeline_parallel_degree - 1) + " (partitions = " +
                std::to_string(rt.config.pipeline_parallel_degree) + ").");
  impl_->index_of(child);
  impl_->manual[child] = index;
}

void DistributedModel::set_partition(const std::shared_ptr<torch::nn::Module>& child, int index) {
  for (const auto& l : impl_->layers)
    if (l.module.get() == child.get()) return set_partition(l.name, index);
  throw Error("smp::DistributedModel::set_partition: the module is not one of the ordered "
              "children (" + impl_->describe_partition() + "); only whole children can be placed.");
}

bool DistributedModel::partitioned() const { return impl_->partitioned; }

std::vector<std::string> DistributedModel::child_names() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->layers) out.push_back(l.name);
  return out;
}

std::vector<int> DistributedModel::partition() const { return impl_->assignment; }

void DistributedModel::register_post_partition_hook(std::function<void(DistributedModel&)> hook) {
  if (impl_->partitioned) hook(*this);
  else impl_->hooks.push_back(std::move(hook));
}

std::shared_ptr<torch::nn::Module> DistributedModel::module() const { return impl_->root; }

std::vector<at::Tensor> DistributedModel::parameters() const {
  return impl_->partitioned ? local_parameters() : impl_->root->parameters();
}

std::vector<at::Tensor> DistributedModel::local_parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : local_named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> DistributedModel::local_named_parameters() const {
  if (impl_->partitioned) return impl_->local_params;
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : impl_->root->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<at::Tensor> DistributedModel::local_buffers() const {
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : local_named_buffers()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> DistributedModel::local_named_buffers() const {
  if (impl_->partitioned) return impl_->local_buffers;
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : impl_->root->named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

StateDict DistributedModel::state_dict() { return impl_->full_state(); }
StateDict DistributedModel::local_state_dict() const { return impl_->local_state(); }

void DistributedModel::load_state_dict(const StateDict& state, bool strict) {
  if (impl_->partitioned) {
    impl_->load_now(state, strict);
    return;
  }
  // Before partitioning: remember it; a partial state also fixes the partition it was saved with.
  if (state.partial && !state.partition.empty()) impl_->forced = state.partition;
  impl_->pending_load = state;
  impl_->pending_strict = strict;
}

}  // namespace smp
