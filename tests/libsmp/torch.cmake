# libsmp's LibTorch tests (included by tests/libsmp/CMakeLists.txt when LibTorch is found).
# MPI tests run every rank of a Catch2 binary under mpirun (2 cores: --oversubscribe, --bind-to
# none); rank failures or a hang past SMP_RECV_TIMEOUT_S make mpirun return non-zero.
find_program(SMP_MPIRUN NAMES mpirun mpiexec REQUIRED)

add_library(smp_test_harness STATIC harness.cpp)
target_link_libraries(smp_test_harness PUBLIC smp)
target_include_directories(smp_test_harness PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${SMP_SOURCE_ROOT})

# smp_add_mpi_test(NAME TARGET NP ARGS... LABELS... TIMEOUT ENV...)
function(smp_add_mpi_test name)
  cmake_parse_arguments(T "" "TARGET;NP;TIMEOUT" "ARGS;LABELS;ENV" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_test(NAME ${name}
    COMMAND ${SMP_MPIRUN} --oversubscribe --bind-to none -np ${T_NP} $<TARGET_FILE:${T_TARGET}> ${T_ARGS})
  # Root (CI) needs Open MPI's consent; harmless otherwise.
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    PROCESSORS 2
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;${T_ENV}")
endfunction()

function(smp_add_mpi_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE smp_test_harness Catch2::Catch2WithMain)
  target_compile_definitions(${name} PRIVATE
    SMP_SOURCE_DIR="${SMP_SOURCE_ROOT}" SMP_BINARY_DIR="${CMAKE_BINARY_DIR}")
endfunction()

smp_add_mpi_executable(test_smp_equivalence test_equivalence.cpp)
foreach(np 1 2 4 8)
  smp_add_mpi_test(libsmp_equivalence_np${np} TARGET test_smp_equivalence NP ${np}
    ARGS "[equiv]" LABELS mpi)
  smp_add_mpi_test(libsmp_equivalence_full_np${np} TARGET test_smp_equivalence NP ${np}
    ARGS "[equiv-full]" LABELS "mpi;long" TIMEOUT 3600)
endforeach()

smp_add_mpi_executable(test_smp_runtime test_runtime.cpp)
smp_add_mpi_test(libsmp_runtime_np1 TARGET test_smp_runtime NP 1 LABELS "mpi;unit")
smp_add_mpi_test(libsmp_runtime_np4 TARGET test_smp_runtime NP 4 LABELS mpi)
smp_add_mpi_test(libsmp_runtime_np2_objects TARGET test_smp_runtime NP 2 ARGS "[objects],[groups]" LABELS mpi)

smp_add_mpi_executable(test_smp_step test_step.cpp)
smp_add_mpi_test(libsmp_step_np1 TARGET test_smp_step NP 1 LABELS "mpi;unit")

smp_add_mpi_executable(test_smp_server_messages test_server_messages.cpp)
smp_add_mpi_test(libsmp_server_messages_np1 TARGET test_smp_server_messages NP 1 LABELS "mpi;unit")

smp_add_mpi_executable(test_smp_pipeline_step test_pipeline_step.cpp)
foreach(np 2 4)
  smp_add_mpi_test(libsmp_pipeline_step_np${np} TARGET test_smp_pipeline_step NP ${np} LABELS mpi)
endforeach()

smp_add_mpi_executable(test_smp_schedule_trace test_schedule_trace.cpp)
foreach(np 2 4)
  smp_add_mpi_test(libsmp_schedule_trace_np${np} TARGET test_smp_schedule_trace NP ${np} LABELS mpi)
endforeach()

smp_add_mpi_executable(test_smp_ddp_checkpoint test_ddp_checkpoint.cpp)
foreach(np 2 4)
  smp_add_mpi_test(libsmp_ddp_checkpoint_np${np} TARGET test_smp_ddp_checkpoint NP ${np} LABELS mpi)
endforeach()

# A job that breaks on purpose, run through mpirun by test_smp_failure.
add_executable(smp_failure_child failure_child.cpp)
target_link_libraries(smp_failure_child PRIVATE smp)
add_executable(test_smp_failure test_failure.cpp)
target_link_libraries(test_smp_failure PRIVATE Catch2::Catch2WithMain)
target_compile_definitions(test_smp_failure PRIVATE SMP_MPIRUN="${SMP_MPIRUN}"
  SMP_FAILURE_CHILD="$<TARGET_FILE:smp_failure_child>")
add_dependencies(test_smp_failure smp_failure_child)
add_test(NAME libsmp_failure COMMAND test_smp_failure)
set_tests_properties(libsmp_failure PROPERTIES LABELS mpi TIMEOUT 600 PROCESSORS 2)

# The pipeline on a GPU (one device shared by every rank); SKIPs without CUDA.
smp_add_mpi_executable(test_smp_gpu_pipeline test_gpu_pipeline.cpp)
foreach(np 1 2)
  smp_add_mpi_test(libsmp_gpu_pipeline_np${np} TARGET test_smp_gpu_pipeline NP ${np} LABELS "gpu;mpi")
  set_tests_properties(libsmp_gpu_pipeline_np${np} PROPERTIES SKIP_RETURN_CODE 4)
endforeach()

# NCCL backend: built with the CUDA toolkit + NCCL; SKIPs (Catch2 exit code 4) without a GPU.
if(SMP_HAVE_NCCL)
  smp_add_mpi_executable(test_smp_nccl test_nccl.cpp)
  if(TARGET c10_cuda)
    target_compile_definitions(test_smp_nccl PRIVATE SMP_TEST_TORCH_CUDA=1)
  endif()
  smp_add_mpi_test(libsmp_nccl_np1 TARGET test_smp_nccl NP 1 LABELS "gpu;mpi")
  set_tests_properties(libsmp_nccl_np1 PROPERTIES SKIP_RETURN_CODE 4)
endif()

# The Python package (smdistributed.modelparallel.torch) under mpirun: equivalence with plain
# PyTorch for every model, schedule and partitioning mode at each (np, pp); API behaviour.
if(SMP_HAVE_PYTHON)
  set(smp_py_tests ${CMAKE_CURRENT_SOURCE_DIR}/python)
  function(smp_add_python_mpi_test name np)
    cmake_parse_arguments(T "" "TIMEOUT" "ARGS;LABELS" ${ARGN})
    if(NOT T_TIMEOUT)
      set(T_TIMEOUT 900)
    endif()
    add_test(NAME ${name} COMMAND ${SMP_MPIRUN} --oversubscribe --bind-to none -np ${np}
             ${Python3_EXECUTABLE} ${T_ARGS})
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} PROCESSORS 2
      ENVIRONMENT "PYTHONPATH=${SMP_PYTHON_DIR};OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMP_NUM_THREADS=1")
  endfunction()
  foreach(case "1;1" "2;2" "4;2" "4;4")
    list(GET case 0 np)
    list(GET case 1 pp)
    smp_add_python_mpi_test(libsmp_python_api_np${np}_pp${pp} ${np}
      ARGS ${smp_py_tests}/api.py ${pp} LABELS "mpi;python")
  endforeach()
  add_test(NAME libsmp_python_failures
           COMMAND ${Python3_EXECUTABLE} ${smp_py_tests}/failures.py ${SMP_MPIRUN})
  set_tests_properties(libsmp_python_failures PROPERTIES LABELS "mpi;python" TIMEOUT 600
    PROCESSORS 2 ENVIRONMENT "PYTHONPATH=${SMP_PYTHON_DIR};OMP_NUM_THREADS=1")
  foreach(case "1;1" "2;1" "2;2" "4;2" "4;4" "8;4")
    list(GET case 0 np)
    list(GET case 1 pp)
    smp_add_python_mpi_test(libsmp_python_equivalence_np${np}_pp${pp} ${np}
      ARGS ${smp_py_tests}/equivalence.py --pp ${pp} LABELS "mpi;python")
    smp_add_python_mpi_test(libsmp_python_equivalence_full_np${np}_pp${pp} ${np}
      ARGS ${smp_py_tests}/equivalence.py --pp ${pp} --microbatches 1,2,8 --placement cluster
      LABELS "mpi;python;long" TIMEOUT 3600)
  endforeach()
  # fast_mode: nn.Sequential requests go stage to stage (ExecutionServer::forward_to).
  smp_add_python_mpi_test(libsmp_python_equivalence_fast_np4_pp4 4
    ARGS ${smp_py_tests}/equivalence.py --pp 4 --fast-mode LABELS "mpi;python")
  smp_add_python_mpi_test(libsmp_python_equivalence_fast_np4_pp2 4
    ARGS ${smp_py_tests}/equivalence.py --pp 2 --fast-mode --schedules interleaved
    LABELS "mpi;python")
endif()
