#include "libsmp/core/config.h"

#include <algorithm>
#include <set>

#include "libsmp/core/pyjson.h"
#include "libsmp/core/topology.h"

namespace smp::core {
namespace {

// Python's `isinstance(v, int)`: bools are ints too.
bool py_is_int(const Json& v) { return v.is_number_integer() || v.is_boolean(); }

double py_number(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return v.get<double>();
}

// Python's `v in [True, False]` (== comparison: 1, 0, 1.0 and 0.0 are members too).
bool py_in_bools(const Json& v) {
  if (v.is_boolean()) return true;
  if (v.is_number()) {
    double d = v.get<double>();
    return d == 0 || d == 1;
  }
  return false;
}

std::string list_repr(const std::vector<std::string>& vals) {
  Json arr = Json::array();
  for (const auto& v : vals) arr.push_back(v);
  return py_repr(arr);
}

const std::set<std::string>& documented_keys() {
  static const std::set<std::string> keys = {
      "partitions", "pipeline_parallel_degree", "microbatches", "pipeline", "optimize",
      "placement_strategy", "auto_partition", "default_partition", "tensor_parallel_degree",
      "fp16_params", "fp16", "bf16", "shard_optimizer_state", "prescaled_batch", "skip_tracing",
      "memory_weight", "ddp", "active_microbatches", "deterministic_server",
      "offload_activations", "activation_loading_horizon", "sharded_data_parallel_degree",
      "sdp_reduce_bucket_size", "sdp_param_persistence_threshold", "sdp_max_live_parameters",
      "sdp_hierarchical_allgather", "sdp_gradient_clipping", "ddp_port", "ddp_dist_backend",
      "horovod", "contiguous", "partition_file", "load_partition",
      "delayed_parameter_initialization", "static_mode", "fast_mode", "predefined_hooks",
      "placement"};
  return keys;
}

struct Reader {
  const Json& params;
  const std::string& field;
  Problems& problems;

  std::string at(const std::string& key) const { return field + "." + key; }

  void error(const std::string& key, std::string message, std::string fix) {
    problems.push_back({at(key), std::move(message), std::move(fix), Severity::kError});
  }

  void read_int(const std::string& key, int& out, int min) {
    if (!params.contains(key)) return;
    const Json& v = params.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > 1 << 20) {
      error(key, key + " must be an integer >= " + std::to_string(min) + ", got " + v.dump() + ".",
            "Set \"" + key + "\" to a whole number such as " + std::to_string(std::max(min, 1)) + ".");
      return;
    }
    out = static_cast<int>(v.get<int64_t>());
  }

  void read_bool(const std::string& key, bool& out) {
    if (!params.contains(key)) return;
    const Json& v = params.at(key);
    if (!v.is_boolean()) {
      error(key, key + " must be true or false, got " + v.dump() + ".", "");
      return;
    }
    out = v.get<bool>();
  }

  bool read_choice(const std::string& key, std::string& out, const std::vector<std::string>& vals) {
    if (!params.contains(key)) return false;
    const Json& v = params.at(key);
    if (!v.is_string() || std::find(vals.begin(), vals.end(), v.get<std::string>()) == vals.end()) {
      error(key, key + " must be one of " + list_repr(vals) + ", got " + v.dump() + ".", "");
      return false;
    }
    out = v.get<std::string>();
    return true;
  }
};

}  // namespace

std::string to_string(PipelineSchedule schedule) {
  switch (schedule) {
    case PipelineSchedule::kSimple: return "simple";
    case PipelineSchedule::kInterleaved: return "interleaved";
    case PipelineSchedule::kOnlyForward: return "_only_forward";
  }
  return "interleaved";
}

std::string Config::placement_letters() const { return Topology::letters_for(placement_strategy); }

Problems sdk_validate_mp_parameters(const Json& config, const std::string& field) {
  Problems out;
  auto fail = [&](const std::string& key, std::string message) {
    out.push_back({key.empty() ? field : field + "." + key, std::move(message), "",
                   Severity::kError});
  };
  if (!config.is_object()) {
    fail("", "Expected a string path to an existing modelparallel config, or a dictionary. "
             "Received: " + py_str(config) + ".");
    return out;
  }
  auto validate_in = [&](const std::string& key, const std::vector<std::string>& vals) {
    if (!config.contains(key)) return;
    const Json& v = config.at(key);
    bool ok = v.is_string() &&
              std::find(vals.begin(), vals.end(), v.get<std::string>()) != vals.end();
    if (!ok) fail(key, key + " must be a value in: " + list_repr(vals) + ".");
  };
  validate_in("pipeline", {"simple", "interleaved", "_only_forward"});
  validate_in("placement_strategy", {"spread", "cluster"});
  validate_in("optimize", {"speed", "memory"});
  for (const char* key : {"microbatches", "partitions", "active_microbatches"}) {
    if (!config.contains(key)) continue;
    const Json& v = config.at(key);
    if (!py_is_int(v) || py_number(v) < 1)
      fail(key, std::string("The number of ") + key + " must be a positive integer.");
  }
  for (const char* key : {"auto_partition", "contiguous", "load_partition", "horovod", "ddp",
                          "deterministic_server"}) {
    if (config.contains(key) && !py_in_bools(config.at(key)))
      fail(key, std::string(key) + " must be a value in: [True, False].");
  }
  if (config.contains("partition_file") && !config.at("partition_file").is_string())
    fail("partition_file", "'partition_file' must be a str.");
  bool auto_partition_false =
      config.contains("auto_partition") && config.at("auto_partition").is_boolean() &&
      !config.at("auto_partition").get<bool>();
  if (auto_partition_false && !config.contains("default_partition"))
    fail("default_partition", "default_partition must be supplied if auto_partition is set to False!");
  if (config.contains("default_partition")) {
    if (!config.contains("partitions")) {
      // The SDK indexes config["partitions"] here and crashes with a KeyError.
      fail("partitions", "KeyError: 'partitions' (the SDK compares default_partition with "
                         "partitions; add \"partitions\" next to default_partition)");
    } else if (config.at("default_partition").is_number() && config.at("partitions").is_number() &&
               py_number(config.at("default_partition")) >= py_number(config.at("partitions"))) {
      fail("default_partition", "default_partition must be less than the number of partitions!");
    }
  }
  if (config.contains("memory_weight") && config.at("memory_weight").is_number()) {
    double w = py_number(config.at("memory_weight"));
    if (w > 1.0 || w < 0.0) fail("memory_weight", "memory_weight must be between 0.0 and 1.0!");
  }
  if (config.contains("ddp_port") && !config.contains("ddp"))
    fail("ddp_port", "`ddp_port` needs `ddp` to be set as well");
  if (config.contains("ddp_dist_backend") && !config.contains("ddp"))
    fail("ddp_dist_backend", "`ddp_dist_backend` needs `ddp` to be set as well");
  if (config.contains("ddp_port")) {
    const Json& v = config.at("ddp_port");
    if (!py_is_int(v) || py_number(v) < 0)
      fail("ddp_port", "Invalid port number " + py_str(v) + ".");
  }
  bool horovod = config.contains("horovod") && py_truthy(config.at("horovod"));
  bool ddp = config.contains("ddp") && py_truthy(config.at("ddp"));
  if (horovod && ddp) fail("ddp", "'ddp' and 'horovod' cannot be simultaneously enabled.");
  return out;
}

Config parse_config(const Json& params, const std::string& field, Problems& problems) {
  Config c;
  if (!params.is_object()) {
    problems.push_back({field, "mp_parameters must be a JSON object, got " + params.dump() + ".",
                        "Pass the modelparallel \"parameters\" as a dictionary.", Severity::kError});
    return c;
  }
  c.raw = params;
  Reader r{params, field, problems};

  int partitions = 0, ppd = 0;
  r.read_int("partitions", partitions, 1);
  r.read_int("pipeline_parallel_degree", ppd, 1);
  if (partitions && ppd && partitions != ppd) {
    r.error("pipeline_parallel_degree",
            "partitions (" + std::to_string(partitions) + ") and pipeline_parallel_degree (" +
                std::to_string(ppd) + ") disagree.",
            "Give only one of them.");
  }
  if (!params.contains("partitions") && !params.contains("pipeline_parallel_degree")) {
    r.error("partitions", "The number of pipeline partitions is missing: SMP requires "
                          "\"partitions\" (or \"pipeline_parallel_degree\").",
            "Add \"partitions\": 1 (no pipelining) or the number of pipeline stages.");
  }
  c.pipeline_parallel_degree = std::max({1, partitions, ppd});
  r.read_int("tensor_parallel_degree", c.tensor_parallel_degree, 1);
  r.read_int("microbatches", c.microbatches, 1);

  std::string pipeline;
  if (r.read_choice("pipeline", pipeline, {"simple", "interleaved", "_only_forward"}))
    c.pipeline = pipeline == "simple"        ? PipelineSchedule::kSimple
                 : pipeline == "interleaved" ? PipelineSchedule::kInterleaved
                                             : PipelineSchedule::kOnlyForward;
  r.read_choice("optimize", c.optimize, {"speed", "memory"});
  c.memory_weight = c.optimize == "speed" ? 0.2 : 0.8;
  if (params.contains("placement_strategy")) {
    const Json& v = params.at("placement_strategy");
    try {
      if (!v.is_string()) throw std::invalid_argument("not a string");
      Topology::letters_for(v.get<std::string>());
      c.placement_strategy = v.get<std::string>();
    } catch (const std::exception&) {
      r.error("placement_strategy",
              "placement_strategy must be \"cluster\", \"spread\" or a permutation of \"DPT\", "
              "got " + v.dump() + ".",
              "Use \"cluster\" (= \"DPT\") or \"spread\" (= \"TPD\").");
    }
  }
  r.read_bool("auto_partition", c.auto_partition);
  r.read_int("default_partition", c.default_partition, 0);
  if (params.contains("memory_weight")) {
    const Json& v = params.at("memory_weight");
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
      r.error("memory_weight", "memory_weight must be a number in [0, 1], got " + v.dump() + ".", "");
    else
      c.memory_weight = v.get<double>();
  }
  r.read_bool("ddp", c.ddp);
  c.active_microbatches = c.pipeline_parallel_degree + 2;
  r.read_int("active_microbatches", c.active_microbatches, 1);
  r.read_bool("deterministic_server", c.deterministic_server);

  if (c.default_partition >= c.pipeline_parallel_degree) {
    r.error("default_partition",
            "default_partition (" + std::to_string(c.default_partition) +
                ") must be less than the number of partitions (" +
                std::to_string(c.pipeline_parallel_degree) + ").",
            "Use a partition index from 0 to " + std::to_string(c.pipeline_parallel_degree - 1) + ".");
  }
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (!documented_keys().count(it.key()))
      problems.push_back({r.at(it.key()), "\"" + it.key() + "\" is not a documented SMP v1 parameter; "
                          "it is passed through unchanged.", "Check its spelling.", Severity::kWarning});
  }
  return c;
}

Problems check_world(const Config& c, int world_size, const std::string& field) {
  Problems out;
  int mp = c.pipeline_parallel_degree * c.tensor_parallel_degree;
  if (world_size % mp != 0) {
    out.push_back(
        {field + ".partitions",
         "pipeline_parallel_degree × tensor_parallel_degree = " +
             std::to_string(c.pipeline_parallel_degree) + " × " +
             std::to_string(c.tensor_parallel_degree) + " = " + std::to_string(mp) +
             " does not divide the number of processes (" + std::to_string(world_size) + ").",
         "Make processes_per_host × instance_count a multiple of " + std::to_string(mp) + ".",
         Severity::kError});
    return out;
  }
  if (c.tensor_parallel_degree > 1 && !c.ddp)
    out.push_back({field + ".ddp",
                   "tensor_parallel_degree > 1 requires ddp to be True (SMP docs).",
                   "Add \"ddp\": true.", Severity::kError});
  int dp = world_size / mp;
  if (dp > 1 && !c.ddp)
    out.push_back({field + ".ddp",
                   std::to_string(world_size) + " processes with " + std::to_string(mp) +
                       " per model replica give " + std::to_string(dp) +
                       " data-parallel replicas, but ddp is not enabled: SMP needs ddp for hybrid "
                       "model/data parallelism and the replicas would silently diverge.",
                   "Add \"ddp\": true, or make processes_per_host × instance_count equal to " +
                       std::to_string(mp) + ".",
                   Severity::kError});
  return out;
}

Problems libsmp_unsupported(const Config& c, const std::string& field) {
  Problems out;
  auto warn = [&](const std::string& key, const std::string& what) {
    out.push_back({field + "." + key,
                   "libsmp does not implement " + what + "; a job that calls libsmp's smp::init "
                   "with this setting stops with an error.",
                   "", Severity::kWarning});
  };
  if (c.tensor_parallel_degree > 1) warn("tensor_parallel_degree", "tensor parallelism");
  if (c.pipeline == PipelineSchedule::kOnlyForward) warn("pipeline", "the \"_only_forward\" schedule");
  auto truthy = [&](const char* key) { return c.raw.contains(key) && py_truthy(c.raw.at(key)); };
  for (const char* key : {"fp16", "fp16_params", "bf16", "shard_optimizer_state",
                          "offload_activations", "horovod", "prescaled_batch"})
    if (truthy(key)) warn(key, std::string("\"") + key + "\"");
  if (c.raw.contains("sharded_data_parallel_degree") &&
      c.raw.at("sharded_data_parallel_degree").is_number() &&
      c.raw.at("sharded_data_parallel_degree").get<double>() > 1)
    warn("sharded_data_parallel_degree", "sharded data parallelism");
  return out;
}

}  // namespace smp::core
