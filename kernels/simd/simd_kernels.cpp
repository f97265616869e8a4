// SIMD kernels: Google Highway with runtime dispatch.
//
// foreach_target.h compiles this file once per Highway target (on x86:
// SCALAR or EMU128, SSSE3, SSE4, AVX2, AVX3); the HWY_ONCE part at the end
// exports those functions and fills the KernelTable, whose entries call the
// best target the CPU supports (HWY_DYNAMIC_DISPATCH, resolved per call, so
// tests can switch targets with hwy::SetSupportedTargetsForTest). Highway's
// SCALAR target and the scalable ones (SVE, RVV) forward to the scalar
// reference kernels.
//
// Block hashing (FGBH64, block_hash.hpp) with N 64-bit lanes per vector:
//  - one vector holds N consecutive words; each lane's term is
//    lo32(w ^ K) * hi32(w ^ K) + w: XOR, shift, MulEven (32x32->64), add;
//  - the terms of N blocks reduce to one vector of N block sums through a
//    pairwise-add tree (ConcatEven + ConcatOdd + Add per level); with AVX-512
//    a 64-byte block is exactly one vector and 8 blocks take 7 tree nodes;
//  - the N sums are finalized together (64-bit multiplies: native on
//    AVX-512DQ, emulated with 32-bit ones elsewhere), compared with the N
//    stored hashes at once, and the comparison mask is N bits of the
//    changed-block bitmap.
// Addition mod 2^64 is order-independent, so this grouping yields exactly
// the bits of block_hash_reference().

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <type_traits>

#include "block_hash.hpp"
#include "kernels.hpp"
#include "xor_rle.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/simd_kernels.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace fgbi::kernels::HWY_NAMESPACE {

#if HWY_TARGET == HWY_SCALAR || HWY_HAVE_SCALABLE
// Highway's scalar target has one-lane vectors and lacks the lane shuffles
// used below, and the group layout needs a compile-time lane count (SVE and
// RVV vectors have none): there the reference kernels do the work.
const KernelTable* TargetTable() { return scalar_kernels(); }
#else
namespace {

namespace hn = hwy::HWY_NAMESPACE;

using D64 = hn::ScalableTag<uint64_t>;
using V64 = hn::Vec<D64>;
constexpr size_t kLanes = hn::MaxLanes(D64());
// One comparison mask must fit a byte; page and block counts are multiples.
static_assert(kLanes >= 2 && kLanes <= 8 && (kLanes & (kLanes - 1)) == 0);

// How a group of kLanes blocks of kWords words maps onto vectors.
template <size_t kWords>
struct GroupLayout {
  // The tree's inputs ("leaves"): one block each when a block fills one or
  // more vectors, else one vector holding kLanes / kWords whole blocks.
  static constexpr size_t kLeaves = std::min(kWords, kLanes);
  static constexpr size_t kVectorsPerLeaf = kWords >= kLanes ? kWords / kLanes : 1;
  // Key for lane l of vector v within a leaf: word (v * kLanes + l) mod kWords.
  static constexpr auto kKeys = [] {
    std::array<uint64_t, kVectorsPerLeaf * kLanes> keys{};
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = kBlockKeys[i % kWords];
    return keys;
  }();
};

HWY_INLINE V64 LoadWords(const uint8_t* p) {
  // Byte loads then a cast: lanes are little-endian words on every target.
  const hn::Repartition<uint8_t, D64> d8;
  return hn::BitCast(D64(), hn::LoadU(d8, p));
}

HWY_INLINE V64 Terms(const uint8_t* p, V64 key) {
  const hn::Repartition<uint32_t, D64> d32;
  const V64 words = LoadWords(p);
  const V64 keyed = hn::Xor(words, key);
  const V64 product =
      hn::MulEven(hn::BitCast(d32, keyed), hn::BitCast(d32, hn::ShiftRight<32>(keyed)));
  return hn::Add(product, words);
}

template <size_t kWords>
HWY_INLINE V64 Leaf(const uint8_t* group, size_t leaf) {
  using L = GroupLayout<kWords>;
  const D64 d;
  const uint8_t* p = group + leaf * L::kVectorsPerLeaf * kLanes * 8;
  V64 sum = Terms(p, hn::LoadU(d, L::kKeys.data()));
  for (size_t v = 1; v < L::kVectorsPerLeaf; ++v)
    sum = hn::Add(sum, Terms(p + v * kLanes * 8, hn::LoadU(d, L::kKeys.data() + v * kLanes)));
  return sum;
}

// Sums adjacent lane pairs: lanes of `lo` into the lower half, of `hi` into
// the upper half. Applied level by level to consecutive leaves, it leaves
// block b's sum in lane b.
template <size_t kCount, size_t kWords>
HWY_INLINE V64 SumTree(const uint8_t* group, size_t first) {
  if constexpr (kCount == 1) {
    return Leaf<kWords>(group, first);
  } else {
    const D64 d;
    const V64 lo = SumTree<kCount / 2, kWords>(group, first);
    const V64 hi = SumTree<kCount / 2, kWords>(group, first + kCount / 2);
    return hn::Add(hn::ConcatEven(d, hi, lo), hn::ConcatOdd(d, hi, lo));
  }
}

HWY_INLINE V64 Finalize(V64 acc) {
  const D64 d;
  acc = hn::Xor(acc, hn::ShiftRight<33>(acc));
  acc = hn::Mul(acc, hn::Set(d, 0xFF51AFD7ED558CCDull));
  acc = hn::Xor(acc, hn::ShiftRight<33>(acc));
  acc = hn::Mul(acc, hn::Set(d, 0xC4CEB9FE1A85EC53ull));
  return hn::Xor(acc, hn::ShiftRight<33>(acc));
}

// Masked FGBH64 of the kLanes consecutive blocks at `group`, lane b = block b.
template <size_t kWords>
HWY_INLINE V64 HashGroup(const uint8_t* group, V64 mask) {
  const V64 init = hn::Set(D64(), block_hash_init(kWords * 8));
  const V64 sums = SumTree<GroupLayout<kWords>::kLeaves, kWords>(group, 0);
  return hn::And(Finalize(hn::Add(sums, init)), mask);
}

HWY_INLINE uint64_t MaskBits(hn::Mask<D64> mask) {
  uint8_t bits[8] = {};
  hn::StoreMaskBits(D64(), mask, bits);
  return bits[0];
}

template <size_t kWords>
HWY_INLINE bool BlockIsZero(const uint8_t* block) {
  const hn::CappedTag<uint64_t, kWords> d;
  const hn::Repartition<uint8_t, decltype(d)> d8;
  auto any = hn::Zero(d);
  for (size_t i = 0; i < kWords; i += hn::Lanes(d))
    any = hn::Or(any, hn::BitCast(d, hn::LoadU(d8, block + 8 * i)));
  return hn::AllTrue(d, hn::Eq(any, hn::Zero(d)));
}

// Calls fn(std::integral_constant<size_t, words per block>).
template <class Fn>
HWY_INLINE void WithBlockWords(uint32_t block_size, Fn&& fn) {
  switch (block_size) {
    case 32: return fn(std::integral_constant<size_t, 4>());
    case 64: return fn(std::integral_constant<size_t, 8>());
    case 128: return fn(std::integral_constant<size_t, 16>());
    case 256: return fn(std::integral_constant<size_t, 32>());
    default: HWY_ABORT("fgbi simd kernels: unsupported block size %u", block_size);
  }
}

template <size_t kWords>
void HashBlocksT(const uint8_t* data, size_t n_blocks, uint64_t hash_mask, uint64_t* out) {
  constexpr size_t kBlockBytes = kWords * 8;
  const D64 d;
  const V64 mask = hn::Set(d, hash_mask);
  size_t b = 0;
  for (; b + kLanes <= n_blocks; b += kLanes)
    hn::StoreU(HashGroup<kWords>(data + b * kBlockBytes, mask), d, out + b);
  for (; b < n_blocks; ++b)
    out[b] = block_hash_reference(data + b * kBlockBytes, kBlockBytes) & hash_mask;
}

template <size_t kBytes>
HWY_INLINE void CopyBlock(const uint8_t* from, uint8_t* to) {
  const hn::CappedTag<uint8_t, kBytes> d8;
  for (size_t i = 0; i < kBytes; i += hn::Lanes(d8))
    hn::StoreU(hn::LoadU(d8, from + i), d8, to + i);
}

// CopyBlock with non-temporal stores; `to` is aligned to the vector.
template <size_t kBytes>
HWY_INLINE void StreamBlock(const uint8_t* from, uint8_t* to) {
  const hn::CappedTag<uint8_t, kBytes> d8;
  for (size_t i = 0; i < kBytes; i += hn::Lanes(d8))
    hn::Stream(hn::LoadU(d8, from + i), d8, to + i);
}

template <size_t kWords, bool kFindZero>
void IdentifyT(const IdentifyBatch& batch) {
  constexpr size_t kBlockBytes = kWords * 8;
  constexpr size_t kBlocks = kPageSize / kBlockBytes;
  static_assert(kBlocks % kLanes == 0 && 64 % kLanes == 0);
  const D64 d;
  const V64 mask = hn::Set(d, batch.hash_mask);
  // Only blocks hashing like a zero block can be zero; those are checked.
  static constexpr uint8_t kZeroBlock[kBlockBytes] = {};
  const V64 zero_hash = hn::Set(d, block_hash_reference(kZeroBlock, kBlockBytes) & batch.hash_mask);
  constexpr uint64_t kGroupBits = (1ull << kLanes) - 1;

  for (size_t p = 0; p < batch.count; ++p) {
    const uint8_t* page = batch.pages[p];
    uint64_t* hashes = batch.hashes[p];
    // Dirty pages lie apart in memory, where the hardware prefetcher stops
    // at each page's end: the page after next and its hashes are requested
    // group by group while this page is hashed (one page ahead left the
    // capture pass waiting on memory: docs/PERFORMANCE.md).
    const bool ahead = p + 2 < batch.count;
    const uint8_t* next_page = ahead ? batch.pages[p + 2] : nullptr;
    const uint64_t* next_hashes = ahead ? batch.hashes[p + 2] : nullptr;
    uint64_t changed[kBitmapWords] = {};
    uint64_t zero[kBitmapWords] = {};
    uint8_t* staged = batch.staged ? batch.staged[p] : nullptr;
    const bool stream = batch.stream_staged && reinterpret_cast<uintptr_t>(staged) % 64 == 0;
    for (size_t b = 0; b < kBlocks; b += kLanes) {
      const uint8_t* group = page + b * kBlockBytes;
      if (ahead) {
        for (size_t line = 0; line < kLanes * kBlockBytes; line += 64)
          hwy::Prefetch(next_page + b * kBlockBytes + line);
        if (b % (64 / sizeof(uint64_t)) == 0) hwy::Prefetch(next_hashes + b);
      }
      const V64 h = HashGroup<kWords>(group, mask);
      const uint64_t same = MaskBits(hn::Eq(h, hn::LoadU(d, hashes + b)));
      hn::StoreU(h, d, hashes + b);
      changed[b / 64] |= (~same & kGroupBits) << (b % 64);
      if (staged != nullptr) {
        // The group is still in registers' reach (L1): copy it out now.
        for (uint64_t c = staged_bits(batch, p, ~same, kGroupBits); c != 0; c &= c - 1) {
          const uint8_t* block = group + static_cast<size_t>(std::countr_zero(c)) * kBlockBytes;
          if (stream)
            StreamBlock<kBlockBytes>(block, staged);
          else
            CopyBlock<kBlockBytes>(block, staged);
          staged += kBlockBytes;
        }
      }
      if constexpr (kFindZero) {
        for (uint64_t c = MaskBits(hn::Eq(h, zero_hash)); c != 0; c &= c - 1) {
          const size_t block = b + static_cast<size_t>(std::countr_zero(c));
          if (BlockIsZero<kWords>(page + block * kBlockBytes))
            zero[block / 64] |= 1ull << (block % 64);
        }
      }
    }
    if (batch.known[p] == 0) {
      for (size_t w = 0; w < kBitmapWords; ++w) changed[w] = 0;
      for (size_t b = 0; b < kBlocks; ++b) changed[b / 64] |= 1ull << (b % 64);
    }
    std::memcpy(batch.changed + p * kBitmapWords, changed, sizeof changed);
    if constexpr (kFindZero) std::memcpy(batch.zero + p * kBitmapWords, zero, sizeof zero);
  }
}

// Copies the blocks of `page` selected by `bitmap` to (gather: Page is
// const) or from (scatter: Packed is const) consecutive blocks of `packed`;
// a scatter with kStream writes with StreamBlock (page 64-byte aligned).
template <size_t kWords, bool kStream = false, class Page, class Packed>
void CopyBlocksT(Page* page, const uint64_t* bitmap, Packed* packed) {
  constexpr size_t kBlockBytes = kWords * 8;
  for (size_t w = 0; w < kBitmapWords; ++w) {
    for (uint64_t bits = bitmap[w]; bits != 0; bits &= bits - 1) {
      Page* block = page + (w * 64 + static_cast<size_t>(std::countr_zero(bits))) * kBlockBytes;
      if constexpr (std::is_const_v<Page>)
        CopyBlock<kBlockBytes>(block, packed);
      else if constexpr (kStream)
        StreamBlock<kBlockBytes>(packed, block);
      else
        CopyBlock<kBlockBytes>(packed, block);
      packed += kBlockBytes;
    }
  }
}

// Bit i set where current[i] != previous[i], for 64 bytes.
HWY_INLINE uint64_t DiffBits64(const uint8_t* current, const uint8_t* previous) {
  const hn::CappedTag<uint8_t, 64> d8;
  const size_t lanes = hn::Lanes(d8);
  uint64_t diff = 0;
  for (size_t i = 0; i < 64; i += lanes) {
    uint8_t bits[8] = {};
    hn::StoreMaskBits(d8, hn::Ne(hn::LoadU(d8, current + i), hn::LoadU(d8, previous + i)), bits);
    diff |= load_le64(bits) << i;
  }
  return diff;
}

// The difference bits of bytes [64k, 64k + 64) of current and previous
// (size bytes each), clear past size.
HWY_INLINE uint64_t DiffWord(const uint8_t* current, const uint8_t* previous, size_t size,
                             size_t k) {
  const size_t offset = k * 64;
  if (size - offset >= 64) return DiffBits64(current + offset, previous + offset);
  uint8_t current_tail[64] = {}, previous_tail[64] = {};
  std::memcpy(current_tail, current + offset, size - offset);
  std::memcpy(previous_tail, previous + offset, size - offset);
  return DiffBits64(current_tail, previous_tail);
}

// out[i] = a[i] ^ b[i] for i < n, touching no other byte (out may be a):
// whole vectors, the last one ending at n and loaded before any store, or
// two overlapping pieces. Exact, so a decoder's next literal never reads
// data a wider store is still writing.
HWY_INLINE void XorExact(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t n) {
  const hn::CappedTag<uint8_t, 64> d;
  const size_t lanes = hn::Lanes(d);
  if (n >= lanes) {
    const auto last = hn::Xor(hn::LoadU(d, a + n - lanes), hn::LoadU(d, b + n - lanes));
    for (size_t i = 0; i + lanes < n; i += lanes)
      hn::StoreU(hn::Xor(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
    hn::StoreU(last, d, out + n - lanes);
    return;
  }
  // Narrower vectors only where they are narrower than d.
  const auto xor_ends = [&](auto dn) HWY_ATTR {
    const size_t piece = hn::Lanes(dn);
    const auto head = hn::Xor(hn::LoadU(dn, a), hn::LoadU(dn, b));
    const auto tail = hn::Xor(hn::LoadU(dn, a + n - piece), hn::LoadU(dn, b + n - piece));
    hn::StoreU(head, dn, out);
    hn::StoreU(tail, dn, out + n - piece);
  };
  if (n >= 32)
    xor_ends(hn::CappedTag<uint8_t, 32>());
  else if (n > 16)
    xor_ends(hn::CappedTag<uint8_t, 16>());
  else
    xor_rle_xor_small(out, a, b, n);
}

// The per-target kernels, as a table.

void HashBlocks(const uint8_t* data, size_t n_blocks, uint32_t block_size, uint64_t hash_mask,
                uint64_t* out) {
  WithBlockWords(block_size, [&](auto words) HWY_ATTR {
    HashBlocksT<decltype(words)::value>(data, n_blocks, hash_mask, out);
  });
}

void Identify(const IdentifyBatch& batch) {
  WithBlockWords(batch.block_size, [&](auto words) HWY_ATTR {
    if (batch.zero != nullptr)
      IdentifyT<decltype(words)::value, true>(batch);
    else
      IdentifyT<decltype(words)::value, false>(batch);
  });
}

// kLanes blocks' terms per vector, lane i mixing block b + i; the lanes'
// sums add up in any order.
uint64_t PageCheck(const uint64_t* hashes, uint32_t blocks) {
  const D64 d;
  V64 index_key = hn::Mul(hn::Iota(d, 0), hn::Set(d, kPageCheckIndexKey));
  const V64 step = hn::Set(d, kLanes * kPageCheckIndexKey);
  V64 sum = hn::Zero(d);
  uint32_t b = 0;
  for (; b + kLanes <= blocks; b += kLanes) {
    sum = hn::Add(sum, Finalize(hn::Xor(hn::LoadU(d, hashes + b), index_key)));
    index_key = hn::Add(index_key, step);
  }
  // Lane by lane: GCC's AVX-512 horizontal add sums the lanes as signed
  // integers, whose wrap-around UndefinedBehaviorSanitizer reports.
  uint64_t lanes[kLanes];
  hn::StoreU(sum, d, lanes);
  uint64_t total = 0;
  for (const uint64_t lane : lanes) total += lane;
  for (; b < blocks; ++b) total += page_check_term(b, hashes[b]);
  return total;
}

void GatherBlocks(const uint8_t* page, const uint64_t* bitmap, uint32_t block_size, uint8_t* out) {
  WithBlockWords(block_size, [&](auto words) HWY_ATTR {
    CopyBlocksT<decltype(words)::value>(page, bitmap, out);
  });
}

void ScatterBlocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  WithBlockWords(block_size, [&](auto words) HWY_ATTR {
    CopyBlocksT<decltype(words)::value>(page, bitmap, in);
  });
}

// The blocks of a 64-byte-aligned page (every block then vector-aligned)
// are written with non-temporal stores; any other page as ScatterBlocks
// writes it.
void StreamBlocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  if (reinterpret_cast<uintptr_t>(page) % 64 != 0) {
    ScatterBlocks(page, bitmap, block_size, in);
    return;
  }
  WithBlockWords(block_size, [&](auto words) HWY_ATTR {
    CopyBlocksT<decltype(words)::value, true>(page, bitmap, in);
  });
}

size_t XorRleEncode(const uint8_t* current, const uint8_t* previous, size_t size, uint8_t* out,
                    size_t capacity) {
  return xor_rle_encode_with(
      size, out, capacity, [=](size_t k) HWY_ATTR { return DiffWord(current, previous, size, k); },
      [=](uint8_t* to, size_t start, size_t length, size_t room) HWY_ATTR {
        // Most literals are short: one vector, its excess overwritten by
        // the next pair or left past the delta's end.
        const hn::CappedTag<uint8_t, 64> d;
        const size_t lanes = hn::Lanes(d);
        if (length <= lanes && room >= lanes)
          hn::StoreU(hn::Xor(hn::LoadU(d, current + start), hn::LoadU(d, previous + start)), d, to);
        else
          XorExact(to, current + start, previous + start, length);
      });
}

bool XorRleDecode(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size) {
  return xor_rle_walk(delta, delta_size, size,
                      [data](size_t offset, const uint8_t* literal, size_t length)
                          HWY_ATTR { XorExact(data + offset, data + offset, literal, length); });
}

void XorRanges(uint8_t* out, const XorRange* ranges, size_t count) {
  for (const XorRange* r = ranges; r != ranges + count; ++r)
    XorExact(out + r->at, out + r->at, r->literal, r->bytes);
}

constexpr KernelTable kTargetTable = {"simd",       HashBlocks,    Identify,     PageCheck,
                                      GatherBlocks, ScatterBlocks, StreamBlocks, XorRleEncode,
                                      XorRleDecode, XorRanges};

}  // namespace

const KernelTable* TargetTable() { return &kTargetTable; }
#endif  // HWY_TARGET == HWY_SCALAR || HWY_HAVE_SCALABLE

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace fgbi::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace fgbi::kernels {

HWY_EXPORT(TargetTable);
HWY_EXPORT(TargetName);

namespace {

// Entries of the public table: each call runs the best target the CPU
// supports (or the one a test selected).
void hash_blocks(const uint8_t* data, size_t n_blocks, uint32_t block_size, uint64_t hash_mask,
                 uint64_t* out) {
  HWY_DYNAMIC_DISPATCH(TargetTable)()->hash_blocks(data, n_blocks, block_size, hash_mask, out);
}
void identify(const IdentifyBatch& batch) { HWY_DYNAMIC_DISPATCH(TargetTable)()->identify(batch); }
uint64_t page_check(const uint64_t* hashes, uint32_t blocks) {
  return HWY_DYNAMIC_DISPATCH(TargetTable)()->page_check(hashes, blocks);
}
void gather_blocks(const uint8_t* page, const uint64_t* bitmap, uint32_t block_size, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(TargetTable)()->gather_blocks(page, bitmap, block_size, out);
}
void scatter_blocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  HWY_DYNAMIC_DISPATCH(TargetTable)()->scatter_blocks(page, bitmap, block_size, in);
}
void stream_blocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  HWY_DYNAMIC_DISPATCH(TargetTable)()->stream_blocks(page, bitmap, block_size, in);
}
size_t xor_rle_encode(const uint8_t* current, const uint8_t* previous, size_t size, uint8_t* out,
                      size_t capacity) {
  return HWY_DYNAMIC_DISPATCH(TargetTable)()->xor_rle_encode(current, previous, size, out,
                                                             capacity);
}
bool xor_rle_decode(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size) {
  return HWY_DYNAMIC_DISPATCH(TargetTable)()->xor_rle_decode(delta, delta_size, data, size);
}
void xor_ranges(uint8_t* out, const XorRange* ranges, size_t count) {
  HWY_DYNAMIC_DISPATCH(TargetTable)()->xor_ranges(out, ranges, count);
}

constexpr KernelTable kSimd = {"simd",         hash_blocks,    identify,      page_check,
                               gather_blocks,  scatter_blocks, stream_blocks, xor_rle_encode,
                               xor_rle_decode, xor_ranges};

// Vector lanes are loaded as little-endian words; a big-endian host keeps
// the scalar backend.
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

}  // namespace

const KernelTable* simd_kernels() { return kLittleEndian ? &kSimd : nullptr; }

// sfence where the CPU has one: what every target's Stream needs.
void end_streamed_writes() { hwy::FlushStream(); }

const char* simd_target_name() {
  return kLittleEndian ? HWY_DYNAMIC_DISPATCH(TargetName)() : nullptr;
}

}  // namespace fgbi::kernels
#endif  // HWY_ONCE
