// The CUDA backend's own interface, beside the KernelTable that
// cuda_kernels() (kernels.hpp) returns: what it runs on, how it failed, and
// its tuning constants. Used by tests, the benchmark and
// resident_identifier.cpp; the engine sees only the KernelTable.
//
// The table (docs/cuda.md):
//  - identify: every call on the device, through a pipeline of pinned
//    staging buffers (the host copies the caller's pages in) and
//    kPipelineDepth streams whose copies overlap the kernels of the others;
//  - hash_blocks: on the device from kMinDeviceHashBytes of input, below
//    that on the host SIMD kernels (a device round trip costs more);
//  - gather_blocks, scatter_blocks, xor_rle_*: the host SIMD kernels (byte
//    shuffling of host memory, which a GPU would only add copies to).
// The first CUDA failure during a call (a lost device, exhausted memory)
// finishes that call on the host kernels, with identical results, and
// every later call too; backend_failure() then says what happened.
#pragma once

#include <cstddef>
#include <string>

namespace fgbi::kernels::cuda {

inline constexpr size_t kMinDeviceHashBytes = size_t{256} << 10;
inline constexpr size_t kIdentifyChunkPages = 1024;  // 4 MiB of pages a chunk
inline constexpr size_t kPipelineDepth = 4;
inline constexpr int kDevice = 0;  // CUDA_VISIBLE_DEVICES picks which GPU that is

// The device the backend runs on ("NVIDIA H200, sm_90, 132 SMs, 139.8 GiB,
// driver 13.0"), or why the backend is unavailable.
std::string device_description();

// Whether the runtime sees a GPU at all. A device that is present while the
// backend is unavailable (no kernel image for it, a failed self-test) is an
// error to report, not a machine without a GPU.
bool device_present();

// Makes the backend's device current on the calling thread; throws
// CudaFailure when the backend is unavailable.
void use_device();

// Empty while every call ran on the device; otherwise the CUDA failure
// after which the table's calls run on the host kernels.
std::string backend_failure();

}  // namespace fgbi::kernels::cuda
