// smp::step with a pipeline, as SMP runs it: the step function runs on pipeline stage 0 only
// (once per microbatch; rank 0 also traces it once for auto-partitioning), what it returns reaches
// every rank of the pipeline, stages without children pass activations on, and an exception in
// the step function fails the step on every stage with its message.
#include "catch_torch.h"

#include "harness.h"

using Catch::Matchers::ContainsSubstring;

namespace {

struct Session {
  explicit Session(smp::Json params) { smptest::init_for_test(params, 30); }
  ~Session() { smp::shutdown(false); }
};

std::vector<int64_t> gather_ints(int64_t value) {
  std::vector<int64_t> out;
  for (const auto& v : smp::allgather(c10::IValue(value), smp::PP_GROUP)) out.push_back(v.toInt());
  return out;
}

}  // namespace

TEST_CASE("the step function runs on stage 0 only and its results reach every stage", "[pipeline-step]") {
  const int pp = smptest::world_size_from_env();
  Session s({{"partitions", pp}, {"microbatches", 4}, {"pipeline", "interleaved"},
             {"auto_partition", true}});
  auto seq = smptest::make_model("mlp", 11);
  auto ref = smptest::make_model("mlp", 11);
  smp::DistributedModel model(seq);
  auto [x, y] = smptest::make_batch("mlp", 0, 8);
  int64_t calls = 0, traced = 0;
  auto result = smp::step(
      [&](const smp::Inputs& in) -> smp::Returns {
        if (smp::is_tracing()) ++traced;
        else ++calls;
        at::Tensor out = model(in.tensor("x"));
        at::Tensor loss = torch::mse_loss(out, in.tensor("y"));
        model.backward(loss);
        c10::Dict<std::string, at::Tensor> named;
        named.insert("out", out);
        return {loss, c10::ivalue::Tuple::create({int64_t{in.microbatch()}, std::string("mb")}),
                named, c10::IValue(smp::pp_rank())};
      },
      {{"x", x}, {"y", y}});

  const auto all_calls = gather_ints(calls), all_traced = gather_ints(traced);
  CHECK(all_calls[0] == 4);
  for (int r = 1; r < pp; ++r) {
    CHECK(all_calls[r] == 0);
    CHECK(all_traced[r] == 0);
  }
  if (smp::rank() == 0) CHECK(traced == 1);  // auto-partitioning traced the function once

  // Every rank holds stage 0's values.
  REQUIRE(result.size() == 4);
  at::Tensor want_out = ref->forward(x);
  at::Tensor want_loss = torch::mse_loss(want_out, y);
  CHECK(std::abs(result[0].reduce_mean().item<double>() - want_loss.item<double>()) < 1e-6);
  for (int i = 0; i < 4; ++i) {
    const auto& tuple = result[1][i].toTupleRef().elements();
    CHECK(tuple[0].toInt() == i);
    CHECK(tuple[1].toStringRef() == "mb");
    CHECK(result[3][i].toInt() == 0);
  }
  std::vector<at::Tensor> outs;
  for (int i = 0; i < 4; ++i) outs.push_back(result[2][i].toGenericDict().at("out").toTensor());
  CHECK(smptest::rel_diff(at::cat(outs), want_out) < 1e-5);
  CHECK_FALSE(outs[0].requires_grad());
}

TEST_CASE("stages without children pass the activations on", "[pipeline-step]") {
  const int pp = smptest::world_size_from_env();
  Session s({{"partitions", pp}, {"microbatches", 2}, {"auto_partition", false}});
  auto seq = smptest::make_model("mlp", 5);
  auto ref = smptest::make_model("mlp", 5);
  smp::DistributedModel model(seq);
  // The first child on stage 0, the rest on the last stage; the stages between hold nothing.
  auto names = model.child_names();
  for (size_t i = 1; i < names.size(); ++i) model.set_partition(names[i], pp - 1);
  auto [x, y] = smptest::make_batch("mlp", 1, 4);
  auto result = smp::step(
      [&](const smp::Inputs& in) -> smp::Returns {
        at::Tensor loss = torch::mse_loss(model(in.tensor("x")), in.tensor("y"));
        model.backward(loss);
        return {loss};
      },
      {{"x", x}, {"y", y}});
  at::Tensor loss = torch::mse_loss(ref->forward(x), y);
  loss.backward();
  CHECK(std::abs(result[0].reduce_mean().item<double>() - loss.item<double>()) < 1e-6);
  auto state = model.state_dict();  // collective
  auto want = ref->named_parameters();
  for (const auto& [name, p] : model.local_named_parameters()) {
    INFO(name);
    CHECK(smptest::rel_diff(p.grad(), want[name].grad()) < 1e-5);
  }
  if (smp::pp_rank() != 0 && smp::pp_rank() != pp - 1) CHECK(model.local_parameters().empty());
}

TEST_CASE("an exception in the step function fails the step on every stage", "[pipeline-step]") {
  const int pp = smptest::world_size_from_env();
  Session s({{"partitions", pp}, {"microbatches", 2}, {"auto_partition", false}});
  smp::DistributedModel model(smptest::make_model("mlp", 5));
  auto names = model.child_names();
  for (size_t i = 0; i < names.size(); ++i) model.set_partition(names[i], static_cast<int>(i * pp / names.size()));
  auto [x, y] = smptest::make_batch("mlp", 1, 4);
  CHECK_THROWS_WITH(smp::step(
                        [&](const smp::Inputs& in) -> smp::Returns {
                          at::Tensor out = model(in.tensor("x"));
                          if (in.microbatch() == 1) throw std::runtime_error("the loss went wrong");
                          model.backward(out.sum());
                          return {};
                        },
                        {{"x", x}}),
                    ContainsSubstring("the loss went wrong"));
}
