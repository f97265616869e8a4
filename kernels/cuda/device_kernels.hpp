// The CUDA kernels of the identification path and their launchers.
//
// Pure device functions over device-accessible memory (device buffers,
// pinned staging buffers, or registered host memory mapped for the device);
// how pages get there is the callers' business (cuda_backend.cpp,
// resident_identifier.cpp). Every hash is FGBH64 (block_hash.hpp), bit for
// bit: the device code calls the same constexpr definition as the CPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace fgbi::kernels::cuda {

// Where the kernel finds page i: pointers[i] when pointers is set, else
// base + (index ? index[i] : i) * kPageSize. Pages must be 16-byte aligned.
struct PageSource {
  const uint8_t* const* pointers = nullptr;
  const uint8_t* base = nullptr;
  const uint64_t* index = nullptr;
};

// FGBH64-identify `count` pages in one launch: hash every block, compare with
// the stored hashes, report changed and all-zero blocks. The semantics of
// IdentifyBatch (kernels.hpp), with stored state addressed through slots so
// that it can stay resident on the device across epochs.
struct DeviceIdentify {
  size_t count = 0;
  uint32_t block_size = 64;
  uint64_t hash_mask = ~0ull;
  PageSource pages;
  // Page i's stored hashes are at hashes + slot(i) * blocks per page and its
  // known flag at known[slot(i)], where slot(i) = slots ? slots[i] : i. On
  // return they hold the hashes of page i; a page whose known flag is zero
  // reports every block changed. With mark_known, known[slot(i)] becomes 1.
  uint64_t* hashes = nullptr;
  const uint64_t* slots = nullptr;
  uint8_t* known = nullptr;
  bool mark_known = false;
  uint64_t* changed = nullptr;  // out: count * kBitmapWords
  uint64_t* zero = nullptr;     // out (optional): count * kBitmapWords
};

// Queues the identification on `stream`; returns the launch status.
cudaError_t launch_identify(const DeviceIdentify& job, cudaStream_t stream);

// Queues out[i] = FGBH64 of block i of data (n_blocks * block_size bytes,
// 16-byte aligned), masked.
cudaError_t launch_hash_blocks(const uint8_t* data, size_t n_blocks, uint32_t block_size,
                               uint64_t hash_mask, uint64_t* out, cudaStream_t stream);

// cudaSuccess when this build holds machine code or PTX the current device
// can run.
cudaError_t check_kernel_image();

}  // namespace fgbi::kernels::cuda
