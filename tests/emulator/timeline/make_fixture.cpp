// timeline_make_fixture: regenerates fixtures/traces/ from the pipeline simulator.
//   timeline_make_fixture <repo>/fixtures/traces
// The set mirrors the Fashion-MNIST sample's job (samples/fashion_mnist/job.json: one
// ml.p3.16xlarge, 8 processes, partitions 2, microbatches 4, interleaved, spread placement, ddp):
// pp 2 × dp 4 on algo-1, with send/recv latency, allreduce + optimizer, jitter, 3 steps.
#include <iostream>

#include "tests/emulator/timeline/pipeline_sim.h"

int main(int argc, char** argv) {
  using namespace smplocal::timeline::testing;
  if (argc != 2) {
    std::cerr << "usage: timeline_make_fixture <repo>/fixtures/traces\n";
    return 2;
  }
  SimConfig c;
  c.pp_size = 2;
  c.dp_size = 4;
  c.microbatches = 4;
  c.pipeline = "interleaved";
  c.placement = "spread";
  c.fwd_us = 1800;
  c.bwd_us = 3400;
  c.comm_us = 140;
  c.jitter = 0.12;
  c.seed = 20240531;
  c.steps = 3;
  c.allreduce_us = 900;
  c.optimizer_us = 350;
  c.step_gap_us = 2500;  // data loading between steps
  write_traces(c, std::filesystem::path(argv[1]) / "fashion-mnist-p2-dp4" / "ranks");
  std::cout << "wrote "
            << (std::filesystem::path(argv[1]) / "fashion-mnist-p2-dp4" / "ranks").string() << "\n";
  return 0;
}
