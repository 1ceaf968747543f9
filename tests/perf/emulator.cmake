# Emulator benchmarks: launch overhead (smp-local run vs the same mpirun by hand) and staging of
# local channels (O(1) in data size). Run: <build>/tests/perf/bench_launch, bench_staging.
if(TARGET smp_emulator)
  add_executable(bench_launch ${CMAKE_CURRENT_LIST_DIR}/bench_launch.cpp)
  target_link_libraries(bench_launch PRIVATE smp_emulator)
  target_compile_definitions(bench_launch PRIVATE SMP_SOURCE_DIR="${SMP_SOURCE_ROOT}" SMP_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_dependencies(bench_launch smp-local)
  add_executable(bench_staging ${CMAKE_CURRENT_LIST_DIR}/bench_staging.cpp)
  target_link_libraries(bench_staging PRIVATE smp_emulator)
endif()
