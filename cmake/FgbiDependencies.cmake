# Third-party libraries, all from Debian packages; nothing is downloaded.
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
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
# fgbi.pc) and as plain library names (for static consumers of the package).
set(FGBI_LIBRARY_DEPS PkgConfig::XXHASH PkgConfig::LZ4 PkgConfig::ZSTD ZLIB::ZLIB hwy::hwy)
set(FGBI_PC_REQUIRES_PRIVATE "libxxhash liblz4 libzstd zlib libhwy")
set(FGBI_STATIC_LINK_NAMES xxhash lz4 zstd z hwy)
if(FGBI_BUILD_CLI)
  find_package(CLI11 2.1 REQUIRED CONFIG)
endif()
if(FGBI_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FGBI_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# The CUDA backend, when nvcc is found (adds the CUDA runtime to the above).
include(FgbiCuda)
