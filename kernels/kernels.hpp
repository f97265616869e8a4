// The kernel dispatch interface: pure functions over batches of pages.
//
// Kernels know nothing of contexts, sockets, files or the wire format. A
// backend (scalar, SIMD, CUDA) fills one KernelTable; the engine asks
// find_kernels() for a table and never names a backend's functions itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xor_rle.hpp"

namespace fgbi::kernels {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint32_t kMaxBlocksPerPage = kPageSize / 32;
inline constexpr uint32_t kBitmapWords = kMaxBlocksPerPage / 64;

// Bit b of a page's bitmap (word b / 64, bit b % 64) stands for block b.
using PageBitmap = uint64_t[kBitmapWords];

// Block identification for `count` pages at once.
struct IdentifyBatch {
  size_t count = 0;
  uint32_t block_size = 64;
  // Kept bits of every block hash: ~0 normally; tests narrow it to force
  // collisions.
  uint64_t hash_mask = ~0ull;
  const uint8_t* const* pages = nullptr;  // count pointers to kPageSize bytes
  // count pointers to kPageSize / block_size hashes each: on entry the
  // hashes of the content the receiver holds, on return those of pages[i].
  uint64_t* const* hashes = nullptr;
  // count flags: nonzero when hashes[i] is valid on entry; a page whose flag
  // is zero reports every block as changed.
  const uint8_t* known = nullptr;
  uint64_t* changed = nullptr;  // out: count * kBitmapWords, changed blocks
  uint64_t* zero = nullptr;     // out (optional): count * kBitmapWords, all-zero blocks
  // out (optional): count pointers to kPageSize bytes each. In the same pass
  // that hashes them, the changed blocks of pages[i] - every block where
  // copy_all[i] is set or the page is not known - are copied to staged[i],
  // consecutively in block order: the sender's capture of a paused guest.
  uint8_t* const* staged = nullptr;
  const uint8_t* copy_all = nullptr;  // count flags; nullptr = none set
  // Copy out with stores around the CPU cache where the target has them and
  // staged[i] is aligned for them (a large epoch: see stream_blocks); the
  // capturing thread calls end_streamed_writes() before the copies are read.
  bool stream_staged = false;
};

// Whether identify copies block-group bits `changed` of page p, or all of
// `group` (the bits of the group's blocks).
inline uint64_t staged_bits(const IdentifyBatch& batch, size_t p, uint64_t changed,
                            uint64_t group) {
  const bool all = batch.known[p] == 0 || (batch.copy_all != nullptr && batch.copy_all[p] != 0);
  return all ? group : changed & group;
}

// One literal of an XOR delta, placed: out[at, at + bytes) ^= literal.
struct XorRange {
  const uint8_t* literal;
  uint32_t at;
  uint32_t bytes;  // >= 1
};

struct KernelTable {
  const char* name;
  // out[i] = FGBH64 of block i of data (n_blocks * block_size bytes), masked.
  void (*hash_blocks)(const uint8_t* data, size_t n_blocks, uint32_t block_size, uint64_t hash_mask,
                      uint64_t* out);
  void (*identify)(const IdentifyBatch& batch);
  // A page's check from its blocks' full hashes: the sum, mod 2^64, of
  // page_check_term(b, hashes[b]) for b < blocks (block_hash.hpp).
  uint64_t (*page_check)(const uint64_t* hashes, uint32_t blocks);
  // Copies the blocks of `page` whose bit is set, in ascending order, to out.
  void (*gather_blocks)(const uint8_t* page, const uint64_t* bitmap, uint32_t block_size,
                        uint8_t* out);
  // Writes consecutive blocks from `in` to the blocks of `page` whose bit is set.
  void (*scatter_blocks)(uint8_t* page, const uint64_t* bitmap, uint32_t block_size,
                         const uint8_t* in);
  // The same, where the target can, with stores that go around the CPU
  // cache: for memory that is not read again soon, whose lines a cached
  // store would first read. The writing thread calls end_streamed_writes()
  // before others may read the blocks.
  void (*stream_blocks)(uint8_t* page, const uint64_t* bitmap, uint32_t block_size,
                        const uint8_t* in);
  // XOR + zero-run delta of current against previous, `size` bytes each
  // (format: xor_rle.hpp). Returns the delta's length, or kXorRleTooLarge
  // when it would exceed `capacity`. Any byte of out[0, capacity) may be
  // written. A capacity of xor_rle_bound(size) always suffices.
  size_t (*xor_rle_encode)(const uint8_t* current, const uint8_t* previous, size_t size,
                           uint8_t* out, size_t capacity);
  // Applies a delta to `size` bytes of data in place. Returns false, with
  // data untouched, when the delta is malformed or does not fit `size`.
  bool (*xor_rle_decode)(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size);
  // Applies `count` literals a delta's check has placed (xor_rle_scan) to
  // out, in order, touching no byte outside them. No bounds are checked.
  void (*xor_ranges)(uint8_t* out, const XorRange* ranges, size_t count);
};

// Orders this thread's earlier stream_blocks stores before its later
// stores, so that another thread told of them afterwards sees them.
void end_streamed_writes();

// Backend identifiers match fgbi_backend in fgbi.h.
enum class Backend : int { kAuto = 0, kScalar = 1, kSimd = 2, kCuda = 3 };

// The kernels of `backend`, or nullptr when it is not compiled in or has no
// device. kAuto picks the fastest CPU backend: the GPU only pays off for
// large batches and costs a device probe, so it runs only when asked for.
const KernelTable* find_kernels(Backend backend);

// Each backend's table (nullptr when not available); used by find_kernels
// and by tests that compare backends.
const KernelTable* scalar_kernels();
const KernelTable* simd_kernels();
// nullptr unless this build has the CUDA backend and a usable GPU is present
// (the first call probes and self-tests the device; docs/cuda.md).
const KernelTable* cuda_kernels();

// The Highway target simd_kernels() dispatches to on this CPU now, e.g.
// "AVX3", "AVX2" or "SCALAR" (nullptr when the SIMD backend is unavailable).
const char* simd_target_name();

}  // namespace fgbi::kernels
