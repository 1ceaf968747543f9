// _smplib: the pybind11 extension under smdistributed.modelparallel.torch — libsmp's runtime
// (init, topology, object collectives), the execution server (the pipeline engine) and the DDP
// gradient reducer, for the thin Python layer beside it. Python callables reach the engine as
// ModuleRunner / StepBody; every call into the engine releases the GIL (the engine's task
// threads take it when they run Python), and every callback takes it.

#include <mpi.h>
#include <torch/extension.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "libsmp/comm/mpi_backend.h"
#include "libsmp/comm/objects.h"
#include "libsmp/ddp/grad_reducer.h"
#include "libsmp/pipeline/exec_server.h"
#include "libsmp/runtime/error.h"
#include "libsmp/runtime/init.h"
#include "libsmp/runtime/queries.h"
#include "libsmp/runtime/runtime.h"

namespace py = pybind11;
using smp::pipeline::Packed;

namespace {

smp::CommGroup group_of(int g) {
  if (g < 0 || g > 5) throw smp::Error("smp: unknown CommGroup " + std::to_string(g));
  // Python's CommGroup order: WORLD, PP, TP, RDP, DP, MP (SMP's); the C++ enum's differs.
  static const smp::CommGroup order[] = {smp::CommGroup::WORLD,    smp::CommGroup::PP_GROUP,
                                         smp::CommGroup::TP_GROUP, smp::CommGroup::RDP_GROUP,
                                         smp::CommGroup::DP_GROUP, smp::CommGroup::MP_GROUP};
  return order[g];
}

py::tuple to_py(Packed p) {
  return py::make_tuple(py::bytes(p.skeleton), std::move(p.tensors));
}

Packed from_py(const py::handle& h) {
  auto t = h.cast<py::tuple>();
  if (t.size() != 2) throw smp::Error("smp: a packed value is (skeleton bytes, tensor list)");
  Packed p;
  p.skeleton = t[0].cast<std::string>();
  p.tensors = t[1].cast<std::vector<at::Tensor>>();
  return p;
}

// Prints every Python thread's stack to stderr (faulthandler), labelled with this rank.
void dump_python_stacks() {
  const int rank = smp::is_initialized() ? smp::detail::runtime().rank : -1;
  std::fprintf(stderr, "[smp rank %d] Python stacks:\n", rank);
  std::fflush(stderr);
  py::gil_scoped_acquire gil;
  try {
    py::module_::import("faulthandler").attr("dump_traceback")(py::arg("all_threads") = true);
  } catch (const py::error_already_set&) {
  }
}

// The process's pipeline engine, owned by the Python DistributedModel.
class Server {
 public:
  explicit Server(py::function run_module) : run_module_(std::move(run_module)) {
    auto& rt = smp::detail::runtime();
    auto* mpi = dynamic_cast<smp::comm::MpiBackend*>(rt.pipeline.get());
    if (!mpi) throw smp::Error("smp: the pipeline group has no MPI communicator");
    // Callbacks hold the function; the GIL is taken around every use.
    auto fn = run_module_;
    server_ = std::make_unique<smp::pipeline::ExecutionServer>(
        mpi->comm(), rt.coords.pp_rank, rt.topology->pp_size(), [fn](int module, Packed args) {
          py::gil_scoped_acquire gil;
          py::object out = fn(module, to_py(std::move(args)));
          return from_py(out);
        },
        rt.trace());
  }
  ~Server() {
    py::gil_scoped_release nogil;
    server_.reset();
  }

  py::list run_step(int microbatches, py::function body, int64_t step) {
    auto& rt = smp::detail::runtime();
    smp::pipeline::RunOptions run;
    run.schedule = rt.config.pipeline;
    run.active_microbatches = rt.config.active_microbatches;
    run.timeout = rt.timeout;
    run.run_inline = rt.config.pipeline != smp::core::PipelineSchedule::kSimple || microbatches == 1;
    run.context = "rank " + std::to_string(rt.rank) + " (pipeline stage " +
                  std::to_string(rt.coords.pp_rank) + "), step " + std::to_string(step);
    // A peer that never answers: say what this rank waits for and where every Python thread
    // stands (the step's microbatch tasks are parked inside the model), then fail the step.
    run.on_timeout = [rank = rt.rank](const std::string& message) {
      std::fprintf(stderr, "[smp rank %d] TIMEOUT: %s\n", rank, message.c_str());
      std::fflush(stderr);
      dump_python_stacks();
      if (auto* notices = smp::detail::timeout_notices()) notices->announce();
    };
    // A peer that timed out asks every rank where it stands.
    run.progress = [this] {
      if (auto* notices = smp::detail::timeout_notices())
        notices->check([this] { return server_->describe_waits(); });
    };
    std::vector<Packed> results;
    {
      py::gil_scoped_release nogil;
      results = server_->run_step(
          microbatches,
          [&body](int mb) {
            py::gil_scoped_acquire gil;
            return from_py(body(mb));
          },
          run, step);
    }
    py::list out;
    for (auto& r : results) out.append(to_py(std::move(r)));
    return out;
  }

  py::tuple call(int owner, int module, py::bytes skeleton, std::vector<at::Tensor> tensors) {
    Packed args{std::string(skeleton), std::move(tensors)};
    Packed out;
    {
      py::gil_scoped_release nogil;
      out = server_->call(owner, module, std::move(args));
    }
    return to_py(std::move(out));
  }

  // Inside run_module, as its last act (fast_mode chains): the request goes on to `owner`.
  void forward_to(int owner, int module, py::bytes skeleton, std::vector<at::Tensor> tensors) {
    server_->forward_to(owner, module, Packed{std::string(skeleton), std::move(tensors)});
  }

  void progress() { server_->progress(); }  // holds the GIL: cheap, and only inside a task

  void backward(std::vector<at::Tensor> tensors, std::vector<at::Tensor> grads) {
    py::gil_scoped_release nogil;
    server_->backward(tensors, grads);
  }

  int stage() const { return server_->stage(); }
  int stages() const { return server_->stages(); }

 private:
  py::function run_module_;
  std::unique_ptr<smp::pipeline::ExecutionServer> server_;
};

class Reducer {
 public:
  Reducer(std::vector<at::Tensor> params, double bucket_cap_mb, bool as_view) {
    auto& rt = smp::detail::runtime();
    reducer_ = std::make_unique<smp::ddp::GradReducer>(std::move(params), *rt.dp, bucket_cap_mb,
                                                       as_view);
  }
  void reduce(int64_t step) {
    py::gil_scoped_release nogil;
    reducer_->reduce(smp::detail::runtime().trace(), step, false);
  }
  size_t bucket_count() const { return reducer_->bucket_count(); }

 private:
  std::unique_ptr<smp::ddp::GradReducer> reducer_;
};

}  // namespace

PYBIND11_MODULE(_smplib, m) {
  m.doc() = "libsmp, the C++ engine of smdistributed.modelparallel.torch";
  static py::exception<smp::Error> smp_error(m, "SMPError", PyExc_RuntimeError);
  static py::exception<smp::TimeoutError> smp_timeout(m, "SMPTimeoutError", smp_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const smp::TimeoutError& e) {
      smp_timeout(e.what());
    } catch (const smp::Error& e) {
      smp_error(e.what());
    }
  });

  // `stack_dump_signal`: the signal faulthandler was registered for (a timed-out rank on this
  // host sends it, so a rank busy in Python code prints its stacks too); 0 for none.
  m.def("init", [](const std::string& config_json, bool use_environment, int stack_dump_signal) {
    smp::InitOptions options;
    options.use_environment = use_environment;
    options.stack_dump_signal = stack_dump_signal;
    smp::Json config = smp::Json::parse(config_json);
    {
      py::gil_scoped_release nogil;
      smp::detail::init(config.is_null() ? nullptr : &config, options);  // null: the environment
    }
    smp::detail::timeout_notices()->set_dumper(dump_python_stacks);
  }, py::arg("config_json"), py::arg("use_environment") = true, py::arg("stack_dump_signal") = 0);
  m.def("is_initialized", &smp::is_initialized);
  m.def("shutdown", [](bool finalize_mpi) {
    py::gil_scoped_release nogil;
    smp::shutdown(finalize_mpi);
  }, py::arg("finalize_mpi") = true);
  // Ends every rank of the job now (an uncaught error: MPI_Finalize would wait for peers that may
  // never arrive).
  m.def("abort", [](int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  });
  m.def("mp_parameters", [] { return smp::mp_parameters().dump(); });
  m.def("config", [] {
    const auto& c = smp::detail::runtime().config;
    smp::Json j = {{"pipeline_parallel_degree", c.pipeline_parallel_degree},
                   {"tensor_parallel_degree", c.tensor_parallel_degree},
                   {"microbatches", c.microbatches},
                   {"pipeline", smp::core::to_string(c.pipeline)},
                   {"optimize", c.optimize},
                   {"placement_strategy", c.placement_strategy},
                   {"auto_partition", c.auto_partition},
                   {"default_partition", c.default_partition},
                   {"memory_weight", c.memory_weight},
                   {"ddp", c.ddp},
                   {"active_microbatches", c.active_microbatches}};
    return j.dump();
  });
  // The microbatch of the calling step task (-1 outside a step): smp.state.microbatch.
  m.def("current_microbatch", [] {
    return smp::pipeline::TaskRunner::current() ? smp::pipeline::TaskRunner::current_task() : -1;
  });
  m.def("recv_timeout", [] { return smp::detail::runtime().timeout.count(); });
  m.def("host", [] { return smp::detail::runtime().host; });

  m.def("rank", &smp::rank);
  m.def("size", &smp::size);
  m.def("local_rank", &smp::local_rank);
  m.def("local_size", &smp::local_size);
  m.def("mp_rank", &smp::mp_rank);
  m.def("mp_size", &smp::mp_size);
  m.def("dp_rank", &smp::dp_rank);
  m.def("dp_size", &smp::dp_size);
  m.def("pp_rank", &smp::pp_rank);
  m.def("pp_size", &smp::pp_size);
  m.def("tp_rank", &smp::tp_rank);
  m.def("tp_size", &smp::tp_size);
  m.def("rdp_rank", &smp::rdp_rank);
  m.def("rdp_size", &smp::rdp_size);
  m.def("get_group", [](int g) { return smp::get_group(group_of(g)); });

  m.def("barrier", [](int g) {
    py::gil_scoped_release nogil;
    smp::barrier(group_of(g));
  });
  m.def("send_bytes", [](py::bytes data, int dest_global) {
    std::string s(data);
    py::gil_scoped_release nogil;
    smp::send_bytes(s, dest_global, smp::RankType::WORLD_RANK);
  });
  m.def("recv_bytes", [](int src_global) {
    std::string s;
    {
      py::gil_scoped_release nogil;
      s = smp::recv_bytes_from(src_global, smp::RankType::WORLD_RANK);
    }
    return py::bytes(s);
  });
  m.def("allgather_bytes", [](py::bytes data, int g) {
    std::string s(data);
    std::vector<std::string> all;
    {
      py::gil_scoped_release nogil;
      all = smp::allgather_bytes(s, group_of(g));
    }
    py::list out;
    for (auto& a : all) out.append(py::bytes(a));
    return out;
  });

  py::class_<Server>(m, "Server")
      .def(py::init<py::function>())
      .def("run_step", &Server::run_step)
      .def("call", &Server::call)
      .def("forward_to", &Server::forward_to)
      .def("backward", &Server::backward)
      .def("progress", &Server::progress)
      .def_property_readonly("stage", &Server::stage)
      .def_property_readonly("stages", &Server::stages);

  py::class_<Reducer>(m, "Reducer")
      .def(py::init<std::vector<at::Tensor>, double, bool>())
      .def("reduce", &Reducer::reduce)
      .def_property_readonly("bucket_count", &Reducer::bucket_count);
}
