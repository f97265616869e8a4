# Build options, language level and warnings shared by every target.
option(FGBI_BUILD_TESTS "Build the GoogleTest suite" ON)
option(FGBI_BUILD_CLI "Build the fgbi-engine command-line tool" ON)
option(FGBI_BUILD_BENCH "Build the Google Benchmark micro-benchmarks" ON)
option(FGBI_WERROR "Treat compiler warnings as errors" ON)
# The nested Xen lab (scripts/xen-lab): ctest label `xen`, minutes per test.
option(FGBI_XEN_LAB "Register the Xen lab's tests (ctest -L xen; QEMU, debootstrap, root)" OFF)
set(FGBI_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")

include(GNUInstallDirs)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_C_STANDARD 11)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_C_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

add_library(fgbi_warnings INTERFACE)
# C and C++ flags; nvcc gets its own (fgbi_cuda_flags, cmake/FgbiCuda.cmake).
target_compile_options(fgbi_warnings INTERFACE
  "$<$<COMPILE_LANGUAGE:C,CXX>:-Wall;-Wextra;$<$<BOOL:${FGBI_WERROR}>:-Werror>>")

if(FGBI_SANITIZE)
  # C and C++ only: nvcc does not take these flags (device code is not
  # instrumented; see cmake/FgbiCuda.cmake).
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${FGBI_SANITIZE};-fno-omit-frame-pointer;-fno-sanitize-recover=all>")
  add_link_options(-fsanitize=${FGBI_SANITIZE})
endif()
