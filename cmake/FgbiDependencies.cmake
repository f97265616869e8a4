# Third-party libraries, all from Debian packages; nothing is downloaded.
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(Threads REQUIRED)
# libcrypto (libssl-dev): HMAC-SHA256 and randomness for the replication session.
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto)
if(FGBI_BUILD_CLI)
  find_package(CLI11 2.1 REQUIRED CONFIG)
endif()
if(FGBI_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FGBI_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# libFuzzer targets (tests/fuzz): clang only. The whole build is compiled
# with coverage instrumentation (-fsanitize=fuzzer-no-link); combine with
# FGBI_SANITIZE=address,undefined for a useful run.
option(FGBI_BUILD_FUZZERS "Build the libFuzzer targets and their ctest runs (needs clang)" OFF)
if(FGBI_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FGBI_BUILD_FUZZERS needs clang, e.g. -DCMAKE_C_COMPILER=clang-14 "
                        "-DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
