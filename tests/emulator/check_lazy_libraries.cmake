# smp-local must not link the libraries it loads with dlopen only when a job needs them (libcurl
# and libcrypto for S3, libarchive for packaging): each linked one costs every command ~1 ms at
# start. Run: cmake -DBINARY=<smp-local> -P check_lazy_libraries.cmake
execute_process(COMMAND readelf -d ${BINARY} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${BINARY} failed")
endif()
if(NOT dynamic MATCHES "NEEDED")
  message(FATAL_ERROR "no NEEDED entries in ${BINARY}: not a dynamically linked program?")
endif()
foreach(lib libarchive libcrypto libssl libcurl)
  if(dynamic MATCHES "NEEDED[^\n]*\\[${lib}\\.so")
    message(FATAL_ERROR "${BINARY} links ${lib}; it must be loaded on first use (dlopen)")
  endif()
endforeach()
message(STATUS "${BINARY}: libarchive, libcrypto, libssl and libcurl are not linked")
