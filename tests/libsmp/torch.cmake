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
