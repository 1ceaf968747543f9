# bench_archive: smp-local's parallel model.tar.gz writer vs `tar czf` (and pigz) on a 512 MiB
# model directory, measured in one run. Run: build-dir/tests/perf/bench_archive [--size-mib N]
if(TARGET smp_archive)
  find_package(LibArchive REQUIRED)  # test_support.cpp writes reference archives with it directly
  add_executable(bench_archive
    ${CMAKE_CURRENT_LIST_DIR}/bench_archive.cpp
    ${SMP_SOURCE_ROOT}/tests/emulator/archive/test_support.cpp)
  target_include_directories(bench_archive PRIVATE ${SMP_SOURCE_ROOT})
  target_link_libraries(bench_archive PRIVATE smp_archive LibArchive::LibArchive)
endif()
