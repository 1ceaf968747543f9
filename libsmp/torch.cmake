# libsmp's LibTorch part (included by libsmp/CMakeLists.txt when LibTorch is found): the `smp`
# library = runtime (init, queries), comm (MPI; NCCL when CUDA + NCCL are found), model,
# pipeline, ddp, optim, checkpoint, trace. Links smp_core, torch and MPI.
find_package(MPI REQUIRED COMPONENTS C)

add_library(smp STATIC
  runtime/init.cpp
  runtime/queries.cpp
  runtime/runtime.cpp
  comm/work.cpp
  comm/backend.cpp
  comm/mpi_backend.cpp
  comm/objects.cpp
  trace/tracer.cpp
  pipeline/task_runner.cpp
  pipeline/transport.cpp
  pipeline/step.cpp
  pipeline/step_output.cpp
  model/model_impl.cpp
  model/partitioner.cpp
  model/stage_exec.cpp
  model/state_dict.cpp
  ddp/grad_reducer.cpp
  optim/distributed_optimizer.cpp
  checkpoint/checkpoint.cpp
)
target_include_directories(smp PUBLIC ${SMP_SOURCE_ROOT})
target_link_libraries(smp PUBLIC smp_core torch MPI::MPI_C Threads::Threads)
# The C API only: <mpi.h> would otherwise drag in Open MPI's deprecated C++ bindings.
target_compile_definitions(smp PUBLIC OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
set_target_properties(smp PROPERTIES POSITION_INDEPENDENT_CODE ON)

# A CUDA LibTorch registers its CUDA backend from libtorch_cuda's static initializers; linkers that
# drop libraries nothing references (--as-needed, Ubuntu's default) would leave CUDA "unavailable".
if(TARGET torch_cuda)
  target_link_options(smp INTERFACE "LINKER:--no-as-needed")
endif()

# NCCL backend: built when the CUDA toolkit and NCCL are present (the CPU-only Debian LibTorch
# is fine: the backend works on raw device pointers and CUDA streams). SMP_WITH_NCCL=OFF skips it.
set(SMP_WITH_NCCL AUTO CACHE STRING "Build libsmp's NCCL backend: ON, OFF or AUTO")
set(SMP_HAVE_NCCL OFF)
if(NOT SMP_WITH_NCCL STREQUAL "OFF")
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_library(SMP_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
    find_path(SMP_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  endif()
  if(CUDAToolkit_FOUND AND SMP_NCCL_LIBRARY AND SMP_NCCL_INCLUDE_DIR)
    set(SMP_HAVE_NCCL ON)
  elseif(SMP_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "SMP_WITH_NCCL=ON but the CUDA toolkit or NCCL was not found")
  endif()
endif()
if(SMP_HAVE_NCCL)
  target_sources(smp PRIVATE comm/nccl_backend.cpp)
  target_include_directories(smp PUBLIC ${SMP_NCCL_INCLUDE_DIR})
  target_link_libraries(smp PUBLIC CUDA::cudart ${SMP_NCCL_LIBRARY})
  target_compile_definitions(smp PUBLIC SMP_HAVE_NCCL=1)
  # A CUDA LibTorch (pip wheel) has c10_cuda: then NCCL work is ordered after torch's stream.
  if(TARGET c10_cuda)
    target_compile_definitions(smp PRIVATE SMP_TORCH_CUDA=1)
  endif()
  message(STATUS "libsmp: NCCL backend ON (${SMP_NCCL_LIBRARY})")
else()
  message(STATUS "libsmp: NCCL backend OFF (no CUDA toolkit + NCCL found)")
endif()
set(SMP_HAVE_NCCL ${SMP_HAVE_NCCL} PARENT_SCOPE)

# LibTorch's, MPI's and CUDA's imported targets are directory-scoped; tests and samples link them too.
get_property(smp_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
foreach(t ${smp_imported})
  get_target_property(smp_is_global ${t} IMPORTED_GLOBAL)
  if(NOT smp_is_global)
    set_target_properties(${t} PROPERTIES IMPORTED_GLOBAL TRUE)
  endif()
endforeach()
