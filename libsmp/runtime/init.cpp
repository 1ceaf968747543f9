#include "libsmp/runtime/init.h"

#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/comm/work.h"
#include "libsmp/core/pyjson.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/runtime.h"

namespace smp {
namespace {

constexpr const char* kField = "mp_parameters";
bool g_mpi_owned = false;   // libsmp called MPI_Init_thread and must finalize
bool g_atexit_set = false;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// MPI up with at least MPI_THREAD_SERIALIZED: pipeline tasks run on their own threads but hand a
// baton, so MPI is called from one thread at a time.
void ensure_mpi() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (fin)
    throw Error("smp::init(): MPI has already been finalized (smp::shutdown() or MPI_Finalize ran);"
                " libsmp cannot start again in this process.");
  int provided = 0;
  if (!init) {
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw Error("smp::init(): MPI_Init_thread failed; start the program with mpirun.");
    g_mpi_owned = true;
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED)
    throw Error("smp::init(): MPI provides thread level " + std::to_string(provided) +
                ", libsmp needs MPI_THREAD_SERIALIZED or better. If the program calls MPI_Init "
                "itself, call MPI_Init_thread(..., MPI_THREAD_SERIALIZED, ...) instead.");
}

void at_exit() {
  try {
    shutdown();
  } catch (...) {
  }
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (g_mpi_owned && init && !fin) MPI_Finalize();
}

std::string format_problems(const core::Problems& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += "\n  - " + p.field + ": " + p.message;
    if (!p.fix.empty()) out += " Fix: " + p.fix;
  }
  return out;
}

// The configuration this rank would use, or the reason it has none (compared across ranks before
// anything else so that ranks never disagree about failing).
struct Resolved {
  Json parameters;
  std::string error;
};

Resolved resolve(const Json* script_config, bool use_environment) {
  Resolved r;
  std::optional<Json> from_env;
  if (use_environment) {
    std::string text = env_or("SM_HP_MP_PARAMETERS", "");
    if (!text.empty()) {
      from_env = core::py_loads(text);
      if (!from_env || !from_env->is_object()) {
        r.error = "SM_HP_MP_PARAMETERS is not a JSON object: " + text +
                  ". It must hold the modelparallel \"parameters\" dict, e.g. "
                  "{\"partitions\": 2, \"microbatches\": 4}.";
        return r;
      }
    }
  }
  if (!script_config && !from_env) {
    r.error = "no model-parallel configuration: SM_HP_MP_PARAMETERS is not set and smp::init() "
              "got no config. Launch through SageMaker or smp-local (which set it), export "
              "SM_HP_MP_PARAMETERS='{\"partitions\": 1}', or call smp::init(config).";
    return r;
  }
  if (script_config && !script_config->is_object()) {
    r.error = "smp::init(config): config must be a JSON object, got " + script_config->dump() + ".";
    return r;
  }
  r.parameters = script_config ? *script_config : Json::object();
  if (from_env)
    for (auto it = from_env->begin(); it != from_env->end(); ++it) r.parameters[it.key()] = it.value();
  return r;
}

// Every rank's resolved configuration must be the same; returns the error text otherwise.
std::string compare_across_ranks(comm::Backend& world, const Resolved& mine) {
  core::DumpStyle style;
  style.sort_keys = true;
  std::string canonical =
      mine.error.empty() ? core::py_dumps(mine.parameters, style) : "<error> " + mine.error;
  std::vector<std::string> all = world.allgather_bytes_sync(canonical);
  std::map<std::string, std::vector<int>> variants;
  for (int r = 0; r < static_cast<int>(all.size()); ++r) variants[all[r]].push_back(r);
  if (variants.size() == 1) return "";
  std::string text = "smp::init(): the model-parallel configuration differs across ranks; every "
                     "rank must get the same mp_parameters:";
  for (const auto& [config, ranks] : variants) {
    text += "\n  ranks";
    for (int r : ranks) text += " " + std::to_string(r);
    text += ": " + config;
  }
  text += "\nThis is rank " + std::to_string(world.rank()) +
          ". Give every rank the same SM_HP_MP_PARAMETERS and the same smp::init(config).";
  return text;
}

std::unique_ptr<comm::Backend> split(MPI_Comm world, const core::Topology& topo, int rank,
                                     core::CommGroup kind, std::chrono::duration<double> timeout,
                                     const std::string& name) {
  std::vector<int> members = topo.group(kind, rank);
  MPI_Comm comm;
  if (MPI_Comm_split(world, members.front(), rank, &comm) != MPI_SUCCESS)
    throw Error("smp::init(): MPI_Comm_split failed for " + name);
  return std::make_unique<comm::MpiBackend>(comm, name, std::move(members), timeout);
}

double timeout_seconds(const InitOptions& options) {
  if (options.recv_timeout_s) return *options.recv_timeout_s;
  std::string v = env_or("SMP_RECV_TIMEOUT_S", "");
  if (v.empty()) return 300.0;
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || !(s > 0))
    throw Error("SMP_RECV_TIMEOUT_S must be a positive number of seconds, got \"" + v + "\".");
  return s;
}

bool throw_on_timeout(const InitOptions& options) {
  if (options.throw_on_timeout) return *options.throw_on_timeout;
  std::string v = env_or("SMP_ON_TIMEOUT", "abort");
  if (v != "abort" && v != "throw")
    throw Error("SMP_ON_TIMEOUT must be \"abort\" or \"throw\", got \"" + v + "\".");
  return v == "throw";
}

std::unique_ptr<trace::Tracer> make_tracer(const InitOptions& options, const detail::Runtime& rt) {
  std::string dir = options.trace_dir ? *options.trace_dir : env_or("SMP_TRACE_DIR", "");
  if (dir.empty()) return nullptr;
  int every = options.trace_flush_every ? *options.trace_flush_every
                                        : std::atoi(env_or("SMP_TRACE_FLUSH_EVERY", "1").c_str());
  Json meta = Json::object();
  meta["format"] = "libsmp-trace/1";
  meta["rank"] = rt.rank;
  meta["world_size"] = rt.size;
  meta["host"] = rt.host;
  meta["local_rank"] = rt.local_rank;
  meta["pp_rank"] = rt.coords.pp_rank;
  meta["pp_size"] = rt.topology->pp_size();
  meta["dp_rank"] = rt.coords.dp_rank;
  meta["dp_size"] = rt.topology->dp_size();
  meta["tp_rank"] = rt.coords.tp_rank;
  meta["rdp_rank"] = rt.coords.rdp_rank;
  meta["microbatches"] = rt.config.microbatches;
  meta["active_microbatches"] = rt.config.active_microbatches;
  meta["pipeline"] = core::to_string(rt.config.pipeline);
  meta["clock"] = "unix_us";
  return std::make_unique<trace::Tracer>(dir, rt.rank, every, std::move(meta));
}

void init_impl(const Json* script_config, const InitOptions& options) {
  if (detail::runtime_or_null())
    throw Error("smp::init() was already called in this process; call it once.");
  Resolved resolved = resolve(script_config, options.use_environment);
  double timeout_s = timeout_seconds(options);
  ensure_mpi();
  if (!g_atexit_set) {
    std::atexit(at_exit);
    g_atexit_set = true;
  }
  auto rt = std::make_unique<detail::Runtime>();
  rt->timeout = std::chrono::duration<double>(timeout_s);
  rt->throw_on_timeout = throw_on_timeout(options);
  MPI_Comm_rank(MPI_COMM_WORLD, &rt->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &rt->size);

  MPI_Comm objects_comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &objects_comm);
  std::vector<int> everyone(rt->size);
  for (int r = 0; r < rt->size; ++r) everyone[r] = r;
  rt->objects = std::make_unique<comm::MpiBackend>(objects_comm, "WORLD", everyone, rt->timeout);

  if (std::string mismatch = compare_across_ranks(*rt->objects, resolved); !mismatch.empty())
    throw Error(mismatch);
  if (!resolved.error.empty()) throw Error("smp::init(): " + resolved.error);

  // Validation: libsmp's parsing, the world size, and what libsmp implements. (The SDK's own
  // checks run where the SDK runs — in smp-local's pre-flight — and would refuse the D/P/T
  // placement permutations SMP itself accepts.)
  core::Problems problems;
  rt->config = core::parse_config(resolved.parameters, kField, problems);
  core::Problems errors, warnings;
  for (auto& p : problems) (p.severity == core::Severity::kError ? errors : warnings).push_back(p);
  if (errors.empty()) {
    for (auto& p : core::check_world(rt->config, rt->size, kField)) errors.push_back(p);
    for (auto& p : core::libsmp_unsupported(rt->config, kField)) errors.push_back(p);
  }
  if (!errors.empty())
    throw Error("smp::init(): invalid model-parallel configuration for " +
                std::to_string(rt->size) + " processes:" + format_problems(errors));
  if (rt->rank == 0 && !warnings.empty())
    std::fprintf(stderr, "[smp] warning:%s\n", format_problems(warnings).c_str());
  rt->parameters = resolved.parameters;

  rt->topology = std::make_unique<core::Topology>(rt->size, rt->config.pipeline_parallel_degree,
                                                  rt->config.tensor_parallel_degree,
                                                  rt->config.placement_strategy);
  rt->coords = rt->topology->coords(rt->rank);

  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rt->rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &rt->local_rank);
  MPI_Comm_size(node, &rt->local_size);
  MPI_Comm_free(&node);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  rt->host = host;

  const auto& topo = *rt->topology;
  for (CommGroup g : {CommGroup::WORLD, CommGroup::MP_GROUP, CommGroup::DP_GROUP,
                      CommGroup::PP_GROUP, CommGroup::TP_GROUP, CommGroup::RDP_GROUP})
    rt->groups[static_cast<int>(g)] =
        split(MPI_COMM_WORLD, topo, rt->rank, detail::to_core(g), rt->timeout, to_string(g));
  rt->pipeline = split(MPI_COMM_WORLD, topo, rt->rank, core::CommGroup::kPp, rt->timeout, "PP_GROUP");
  rt->pp_gather = split(MPI_COMM_WORLD, topo, rt->rank, core::CommGroup::kPp, rt->timeout, "PP_GROUP");
  rt->dp = split(MPI_COMM_WORLD, topo, rt->rank, core::CommGroup::kDp, rt->timeout, "DP_GROUP");

  rt->notices = std::make_unique<detail::TimeoutNotices>(rt->rank, rt->host, options.stack_dump_signal);
  comm::set_wait_hook([](const std::function<std::string()>& what) {
    if (auto* notices = detail::timeout_notices()) notices->check(what);
  });
  rt->tracer = make_tracer(options, *rt);
  if (rt->rank == 0)
    std::fprintf(stderr,
                 "[smp] libsmp initialized: %d processes, pipeline_parallel_degree %d, "
                 "data-parallel degree %d, placement %s, pipeline %s, microbatches %d, "
                 "active_microbatches %d, ddp %s%s\n",
                 rt->size, topo.pp_size(), topo.dp_size(), rt->config.placement_strategy.c_str(),
                 core::to_string(rt->config.pipeline).c_str(), rt->config.microbatches,
                 rt->config.active_microbatches, rt->config.ddp ? "true" : "false",
                 rt->tracer ? (", trace " + rt->tracer->path()).c_str() : "");
  detail::set_runtime(std::move(rt));
}

}  // namespace

void init() { init_impl(nullptr, InitOptions{}); }

void init(const Json& config, const InitOptions& options) { init_impl(&config, options); }

void detail::init(const Json* config, const InitOptions& options) { init_impl(config, options); }

bool is_initialized() { return detail::runtime_or_null() != nullptr; }

const Json& mp_parameters() { return detail::runtime().parameters; }

void shutdown(bool finalize_mpi) {
  std::unique_ptr<detail::Runtime> rt = detail::take_runtime();
  if (rt) {
    if (rt->tracer) rt->tracer->flush();
    rt.reset();  // frees the communicators while MPI is up
  }
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (finalize_mpi && g_mpi_owned && init && !fin) MPI_Finalize();
}

}  // namespace smp
