# Third-party libraries, all from Debian packages; nothing is downloaded.
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
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
if(FGBI_BUILD_CLI)
  find_package(CLI11 2.1 REQUIRED CONFIG)
endif()
if(FGBI_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FGBI_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
