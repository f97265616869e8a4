# The optional CUDA backend (kernels/cuda, docs/cuda.md). Built when nvcc is
# found and FGBI_WITH_CUDA is ON; everything else builds and passes without
# it. The runtime is linked statically, so a machine with a GPU driver needs
# no CUDA toolkit to run what was built here, and one without a GPU runs the
# same binaries with the backend reporting itself unavailable.
option(FGBI_WITH_CUDA "Build the CUDA backend when nvcc is found" ON)
set(FGBI_HAVE_CUDA OFF)
if(FGBI_WITH_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # sm_90 (H100/H200): "90" builds its machine code and its PTX, which
    # the driver compiles for newer GPUs.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # CMake before 3.26 does not know nvcc's C++20 flag (nvcc has it since 12.0).
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CMAKE_CUDA_EXTENSIONS OFF)
    set(FGBI_HAVE_CUDA ON)
    list(APPEND FGBI_LIBRARY_DEPS CUDA::cudart_static)
    # Consumers of the installed libfgbi.a link the runtime too; fgbiConfig
    # finds it with find_dependency(CUDAToolkit).
    list(APPEND FGBI_STATIC_LINK_NAMES CUDA::cudart_static)
    message(STATUS "fgbi: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                   "architectures ${CMAKE_CUDA_ARCHITECTURES})")
  else()
    message(STATUS "fgbi: nvcc not found, CUDA backend not built")
  endif()
endif()

# nvcc options for fgbi's device code: host-side warnings as errors like the
# C++ code (fgbi_warnings carries g++ flags nvcc does not accept), the
# constexpr FGBH64 definition callable from device code, and line info for
# profilers.
add_library(fgbi_cuda_flags INTERFACE)
if(FGBI_HAVE_CUDA)
  set(FGBI_NVCC_FLAGS --expt-relaxed-constexpr -lineinfo -Xcompiler=-Wall,-Wextra)
  if(FGBI_WERROR)
    list(APPEND FGBI_NVCC_FLAGS --Werror=all-warnings -Xcompiler=-Werror)
  endif()
  target_compile_options(fgbi_cuda_flags INTERFACE
                         "$<$<COMPILE_LANGUAGE:CUDA>:${FGBI_NVCC_FLAGS}>")
endif()
