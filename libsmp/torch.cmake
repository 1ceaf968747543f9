# libsmp's LibTorch part (included by libsmp/CMakeLists.txt when LibTorch is found): the `smp`
# library = runtime (init, queries), comm (MPI; NCCL when CUDA + NCCL are found), model,
# pipeline, ddp, optim, checkpoint, trace. Links smp_core, torch and MPI.
find_package(MPI REQUIRED COMPONENTS C)

add_library(smp STATIC
  runtime/init.cpp
  runtime/queries.cpp
  runtime/runtime.cpp
  runtime/timeout_notice.cpp
  comm/work.cpp
  comm/backend.cpp
  comm/mpi_backend.cpp
  comm/objects.cpp
  trace/tracer.cpp
  pipeline/task_runner.cpp
  pipeline/step.cpp
  pipeline/step_output.cpp
  pipeline/server_messages.cpp
  pipeline/exec_server.cpp
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

# The Python package smdistributed.modelparallel.torch: the pybind11 extension _smplib over this
# library plus the Python layer, assembled in <build>/python (what smp-local puts on the ranks'
# PYTHONPATH). Built when Python 3's headers, pybind11 and LibTorch's Python library are found
# (Debian: python3-dev, pybind11-dev, python3-torch; on a GPU machine the pip wheel's torch).
set(SMP_WITH_PYTHON AUTO CACHE STRING "Build the smdistributed Python package: ON, OFF or AUTO")
set(SMP_HAVE_PYTHON OFF)
if(NOT SMP_WITH_PYTHON STREQUAL "OFF")
  # The interpreter must be the one whose torch is this LibTorch: the first of python3 on PATH
  # and /usr/bin/python3 (Debian's python3-torch) that imports torch.
  if(NOT Python3_EXECUTABLE)
    find_program(smp_path_python3 python3)
    foreach(candidate ${smp_path_python3} /usr/bin/python3)
      if(EXISTS "${candidate}")
        execute_process(COMMAND "${candidate}" -c "import torch" RESULT_VARIABLE smp_rc
                        OUTPUT_QUIET ERROR_QUIET)
        if(smp_rc EQUAL 0)
          set(Python3_EXECUTABLE "${candidate}" CACHE FILEPATH "Python with torch" FORCE)
          break()
        endif()
      endif()
    endforeach()
  endif()
  find_package(Python3 QUIET COMPONENTS Interpreter Development.Module)
  find_package(pybind11 CONFIG QUIET)
  find_library(SMP_TORCH_PYTHON_LIBRARY torch_python HINTS "${TORCH_INSTALL_PREFIX}/lib")
  if(Python3_FOUND AND pybind11_FOUND AND SMP_TORCH_PYTHON_LIBRARY)
    set(SMP_HAVE_PYTHON ON)
  elseif(SMP_WITH_PYTHON STREQUAL "ON")
    message(FATAL_ERROR "SMP_WITH_PYTHON=ON but Python 3, pybind11 or torch_python was not found")
  endif()
endif()
if(SMP_HAVE_PYTHON)
  set(SMP_PYTHON_DIR ${CMAKE_BINARY_DIR}/python)
  set(smp_pkg_dir ${SMP_PYTHON_DIR}/smdistributed/modelparallel/torch)
  pybind11_add_module(_smplib MODULE python/smplib.cpp)
  target_link_libraries(_smplib PRIVATE smp ${SMP_TORCH_PYTHON_LIBRARY})
  target_compile_definitions(_smplib PRIVATE TORCH_EXTENSION_NAME=_smplib TORCH_API_INCLUDE_EXTENSION_H)
  set_target_properties(_smplib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${smp_pkg_dir})
  # The Python layer is copied next to the extension at build time.
  file(GLOB_RECURSE smp_py_sources CONFIGURE_DEPENDS
       RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/python ${CMAKE_CURRENT_SOURCE_DIR}/python/*.py)
  set(smp_py_outputs)
  foreach(f ${smp_py_sources})
    add_custom_command(OUTPUT ${SMP_PYTHON_DIR}/${f}
                       COMMAND ${CMAKE_COMMAND} -E copy_if_different
                               ${CMAKE_CURRENT_SOURCE_DIR}/python/${f} ${SMP_PYTHON_DIR}/${f}
                       DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/${f})
    list(APPEND smp_py_outputs ${SMP_PYTHON_DIR}/${f})
  endforeach()
  add_custom_target(smp_python ALL DEPENDS _smplib ${smp_py_outputs})
  message(STATUS "libsmp: Python package ON (${SMP_PYTHON_DIR})")
else()
  message(STATUS "libsmp: Python package OFF (needs python3-dev, pybind11-dev and python3-torch)")
endif()
set(SMP_HAVE_PYTHON ${SMP_HAVE_PYTHON} PARENT_SCOPE)
set(SMP_PYTHON_DIR ${SMP_PYTHON_DIR} PARENT_SCOPE)
