// FGBH64 identification on the GPU: one warp per page.
//
// A warp reads a 4 KiB page as 8 steps of 512 bytes, lane l taking bytes
// [16 l, 16 l + 16) of each step with one 16-byte load; the 8 loads are
// issued before any arithmetic, so a warp keeps a whole page in flight
// (device memory, or PCIe reads of mapped host memory, stay busy). Within a
// step, a block of B bytes spans B / 16 adjacent lanes: each lane adds the
// FGBH64 terms of its two words, a butterfly of shuffles sums the lanes of
// a block (addition mod 2^64 is order-independent, so this equals the
// sequential definition), and every lane of the block finalizes the same
// hash. The first lane of each block compares with the stored hash and
// writes the new one; warp ballots turn the per-block answers into the
// changed and zero bitmaps, which lane 0..kBitmapWords-1 store.
#include <cstdint>

#include "block_hash.hpp"
#include "cuda/device_kernels.hpp"
#include "kernels.hpp"

namespace fgbi::kernels::cuda {
namespace {

constexpr uint32_t kWarp = 32;
constexpr uint32_t kStepBytes = kWarp * 16;
constexpr uint32_t kSteps = kPageSize / kStepBytes;
constexpr uint32_t kThreadsPerCta = 256;
constexpr uint32_t kWarpsPerCta = kThreadsPerCta / kWarp;
constexpr unsigned kAllLanes = 0xFFFFFFFFu;

struct DeviceKeys {
  uint64_t key[kMaxBlockWords];
};
constexpr DeviceKeys make_device_keys() {
  DeviceKeys keys{};
  for (uint32_t i = 0; i < kMaxBlockWords; ++i) keys.key[i] = kBlockKeys[i];
  return keys;
}
__constant__ DeviceKeys kDeviceKeys = make_device_keys();

// How the blocks of kWords words map onto the lanes of one step.
template <uint32_t kWords>
struct StepLayout {
  static constexpr uint32_t kLanesPerBlock = kWords / 2;
  static constexpr uint32_t kBlocksPerStep = kWarp / kLanesPerBlock;
  static constexpr uint32_t kBlocksPerPage = kPageSize / (kWords * 8);
  static_assert(kLanesPerBlock >= 2 && kLanesPerBlock <= kWarp);
};

struct LaneKeys {
  uint64_t first, second;
};

template <uint32_t kWords>
__device__ LaneKeys lane_keys(uint32_t lane) {
  const uint32_t word = (lane % StepLayout<kWords>::kLanesPerBlock) * 2;
  return {kDeviceKeys.key[word], kDeviceKeys.key[word + 1]};
}

struct BlockResult {
  uint64_t hash;
  bool is_zero;
};

// The hash and zero test of the block lane's 16 bytes `v` belong to; every
// lane of the warp must call it (the butterfly shuffles span the warp).
template <uint32_t kWords>
__device__ BlockResult hash_lane_block(uint4 v, LaneKeys keys, uint64_t hash_mask) {
  // GPUs are little-endian: x, y are the first word's low and high halves.
  const uint64_t w0 = static_cast<uint64_t>(v.y) << 32 | v.x;
  const uint64_t w1 = static_cast<uint64_t>(v.w) << 32 | v.z;
  uint64_t sum = block_hash_term(w0, keys.first) + block_hash_term(w1, keys.second);
  uint64_t any = w0 | w1;
#pragma unroll
  for (uint32_t offset = 1; offset < StepLayout<kWords>::kLanesPerBlock; offset <<= 1) {
    sum += __shfl_xor_sync(kAllLanes, sum, offset);
    any |= __shfl_xor_sync(kAllLanes, any, offset);
  }
  return {block_hash_finalize(sum + block_hash_init(kWords * 8)) & hash_mask, any == 0};
}

// Bit k of the result: bit k * kLanesPerBlock of a ballot over the warp
// (the first lane of each block of the step).
template <uint32_t kWords>
__device__ uint64_t block_bits(unsigned ballot) {
  using L = StepLayout<kWords>;
  uint64_t bits = 0;
#pragma unroll
  for (uint32_t k = 0; k < L::kBlocksPerStep; ++k)
    bits |= static_cast<uint64_t>((ballot >> (k * L::kLanesPerBlock)) & 1u) << k;
  return bits;
}

__device__ const uint8_t* page_address(const PageSource& source, size_t i) {
  if (source.pointers != nullptr) return source.pointers[i];
  return source.base + (source.index != nullptr ? source.index[i] : i) * kPageSize;
}

// Stores word w of a per-lane register bitmap from lane w (no dynamic
// indexing into the register array).
__device__ void store_bitmap(const uint64_t (&bitmap)[kBitmapWords], uint32_t lane, uint64_t* out) {
#pragma unroll
  for (uint32_t w = 0; w < kBitmapWords; ++w)
    if (lane == w) out[w] = bitmap[w];
}

template <uint32_t kWords>
__global__ void __launch_bounds__(kThreadsPerCta) identify_kernel(const DeviceIdentify job) {
  using L = StepLayout<kWords>;
  const size_t page = static_cast<size_t>(blockIdx.x) * kWarpsPerCta + threadIdx.x / kWarp;
  if (page >= job.count) return;  // uniform across the warp
  const uint32_t lane = threadIdx.x % kWarp;

  const uint4* data = reinterpret_cast<const uint4*>(page_address(job.pages, page)) + lane;
  uint4 v[kSteps];
#pragma unroll
  for (uint32_t s = 0; s < kSteps; ++s) v[s] = data[s * kWarp];

  const uint64_t slot = job.slots != nullptr ? job.slots[page] : page;
  uint64_t* hashes = job.hashes + slot * L::kBlocksPerPage;
  const bool known = job.known[slot] != 0;
  const bool leader = lane % L::kLanesPerBlock == 0;
  const uint32_t block_in_step = lane / L::kLanesPerBlock;
  uint64_t stored[kSteps];
#pragma unroll
  for (uint32_t s = 0; s < kSteps; ++s)
    stored[s] = leader && known ? hashes[s * L::kBlocksPerStep + block_in_step] : 0;

  const LaneKeys keys = lane_keys<kWords>(lane);
  uint64_t changed[kBitmapWords] = {};
  uint64_t zero[kBitmapWords] = {};
#pragma unroll
  for (uint32_t s = 0; s < kSteps; ++s) {
    const BlockResult r = hash_lane_block<kWords>(v[s], keys, job.hash_mask);
    const uint32_t first_block = s * L::kBlocksPerStep;
    if (leader) hashes[first_block + block_in_step] = r.hash;
    const uint64_t differs =
        block_bits<kWords>(__ballot_sync(kAllLanes, !known || r.hash != stored[s]));
    const uint64_t is_zero = block_bits<kWords>(__ballot_sync(kAllLanes, r.is_zero));
    changed[first_block / 64] |= differs << (first_block % 64);
    zero[first_block / 64] |= is_zero << (first_block % 64);
  }
  store_bitmap(changed, lane, job.changed + page * kBitmapWords);
  if (job.zero != nullptr) store_bitmap(zero, lane, job.zero + page * kBitmapWords);
  if (job.mark_known && lane == 0) job.known[slot] = 1;
}

// One warp per 4 KiB of data; blocks past n_blocks are neither read nor
// written.
template <uint32_t kWords>
__global__ void __launch_bounds__(kThreadsPerCta)
    hash_blocks_kernel(const uint8_t* data, size_t n_blocks, uint64_t hash_mask, uint64_t* out) {
  using L = StepLayout<kWords>;
  const size_t chunk = static_cast<size_t>(blockIdx.x) * kWarpsPerCta + threadIdx.x / kWarp;
  const size_t first_block = chunk * L::kBlocksPerPage;
  if (first_block >= n_blocks) return;  // uniform across the warp
  const uint32_t lane = threadIdx.x % kWarp;
  const size_t bytes = (n_blocks - first_block) * kWords * 8;
  const uint4* in = reinterpret_cast<const uint4*>(data + first_block * kWords * 8) + lane;

  uint4 v[kSteps];
#pragma unroll
  for (uint32_t s = 0; s < kSteps; ++s)
    v[s] = (s * kWarp + lane) * 16 < bytes ? in[s * kWarp] : make_uint4(0, 0, 0, 0);

  const LaneKeys keys = lane_keys<kWords>(lane);
#pragma unroll
  for (uint32_t s = 0; s < kSteps; ++s) {
    const BlockResult r = hash_lane_block<kWords>(v[s], keys, hash_mask);
    const size_t block = first_block + s * L::kBlocksPerStep + lane / L::kLanesPerBlock;
    if (lane % L::kLanesPerBlock == 0 && block < n_blocks) out[block] = r.hash;
  }
}

// Calls fn(std::integral_constant<uint32_t, words per block>), or returns
// cudaErrorInvalidValue for a block size FGBH64 does not define.
template <class Fn>
cudaError_t with_block_words(uint32_t block_size, Fn&& fn) {
  switch (block_size) {
    case 32: return fn(std::integral_constant<uint32_t, 4>());
    case 64: return fn(std::integral_constant<uint32_t, 8>());
    case 128: return fn(std::integral_constant<uint32_t, 16>());
    case 256: return fn(std::integral_constant<uint32_t, 32>());
    default: return cudaErrorInvalidValue;
  }
}

unsigned ctas_for(size_t warps) {
  return static_cast<unsigned>((warps + kWarpsPerCta - 1) / kWarpsPerCta);
}

}  // namespace

cudaError_t launch_identify(const DeviceIdentify& job, cudaStream_t stream) {
  if (job.count == 0) return cudaSuccess;
  return with_block_words(job.block_size, [&](auto words) {
    identify_kernel<decltype(words)::value>
        <<<ctas_for(job.count), kThreadsPerCta, 0, stream>>>(job);
    return cudaGetLastError();
  });
}

cudaError_t launch_hash_blocks(const uint8_t* data, size_t n_blocks, uint32_t block_size,
                               uint64_t hash_mask, uint64_t* out, cudaStream_t stream) {
  if (n_blocks == 0) return cudaSuccess;
  return with_block_words(block_size, [&](auto words) {
    constexpr uint32_t kBlocksPerWarp = StepLayout<decltype(words)::value>::kBlocksPerPage;
    hash_blocks_kernel<decltype(words)::value>
        <<<ctas_for((n_blocks + kBlocksPerWarp - 1) / kBlocksPerWarp), kThreadsPerCta, 0, stream>>>(
            data, n_blocks, hash_mask, out);
    return cudaGetLastError();
  });
}

cudaError_t check_kernel_image() {
  cudaFuncAttributes attributes;
  return cudaFuncGetAttributes(&attributes, identify_kernel<8>);
}

}  // namespace fgbi::kernels::cuda
