# libsmp benchmarks (each prints ratios against a baseline measured in the same run; each
# re-launches itself under mpirun with the ranks it needs). Run: build-dir/tests/perf/bench_<name>
if(TARGET smp)
  find_program(SMP_MPIRUN NAMES mpirun mpiexec REQUIRED)
  foreach(bench bench_pipeline_bubble bench_pipeline_speedup bench_step_overhead bench_ddp_allreduce)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${bench}.cpp)
      add_executable(${bench} ${CMAKE_CURRENT_LIST_DIR}/${bench}.cpp)
      target_include_directories(${bench} PRIVATE ${SMP_SOURCE_ROOT} ${CMAKE_CURRENT_LIST_DIR})
      target_link_libraries(${bench} PRIVATE smp)
      target_compile_definitions(${bench} PRIVATE SMP_MPIRUN="${SMP_MPIRUN}")
    endif()
  endforeach()
endif()
