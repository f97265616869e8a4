# Third-party libraries, all from Debian packages; nothing is downloaded.
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
# libcrypto (libssl-dev): HMAC-SHA256 and randomness for the replication session.
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto)
# Trace compression (adapters/trace): zstd and LZ4 per epoch chunk.
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
# The Xen 4.17 adapter is built only where libxen-dev is installed.
option(FGBI_WITH_XEN "Build the Xen dirty-page adapter when libxen-dev is found" ON)
if(FGBI_WITH_XEN)
  pkg_check_modules(XEN IMPORTED_TARGET xencontrol xenforeignmemory xenguest xentoollog)
endif()
# Google Highway (libhwy-dev): SIMD kernels with runtime target dispatch.
find_package(hwy 1.0 REQUIRED CONFIG)

# What libfgbi links privately, as build targets, as pkg-config modules (for
# fgbi.pc) and as plain library names (for static consumers of the package);
# then the same for libfgbi-session (fgbi-session.pc).
set(FGBI_LIBRARY_DEPS PkgConfig::XXHASH PkgConfig::LZ4 PkgConfig::ZSTD ZLIB::ZLIB hwy::hwy)
set(FGBI_PC_REQUIRES_PRIVATE "libxxhash liblz4 libzstd zlib libhwy")
set(FGBI_STATIC_LINK_NAMES xxhash lz4 zstd z hwy)
set(FGBI_SESSION_LIBRARY_DEPS PkgConfig::XXHASH OpenSSL::Crypto)
set(FGBI_SESSION_PC_REQUIRES_PRIVATE "libxxhash libcrypto")
set(FGBI_SESSION_STATIC_LINK_NAMES xxhash crypto)
if(FGBI_BUILD_CLI)
  find_package(CLI11 2.1 REQUIRED CONFIG)
endif()
if(FGBI_BUILD_CLI OR FGBI_BUILD_TESTS)
  # --json output, and the tests that read it (Debian: nlohmann-json3-dev).
  find_package(nlohmann_json 3.10 REQUIRED CONFIG)
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
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>")  # not nvcc
endif()
# The CUDA backend, when nvcc is found (adds the CUDA runtime to the above).
include(FgbiCuda)
