# bench_s3: smp-local's S3 transfer manager vs Debian's awscli v2 against the local s3rver
# (download 1 GiB = 1 x 512 MiB + 512 x 1 MiB, upload 512 MiB). Needs the servers of
# scripts/s3/start-servers.sh and their env file loaded. Prints throughputs and ratios.
if(TARGET smp_s3)
  add_executable(bench_s3
    ${CMAKE_CURRENT_LIST_DIR}/bench_s3.cpp
    ${SMP_SOURCE_ROOT}/tests/emulator/s3/support/s3_test_env.cpp)
  target_include_directories(bench_s3 PRIVATE ${SMP_SOURCE_ROOT})
  target_link_libraries(bench_s3 PRIVATE smp_s3)
endif()
