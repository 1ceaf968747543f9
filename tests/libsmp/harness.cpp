#include "harness.h"

#include <cstdlib>

namespace smptest {

std::string describe(const TrainConfig& c) {
  return c.model + " pp=" + std::to_string(c.pp) + " dp=" + std::to_string(c.dp) +
         " mb=" + std::to_string(c.microbatches) + " " + c.pipeline + " " + c.placement +
         (c.auto_partition ? " auto" : " manual") +
         (c.active_microbatches ? " active=" + std::to_string(*c.active_microbatches) : "") +
         (c.device == "cpu" ? "" : " on " + c.device);
}

smp::Json mp_parameters(const TrainConfig& c) {
  smp::Json p = {{"partitions", c.pp},
                 {"microbatches", c.microbatches},
                 {"pipeline", c.pipeline},
                 {"placement_strategy", c.placement},
                 {"auto_partition", c.auto_partition},
                 {"default_partition", 0},
                 {"ddp", c.dp > 1}};
  if (c.active_microbatches) p["active_microbatches"] = *c.active_microbatches;
  return p;
}

torch::nn::Sequential make_model(const std::string& kind, uint64_t seed) {
  torch::manual_seed(seed);
  if (kind == "cnn")
    return torch::nn::Sequential(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)), torch::nn::ReLU(),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 8, 3).stride(2)), torch::nn::ReLU(),
        torch::nn::Flatten(), torch::nn::Linear(72, 10));
  return torch::nn::Sequential(torch::nn::Linear(16, 32), torch::nn::Tanh(),
                               torch::nn::Linear(32, 32), torch::nn::Tanh(),
                               torch::nn::Linear(32, 32), torch::nn::Tanh(),
                               torch::nn::Linear(32, 8));
}

std::pair<at::Tensor, at::Tensor> make_batch(const std::string& kind, int step, int batch) {
  auto gen = at::detail::createCPUGenerator(1000 + step);
  if (kind == "cnn") {
    at::Tensor x = at::randn({batch, 1, 8, 8}, gen);
    at::Tensor y = at::randint(0, 10, {batch}, gen);
    return {x, y};
  }
  at::Tensor x = at::randn({batch, 16}, gen);
  at::Tensor y = at::randn({batch, 8}, gen);
  return {x, y};
}

at::Tensor loss_of(const std::string& kind, const at::Tensor& output, const at::Tensor& target) {
  if (kind == "cnn") return torch::nn::functional::cross_entropy(output, target);
  return torch::mse_loss(output, target);
}

namespace {
std::shared_ptr<torch::optim::Optimizer> make_optimizer(std::vector<at::Tensor> params) {
  return std::make_shared<torch::optim::SGD>(
      params, torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-3));
}
}  // namespace

RunResult train_reference(const TrainConfig& c) {
  RunResult r;
  auto model = make_model(c.model, 7);
  model->to(at::Device(c.device));
  auto opt = make_optimizer(model->parameters());
  for (int s = 0; s < c.steps; ++s) {
    auto [x, y] = make_batch(c.model, s, c.batch);
    x = x.to(at::Device(c.device));
    y = y.to(at::Device(c.device));
    opt->zero_grad();
    at::Tensor loss = loss_of(c.model, model->forward(x), y);
    loss.backward();
    opt->step();
    r.losses.push_back(loss.item<double>());
  }
  for (const auto& item : model->named_parameters())
    r.params.emplace_back(item.key(), item.value().detach().to(at::kCPU).clone());
  return r;
}

void init_for_test(const smp::Json& params, double timeout_s, std::optional<std::string> trace_dir) {
  at::set_num_threads(1);
  smp::InitOptions o;
  o.use_environment = false;
  o.recv_timeout_s = timeout_s;
  o.throw_on_timeout = false;
  o.trace_dir = trace_dir ? *trace_dir : std::string();
  smp::init(params, o);
}

RunResult train_smp(const TrainConfig& c) {
  init_for_test(mp_parameters(c), c.timeout_s, c.trace_dir);
  RunResult r;
  {
    auto module = make_model(c.model, 7);
    module->to(at::Device(c.device));
    smp::DistributedModel model(module);
    if (!c.auto_partition) {
      auto names = model.child_names();
      int n = static_cast<int>(names.size());
      for (int i = 0; i < n; ++i) model.set_partition(names[i], i * c.pp / n);
    }
    smp::DistributedOptimizer opt(make_optimizer(model.parameters()));
    const int dp = smp::dp_size(), dpr = smp::dp_rank();
    for (int s = 0; s < c.steps; ++s) {
      auto [x, y] = make_batch(c.model, s, c.batch);
      int64_t rows = c.batch / dp;
      x = x.narrow(0, dpr * rows, rows).to(at::Device(c.device));
      y = y.narrow(0, dpr * rows, rows).to(at::Device(c.device));
      opt.zero_grad();
      smp::StepResult out = smp::step(
          [&](const smp::Inputs& in) -> smp::Returns {
            at::Tensor loss = loss_of(c.model, model(in.tensor("x")), in.tensor("y"));
            model.backward(loss);
            return {loss};
          },
          smp::Inputs{{"x", x}, {"y", y}});
      opt.step();
      double local = out[0].reduce_mean().item<double>();
      double sum = 0;
      for (const auto& v : smp::allgather(c10::IValue(local), smp::DP_GROUP)) sum += v.toDouble();
      r.losses.push_back(sum / dp);
    }
    for (auto& [name, t] : model.state_dict().tensors) r.params.emplace_back(name, t.detach().to(at::kCPU).clone());
    r.partition = model.partition();
  }
  smp::shutdown(false);
  return r;
}

double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  double denom = std::max(b.norm().item<double>(), 1e-12);
  return (a - b).norm().item<double>() / denom;
}

int world_size_from_env() {
  const char* v = std::getenv("OMPI_COMM_WORLD_SIZE");
  return v ? std::atoi(v) : 1;
}

}  // namespace smptest
