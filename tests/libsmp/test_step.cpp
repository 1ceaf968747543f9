// smp::step on one rank: input splitting, StepOutput, gradient averaging, errors, and that the
// caller's grad mode reaches the step function's threads.
#include "catch_torch.h"

#include "harness.h"

using Catch::Matchers::ContainsSubstring;

namespace {
// SMP's MNIST example shape: a module whose two registered children run one after the other.
struct ConvBlockImpl : torch::nn::Module {
  ConvBlockImpl() { conv = register_module("conv", torch::nn::Conv2d(1, 2, 3)); }
  at::Tensor forward(const at::Tensor& x) { return torch::relu(conv(x)).flatten(1); }
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ConvBlock);
struct HeadImpl : torch::nn::Module {
  HeadImpl() { fc = register_module("fc", torch::nn::Linear(72, 3)); }
  at::Tensor forward(const at::Tensor& x) { return torch::log_softmax(fc(x), 1); }
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(Head);
struct GroupedNetImpl : torch::nn::Module {
  GroupedNetImpl() {
    net1 = register_module("net1", ConvBlock());
    net2 = register_module("net2", Head());
  }
  ConvBlock net1{nullptr};
  Head net2{nullptr};
};
TORCH_MODULE(GroupedNet);

struct Session {
  explicit Session(smp::Json params) { smptest::init_for_test(params); }
  ~Session() { smp::shutdown(false); }
};
}  // namespace

TEST_CASE("inputs are split on their batch axis; non-split inputs and scalars are shared", "[step]") {
  smp::StepOptions opts;
  opts.non_split_inputs = {"w"};
  opts.input_split_axes = {{"t", 1}};
  c10::List<at::Tensor> list({torch::arange(8), torch::arange(8) * 10});
  smp::Inputs in{{"x", torch::arange(8).view({8, 1})}, {"t", torch::arange(16).view({2, 8})},
                 {"w", torch::ones({3})}, {"k", int64_t{5}}, {"l", list}};
  auto parts = smp::split_inputs(in, 4, opts);
  REQUIRE(parts.size() == 4);
  CHECK(parts[2].microbatch() == 2);
  CHECK(parts[2].tensor("x").view(-1).equal(torch::tensor({4, 5})));
  CHECK(parts[1].tensor("t").sizes() == at::IntArrayRef({2, 2}));
  CHECK(parts[3].tensor("w").equal(torch::ones({3})));
  CHECK(parts[3]["k"].toInt() == 5);
  CHECK(parts[1]["l"].toTensorList().get(1).equal(torch::tensor({20, 30})));
  CHECK_THROWS_WITH(smp::split_inputs(smp::Inputs{{"x", torch::ones({6, 2})}}, 4, {}),
                    ContainsSubstring("microbatches=4 does not divide"));
  CHECK_THROWS_WITH(parts[0]["nope"], ContainsSubstring("'x', 't', 'w', 'k', 'l'"));
}

TEST_CASE("StepOutput reduces per-microbatch tensors and keeps other values", "[step]") {
  smp::StepOutput out({torch::tensor({1.0, 2.0}), torch::tensor({3.0, 6.0})});
  CHECK(out.reduce_mean().equal(torch::tensor({2.0, 4.0})));
  CHECK(out.reduce_sum().equal(torch::tensor({4.0, 8.0})));
  CHECK(out.concat().equal(torch::tensor({1.0, 2.0, 3.0, 6.0})));
  CHECK(out.stack().sizes() == at::IntArrayRef({2, 2}));
  smp::StepOutput numbers({c10::IValue(1.0), c10::IValue(2.0)});
  CHECK_FALSE(numbers.is_tensor());
  CHECK_THROWS_WITH(numbers.reduce_mean(), ContainsSubstring("not a tensor"));
}

TEST_CASE("one stage: microbatched gradients equal the whole-batch gradient", "[step]") {
  for (const char* pipeline : {"simple", "interleaved"})
    for (bool average : {true, false}) {
      INFO(pipeline << " average=" << average);
      Session s({{"partitions", 1}, {"microbatches", 4}, {"pipeline", pipeline}});
      auto seq = smptest::make_model("mlp", 3);
      auto ref = smptest::make_model("mlp", 3);
      smp::ModelOptions mo;
      mo.average_grads_across_microbatches = average;
      smp::DistributedModel model(seq, mo);
      auto [x, y] = smptest::make_batch("mlp", 0, 8);
      auto result = smp::step(
          [&](const smp::Inputs& in) -> smp::Returns {
            at::Tensor out = model(in.tensor("x"));
            at::Tensor loss = torch::mse_loss(out, in.tensor("y"));
            model.backward(loss);
            return {loss, out, c10::IValue(static_cast<double>(in.microbatch()))};
          },
          {{"x", x}, {"y", y}});
      REQUIRE(result.size() == 3);
      CHECK(result[1].concat().sizes() == at::IntArrayRef({8, 8}));
      CHECK(result[2][3].toDouble() == 3.0);
      CHECK_FALSE(result[0][0].toTensor().requires_grad());  // detached
      at::Tensor loss = torch::mse_loss(ref->forward(x), y);
      loss.backward();
      CHECK(std::abs(result[0].reduce_mean().item<double>() - loss.item<double>()) < 1e-6);
      auto got = model.local_parameters();
      auto want = ref->parameters();
      for (size_t i = 0; i < want.size(); ++i) {
        at::Tensor expected = average ? want[i].grad() : want[i].grad() * 4;
        CHECK(smptest::rel_diff(got[i].grad(), expected) < 1e-5);
      }
    }
}

TEST_CASE("the caller's grad mode reaches the step function's threads", "[step]") {
  Session s({{"partitions", 1}, {"microbatches", 4}, {"pipeline", "simple"}});
  smp::DistributedModel model(smptest::make_model("mlp", 3));
  torch::NoGradGuard no_grad;
  auto [x, y] = smptest::make_batch("mlp", 0, 8);
  auto result = smp::step(
      [&](const smp::Inputs& in) -> smp::Returns {
        at::Tensor out = model(in.tensor("x"));
        return {c10::IValue(at::GradMode::is_enabled()), c10::IValue(out.requires_grad())};
      },
      {{"x", x}});
  for (int i = 0; i < 4; ++i) {
    CHECK_FALSE(result[0][i].toBool());
    CHECK_FALSE(result[1][i].toBool());
  }
}

TEST_CASE("misuse inside and outside the step function is reported", "[step]") {
  Session s({{"partitions", 1}, {"microbatches", 2}});
  smp::DistributedModel model(smptest::make_model("mlp", 3));
  auto [x, y] = smptest::make_batch("mlp", 0, 4);
  CHECK_THROWS_WITH(model(x), ContainsSubstring("inside an smp::step function"));
  CHECK_THROWS_WITH(smp::DistributedModel(smptest::make_model("mlp", 3)),
                    ContainsSubstring("already exists"));
  CHECK_THROWS_WITH(smp::step(
                        [&](const smp::Inputs& in) -> smp::Returns {
                          smp::step([](const smp::Inputs&) { return smp::Returns{}; }, in);
                          return {};
                        },
                        {{"x", x}}),
                    ContainsSubstring("cannot be called from inside"));
  CHECK_THROWS_WITH(smp::step(
                        [&](const smp::Inputs& in) -> smp::Returns {
                          model(in.tensor("x"));
                          model(in.tensor("x"));
                          return {};
                        },
                        {{"x", x}}),
                    ContainsSubstring("called twice"));
  CHECK_THROWS_WITH(smp::step(
                        [&](const smp::Inputs& in) -> smp::Returns {
                          if (in.microbatch() == 0) return {c10::IValue(1.0)};
                          return {};
                        },
                        {{"x", x}}),
                    ContainsSubstring("return the same values every time"));
  smp::DistributedOptimizer opt(std::make_shared<torch::optim::SGD>(model.parameters(), 0.1));
  CHECK_THROWS_WITH(smp::step(
                        [&](const smp::Inputs&) -> smp::Returns {
                          opt.step();
                          return {};
                        },
                        {{"x", x}}),
                    ContainsSubstring("outside the smp::step function"));
}

TEST_CASE("a module with ordered children (not a Sequential) is wrapped by its children", "[step]") {
  Session s({{"partitions", 1}, {"microbatches", 2}});
  torch::manual_seed(5);
  GroupedNet net;
  smp::DistributedModel model(net, smp::children(net->net1, net->net2));
  CHECK(model.child_names() == std::vector<std::string>{"net1", "net2"});
  at::Tensor x = torch::randn({4, 1, 8, 8});
  at::Tensor y = torch::tensor({0, 1, 2, 1});
  auto out = smp::step(
      [&](const smp::Inputs& in) -> smp::Returns {
        at::Tensor loss = torch::nll_loss(model(in.tensor("x")), in.tensor("y"));
        model.backward(loss);
        return {loss};
      },
      {{"x", x}, {"y", y}});
  CHECK(out[0].size() == 2);
  auto named = model.local_named_parameters();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "net1.conv.weight");
  CHECK(named[3].first == "net2.fc.bias");
  for (auto& [name, p] : named) CHECK(p.grad().defined());
  torch::nn::Linear stranger(2, 2);
  CHECK_THROWS_WITH(smp::DistributedModel(net, smp::children(stranger)), ContainsSubstring("not a submodule"));
}
