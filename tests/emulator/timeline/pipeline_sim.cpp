// The synthetic pipeline simulator behind the timeline tests and fixtures/traces.
#include "tests/emulator/timeline/pipeline_sim.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <tuple>

namespace smplocal::timeline::testing {
namespace {

using smp::core::Json;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Durations per op, from the cost model plus optional deterministic jitter.
struct Costs {
  std::vector<std::vector<double>> fwd, bwd;  // [stage][mb]
};

// SplitMix64: portable deterministic noise (std distributions differ across libraries).
struct Noise {
  std::uint64_t state;
  double next() {  // uniform in [-1, 1)
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) / static_cast<double>(1ull << 52) - 1.0;
  }
};

Costs make_costs(const SimConfig& c, Noise* noise) {
  Costs k;
  k.fwd.assign(c.pp_size, std::vector<double>(c.microbatches));
  k.bwd = k.fwd;
  for (int s = 0; s < c.pp_size; ++s) {
    const double scale = s < static_cast<int>(c.stage_scale.size()) ? c.stage_scale[s] : 1.0;
    for (int i = 0; i < c.microbatches; ++i) {
      const double jf = noise ? 1 + c.jitter * noise->next() : 1;
      const double jb = noise ? 1 + c.jitter * noise->next() : 1;
      k.fwd[s][i] = c.fwd_us * scale * jf;
      k.bwd[s][i] = c.bwd_us * scale * jb;
    }
  }
  return k;
}

std::vector<SimSpan> schedule(const SimConfig& c, const Costs& k) {
  const int p = c.pp_size, m = c.microbatches;
  const int active = c.active_microbatches > 0 ? c.active_microbatches : m;
  if (p < 1 || m < 1)
    throw std::invalid_argument("pipeline_sim: pp_size and microbatches must be >= 1");
  // ready[s][i]: when the op's input arrived (kInf: not yet known).
  std::vector<std::vector<double>> f_ready(p, std::vector<double>(m, kInf)), b_ready = f_ready;
  std::vector<std::vector<bool>> f_done(p, std::vector<bool>(m, false)), b_done = f_done;
  for (int i = 0; i < m; ++i) f_ready[0][i] = 0;
  std::vector<double> free_at(p, 0);
  std::vector<int> forwards_done(p, 0), in_flight(p, 0);
  std::vector<SimSpan> out;
  const int total = 2 * p * m;

  for (int scheduled = 0; scheduled < total; ++scheduled) {
    // The stage that can start an op earliest decides next: every op finishing before that time
    // is already scheduled, so the ready sets it sees are final.
    int best_stage = -1;
    double best_time = kInf;
    for (int s = 0; s < p; ++s) {
      double earliest = kInf;
      for (int i = 0; i < m; ++i) {
        if (!f_done[s][i] && in_flight[s] < active) earliest = std::min(earliest, f_ready[s][i]);
        const bool b_allowed = c.pipeline != "simple" || forwards_done[s] == m;
        if (!b_done[s][i] && b_allowed) earliest = std::min(earliest, b_ready[s][i]);
      }
      const double t = std::max(free_at[s], earliest);
      if (t < best_time) best_time = t, best_stage = s;
    }
    if (best_stage < 0)
      throw std::logic_error("pipeline_sim: schedule deadlocked (active_microbatches too small?)");
    const int s = best_stage;
    const double t = best_time;
    // Pick by the schedule's priority among ops ready at t.
    int pick = -1;
    bool pick_fwd = true;
    const bool b_allowed = c.pipeline != "simple" || forwards_done[s] == m;
    auto try_b = [&] {
      for (int i = 0; i < m && pick < 0; ++i)
        if (!b_done[s][i] && b_allowed && b_ready[s][i] <= t) pick = i, pick_fwd = false;
    };
    auto try_f = [&] {
      for (int i = 0; i < m && pick < 0; ++i)
        if (!f_done[s][i] && in_flight[s] < active && f_ready[s][i] <= t) pick = i, pick_fwd = true;
    };
    if (c.pipeline == "simple")
      try_f(), try_b();
    else
      try_b(), try_f();

    const int i = pick;
    const double dur = pick_fwd ? k.fwd[s][i] : k.bwd[s][i];
    out.push_back(SimSpan{s, i, pick_fwd, t, t + dur});
    free_at[s] = t + dur;
    if (pick_fwd) {
      f_done[s][i] = true;
      ++forwards_done[s];
      ++in_flight[s];
      if (s + 1 < p)
        f_ready[s + 1][i] = t + dur + c.comm_us;
      else
        b_ready[s][i] = t + dur;
    } else {
      b_done[s][i] = true;
      --in_flight[s];
      if (s > 0) b_ready[s - 1][i] = t + dur + c.comm_us;
    }
  }
  std::sort(out.begin(), out.end(), [](const SimSpan& a, const SimSpan& b) {
    return std::tie(a.start, a.stage) < std::tie(b.start, b.stage);
  });
  return out;
}

int rank_of(const SimConfig& c, int pp, int dp) {
  return c.placement == "spread" ? pp * c.dp_size + dp : dp * c.pp_size + pp;
}

Json span(const std::string& name, const std::string& cat, double ts, double dur, int rank, int tid,
          Json args) {
  return Json{{"name", name}, {"cat", cat},  {"ph", "X"},  {"ts", ts},
              {"dur", dur},   {"pid", rank}, {"tid", tid}, {"args", std::move(args)}};
}

}  // namespace

std::vector<SimSpan> simulate_step(const SimConfig& config) {
  return schedule(config, make_costs(config, nullptr));
}

std::vector<Json> simulate_traces(const SimConfig& c) {
  const int world = c.pp_size * c.dp_size;
  const int per_host = c.ranks_per_host > 0 ? c.ranks_per_host : world;
  std::vector<Json> docs(world);
  std::vector<Json> events(world, Json::array());
  for (int dp = 0; dp < c.dp_size; ++dp)
    for (int pp = 0; pp < c.pp_size; ++pp) {
      const int r = rank_of(c, pp, dp);
      docs[r]["displayTimeUnit"] = "ms";
      docs[r]["metadata"] =
          Json{{"format", "libsmp-trace/1"},
               {"rank", r},
               {"world_size", world},
               {"host", "algo-" + std::to_string(r / per_host + 1)},
               {"local_rank", r % per_host},
               {"pp_rank", pp},
               {"pp_size", c.pp_size},
               {"dp_rank", dp},
               {"dp_size", c.dp_size},
               {"tp_rank", 0},
               {"rdp_rank", dp},
               {"microbatches", c.microbatches},
               {"active_microbatches",
                c.active_microbatches > 0 ? c.active_microbatches : c.microbatches},
               {"pipeline", c.pipeline},
               {"clock", "unix_us"}};
    }

  Noise noise{c.seed};
  double step_start = c.t0_us;
  for (int step = 0; step < c.steps; ++step) {
    double next_start = step_start;
    for (int dp = 0; dp < c.dp_size; ++dp) {
      const Costs costs = make_costs(c, c.jitter > 0 ? &noise : nullptr);
      const std::vector<SimSpan> spans = schedule(c, costs);
      std::vector<double> rank_end(c.pp_size, 0);
      for (const SimSpan& sp : spans) {
        const int r = rank_of(c, sp.stage, dp);
        const std::string mb = std::to_string(sp.microbatch);
        events[r].push_back(
            span((sp.forward ? "F" : "B") + mb, sp.forward ? "forward" : "backward",
                 step_start + sp.start, sp.end - sp.start, r, 0,
                 Json{{"step", step}, {"stage", sp.stage}, {"microbatch", sp.microbatch}}));
        rank_end[sp.stage] = std::max(rank_end[sp.stage], sp.end);
        // Activations go down the pipeline after a forward, gradients up after a backward.
        const int peer_stage = sp.forward ? sp.stage + 1 : sp.stage - 1;
        if (c.comm_us > 0 && peer_stage >= 0 && peer_stage < c.pp_size) {
          const int peer = rank_of(c, peer_stage, dp);
          const std::string what = sp.forward ? "act" : "grad";
          Json args{{"step", step},
                    {"stage", sp.stage},
                    {"microbatch", sp.microbatch},
                    {"peer", peer},
                    {"bytes", 65536}};
          events[r].push_back(span("send " + what + " mb" + mb + " -> " + std::to_string(peer),
                                   "send", step_start + sp.end, c.comm_us, r, 1, args));
          args["stage"] = peer_stage;
          args["peer"] = r;
          events[peer].push_back(span("recv " + what + " mb" + mb + " <- " + std::to_string(r),
                                      "recv", step_start + sp.end, c.comm_us, peer, 1, args));
          // Both ends are busy with the transfer until it completes; the step call covers it.
          rank_end[sp.stage] = std::max(rank_end[sp.stage], sp.end + c.comm_us);
          rank_end[peer_stage] = std::max(rank_end[peer_stage], sp.end + c.comm_us);
        }
      }
      for (int pp = 0; pp < c.pp_size; ++pp) {
        const int r = rank_of(c, pp, dp);
        double t = step_start + rank_end[pp];
        if (c.step_spans)
          events[r].push_back(span("step " + std::to_string(step), "step", step_start, rank_end[pp],
                                   r, 0, Json{{"step", step}}));
        if (c.allreduce_us > 0) {
          events[r].push_back(
              span("allreduce", "allreduce", t, c.allreduce_us, r, 1,
                   Json{{"step", step}, {"bytes", 1048576}, {"group", "DP_GROUP"}}));
          t += c.allreduce_us;
        }
        if (c.optimizer_us > 0) {
          events[r].push_back(
              span("optimizer", "optimizer", t, c.optimizer_us, r, 0, Json{{"step", step}}));
          t += c.optimizer_us;
        }
        next_start = std::max(next_start, t);
      }
    }
    step_start = next_start + c.step_gap_us;
  }

  for (int r = 0; r < world; ++r) {
    // File order as a writer that appends at span end would produce: by end time.
    std::stable_sort(events[r].begin(), events[r].end(), [](const Json& a, const Json& b) {
      return a["ts"].get<double>() + a["dur"].get<double>() <
             b["ts"].get<double>() + b["dur"].get<double>();
    });
    docs[r]["traceEvents"] = std::move(events[r]);
  }
  return docs;
}

void write_traces(const SimConfig& config, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto docs = simulate_traces(config);
  for (std::size_t r = 0; r < docs.size(); ++r) {
    std::ofstream f(dir / ("trace-rank" + std::to_string(r) + ".json"), std::ios::trunc);
    f << docs[r].dump(1) << "\n";
    if (!f) throw std::runtime_error("pipeline_sim: cannot write " + dir.string());
  }
}

}  // namespace smplocal::timeline::testing
