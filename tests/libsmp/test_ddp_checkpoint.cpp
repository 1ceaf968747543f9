// Hybrid data parallelism and checkpoints under mpirun: DP replicas hold identical parameters
// after every optimizer step; a run resumed from a checkpoint (partial or full) continues with
// exactly the losses of the uninterrupted run.
#include "catch_torch.h"

#include <mpi.h>

#include <filesystem>
#include <map>

#include "harness.h"

namespace {

std::shared_ptr<torch::optim::Optimizer> adam(std::vector<at::Tensor> params) {
  return std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(1e-2));
}

struct Trainer {
  smp::DistributedModel model;
  smp::DistributedOptimizer opt;
  explicit Trainer(uint64_t seed) : model(smptest::make_model("mlp", seed)), opt(adam(model.parameters())) {
    if (!smp::mp_parameters().at("auto_partition").get<bool>()) {
      auto names = model.child_names();
      for (size_t i = 0; i < names.size(); ++i)
        model.set_partition(names[i], static_cast<int>(i * smp::pp_size() / names.size()));
    }
  }
  double step(int s) {
    auto [x, y] = smptest::make_batch("mlp", s, 16);
    int64_t rows = 16 / smp::dp_size();
    x = x.narrow(0, smp::dp_rank() * rows, rows);
    y = y.narrow(0, smp::dp_rank() * rows, rows);
    opt.zero_grad();
    auto out = smp::step(
        [&](const smp::Inputs& in) -> smp::Returns {
          at::Tensor loss = torch::mse_loss(model(in.tensor("x")), in.tensor("y"));
          model.backward(loss);
          return {loss};
        },
        {{"x", x}, {"y", y}});
    opt.step();
    return out[0].reduce_mean().item<double>();
  }
};

smp::Json params_for(int world, bool auto_partition) {
  int pp = world >= 2 ? 2 : 1;
  return {{"partitions", pp}, {"microbatches", 4}, {"ddp", world / pp > 1},
          {"auto_partition", auto_partition}, {"default_partition", 0}, {"pipeline", "interleaved"}};
}

}  // namespace

TEST_CASE("data-parallel replicas are identical after every step", "[ddp]") {
  const int world = smptest::world_size_from_env();
  smptest::init_for_test(params_for(world, false));
  if (smp::dp_size() < 2) {
    smp::shutdown(false);
    SKIP("needs a data-parallel degree of 2 or more");
  }
  {
    Trainer t(11);
    for (int s = 0; s < 4; ++s) {
      t.step(s);
      // Every replica's stage parameters, bit for bit.
      std::vector<at::Tensor> mine;
      for (auto& p : t.model.local_parameters()) mine.push_back(p.detach().reshape(-1));
      at::Tensor flat = torch::cat(mine);
      auto all = smp::allgather(c10::IValue(flat), smp::DP_GROUP);
      for (const auto& other : all) CHECK(other.toTensor().equal(flat));
      // Gradients too (they were averaged).
      std::vector<at::Tensor> grads;
      for (auto& p : t.model.local_parameters()) grads.push_back(p.grad().reshape(-1));
      auto all_grads = smp::allgather(c10::IValue(torch::cat(grads)), smp::DP_GROUP);
      for (const auto& other : all_grads) CHECK(other.toTensor().equal(torch::cat(grads)));
    }
  }
  smp::shutdown(false);
}

TEST_CASE("gradients accumulated over steps without zero_grad stay averaged over replicas", "[ddp]") {
  const int world = smptest::world_size_from_env();
  smptest::init_for_test(params_for(world, false));
  {
    Trainer t(31);
    auto ref = smptest::make_model("mlp", 31);
    for (int s = 0; s < 2; ++s) {
      auto [x, y] = smptest::make_batch("mlp", s, 16);
      torch::mse_loss(ref->forward(x), y).backward();  // accumulates, like the steps below
      int64_t rows = 16 / smp::dp_size();
      x = x.narrow(0, smp::dp_rank() * rows, rows);
      y = y.narrow(0, smp::dp_rank() * rows, rows);
      smp::step(
          [&](const smp::Inputs& in) -> smp::Returns {
            t.model.backward(torch::mse_loss(t.model(in.tensor("x")), in.tensor("y")));
            return {};
          },
          {{"x", x}, {"y", y}});
    }
    std::map<std::string, at::Tensor> want;
    for (const auto& item : ref->named_parameters()) want[item.key()] = item.value().grad();
    for (auto& [name, p] : t.model.local_named_parameters()) {
      INFO(name);
      CHECK(smptest::rel_diff(p.grad(), want.at(name)) < 1e-5);
    }
  }
  smp::shutdown(false);
}

TEST_CASE("resuming from a checkpoint reproduces the uninterrupted run", "[checkpoint]") {
  const int world = smptest::world_size_from_env();
  for (bool partial : {true, false})
    for (bool auto_partition : {false, true}) {
      if (!partial && auto_partition) continue;
      INFO("partial=" << partial << " auto_partition=" << auto_partition);
      std::string dir = std::string(SMP_BINARY_DIR) + "/test-checkpoints/np" + std::to_string(world) +
                        (partial ? "-partial" : "-full") + (auto_partition ? "-auto" : "");
      smptest::init_for_test(params_for(world, auto_partition));
      if (smp::rank() == 0) std::filesystem::remove_all(dir);
      smp::barrier();
      std::vector<double> uninterrupted;
      {
        Trainer t(21);
        for (int s = 0; s < 6; ++s) {
          uninterrupted.push_back(t.step(s));
          if (s == 2) {
            c10::impl::GenericDict user(c10::StringType::get(), c10::AnyType::get());
            user.insert("next_step", int64_t{3});
            smp::save_checkpoint(dir, "step3", partial, &t.model, &t.opt, user, 2);
          }
        }
      }
      CHECK(std::filesystem::exists(dir + "/newest"));
      if (partial) {
        CHECK(std::filesystem::exists(smp::partial_checkpoint_dir(dir, "step3") + "/" +
                                      smp::partial_model_file(smp::pp_rank(), 0)));
        CHECK(std::filesystem::exists(smp::partial_checkpoint_dir(dir, "step3") + "/user_content.pt"));
      } else {
        CHECK(std::filesystem::exists(dir + "/step3"));
        CHECK(std::filesystem::exists(dir + "/user_content_step3"));
      }
      {
        Trainer t(99);  // different initial weights: the checkpoint must override them
        c10::IValue user = smp::resume_from_checkpoint(dir, "", partial);
        int64_t next = user.toGenericDict().at("next_step").toInt();
        CHECK(next == 3);
        for (int s = static_cast<int>(next); s < 6; ++s) {
          double loss = t.step(s);
          INFO("step " << s);
          if (partial) CHECK(loss == uninterrupted[s]);  // bit for bit
          else if (s == next) CHECK(std::abs(loss - uninterrupted[s]) <= 1e-6 * std::abs(uninterrupted[s]));
        }
      }
      smp::shutdown(false);
    }
}

TEST_CASE("smp::save / smp::load write one file per mp_rank", "[checkpoint]") {
  const int world = smptest::world_size_from_env();
  smptest::init_for_test(params_for(world, false));
  std::string path = std::string(SMP_BINARY_DIR) + "/test-checkpoints/obj-np" + std::to_string(world) + ".pt";
  if (smp::dp_rank() == 0) smp::save(c10::IValue(int64_t{smp::mp_rank() * 10}), path, true);
  if (smp::rank() == 0) smp::save(c10::IValue(std::string("full")), path, false);
  smp::barrier();
  CHECK(std::filesystem::exists(path + "_" + std::to_string(smp::mp_rank())));
  CHECK(smp::load(path, true).toInt() == smp::mp_rank() * 10);
  CHECK(smp::load(path, false).toStringRef() == "full");
  smp::shutdown(false);
}
