#include "page_diff.hpp"

#include <cstring>

#include "common/bytes.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define FGBI_PEERS_X86 1
#endif

namespace fgbi::peers {
namespace {

// One bit per byte of x, set where the byte is nonzero (bit k = byte k).
inline uint64_t nonzero_byte_bits(uint64_t x) {
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
  const uint64_t high = (((x & kLow7) + kLow7) | x) & ~kLow7;
  // Gathers the high bit of byte k (bit 8k + 7) into bit 56 + k.
  return ((high >> 7) * 0x0102040810204080ull) >> 56;
}

void diff_bytes_portable(uint8_t* cached, const uint8_t* fresh, ByteDiff* out) {
  uint64_t summary = 0, all = 0;
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    uint64_t bits = 0;
    for (size_t k = 0; k < kChunkBytes / 8; ++k) {
      const size_t at = c * kChunkBytes + k * 8;
      const uint64_t now = load_le<uint64_t>(fresh + at);
      bits |= nonzero_byte_bits(load_le<uint64_t>(cached + at) ^ now) << (8 * k);
      all |= now;
    }
    out->changed[c] = bits;
    if (bits != 0) {
      summary |= uint64_t{1} << c;
      std::memcpy(cached + c * kChunkBytes, fresh + c * kChunkBytes, kChunkBytes);
    }
  }
  out->changed_chunks = summary;
  out->fresh_is_zero = all == 0;
}

void diff_words_portable(uint8_t* cached, const uint8_t* fresh, WordDiff* out) {
  uint64_t any = 0;
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    uint64_t bits = 0;  // 16 words of this chunk
    for (size_t k = 0; k < kChunkBytes / 8; ++k) {
      const size_t at = c * kChunkBytes + k * 8;
      const uint64_t x = load_le<uint64_t>(cached + at) ^ load_le<uint64_t>(fresh + at);
      bits |= uint64_t{static_cast<uint32_t>(x) != 0} << (2 * k);
      bits |= uint64_t{(x >> 32) != 0} << (2 * k + 1);
    }
    if (c % 4 == 0) out->changed[c / 4] = 0;
    out->changed[c / 4] |= bits << (16 * (c % 4));
    if (bits != 0) std::memcpy(cached + c * kChunkBytes, fresh + c * kChunkBytes, kChunkBytes);
    any |= bits;
  }
  out->any = any != 0;
}

#if FGBI_PEERS_X86

__attribute__((target("avx2"))) void diff_bytes_avx2(uint8_t* cached, const uint8_t* fresh,
                                                     ByteDiff* out) {
  uint64_t summary = 0;
  __m256i all = _mm256_setzero_si256();
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    auto* old_lo = reinterpret_cast<__m256i*>(cached + c * kChunkBytes);
    const auto* new_lo = reinterpret_cast<const __m256i*>(fresh + c * kChunkBytes);
    const __m256i n0 = _mm256_loadu_si256(new_lo), n1 = _mm256_loadu_si256(new_lo + 1);
    const uint32_t same0 = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(old_lo), n0)));
    const uint32_t same1 = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(old_lo + 1), n1)));
    const uint64_t bits = ~(uint64_t{same1} << 32 | same0);
    out->changed[c] = bits;
    all = _mm256_or_si256(all, _mm256_or_si256(n0, n1));
    if (bits != 0) {
      summary |= uint64_t{1} << c;
      _mm256_storeu_si256(old_lo, n0);
      _mm256_storeu_si256(old_lo + 1, n1);
    }
  }
  out->changed_chunks = summary;
  out->fresh_is_zero = _mm256_testz_si256(all, all) != 0;
}

__attribute__((target("avx2"))) void diff_words_avx2(uint8_t* cached, const uint8_t* fresh,
                                                     WordDiff* out) {
  uint64_t any = 0;
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    auto* old_lo = reinterpret_cast<__m256i*>(cached + c * kChunkBytes);
    const auto* new_lo = reinterpret_cast<const __m256i*>(fresh + c * kChunkBytes);
    const __m256i n0 = _mm256_loadu_si256(new_lo), n1 = _mm256_loadu_si256(new_lo + 1);
    const uint32_t same0 = static_cast<uint32_t>(_mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_loadu_si256(old_lo), n0))));
    const uint32_t same1 = static_cast<uint32_t>(_mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_loadu_si256(old_lo + 1), n1))));
    const uint64_t bits = ~(same1 << 8 | same0) & 0xFFFF;
    if (c % 4 == 0) out->changed[c / 4] = 0;
    out->changed[c / 4] |= bits << (16 * (c % 4));
    if (bits != 0) {
      _mm256_storeu_si256(old_lo, n0);
      _mm256_storeu_si256(old_lo + 1, n1);
    }
    any |= bits;
  }
  out->any = any != 0;
}

__attribute__((target("avx512f,avx512bw"))) void diff_bytes_avx512(uint8_t* cached,
                                                                   const uint8_t* fresh,
                                                                   ByteDiff* out) {
  uint64_t summary = 0;
  __m512i all = _mm512_setzero_si512();
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    uint8_t* old_chunk = cached + c * kChunkBytes;
    const __m512i now = _mm512_loadu_si512(fresh + c * kChunkBytes);
    const uint64_t bits = _mm512_cmpneq_epi8_mask(_mm512_loadu_si512(old_chunk), now);
    out->changed[c] = bits;
    all = _mm512_or_si512(all, now);
    if (bits != 0) {
      summary |= uint64_t{1} << c;
      _mm512_storeu_si512(old_chunk, now);
    }
  }
  out->changed_chunks = summary;
  out->fresh_is_zero = _mm512_test_epi64_mask(all, all) == 0;
}

__attribute__((target("avx512f,avx512bw"))) void diff_words_avx512(uint8_t* cached,
                                                                   const uint8_t* fresh,
                                                                   WordDiff* out) {
  uint64_t any = 0;
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    uint8_t* old_chunk = cached + c * kChunkBytes;
    const __m512i now = _mm512_loadu_si512(fresh + c * kChunkBytes);
    const uint64_t bits = _mm512_cmpneq_epi32_mask(_mm512_loadu_si512(old_chunk), now);
    if (c % 4 == 0) out->changed[c / 4] = 0;
    out->changed[c / 4] |= bits << (16 * (c % 4));
    if (bits != 0) _mm512_storeu_si512(old_chunk, now);
    any |= bits;
  }
  out->any = any != 0;
}

#endif  // FGBI_PEERS_X86

constexpr PageDiffKernels kPortable{"portable", diff_bytes_portable, diff_words_portable};
#if FGBI_PEERS_X86
constexpr PageDiffKernels kAvx2{"avx2", diff_bytes_avx2, diff_words_avx2};
constexpr PageDiffKernels kAvx512{"avx512bw", diff_bytes_avx512, diff_words_avx512};
#endif

struct Variants {
  const PageDiffKernels* list[3];
  size_t count = 0;
  Variants() {
    list[count++] = &kPortable;
#if FGBI_PEERS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) list[count++] = &kAvx2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
      list[count++] = &kAvx512;
#endif
  }
};

const Variants& variants() {
  static const Variants v;
  return v;
}

}  // namespace

bool page_is_zero(const uint8_t* page) {
  // A whole chunk per test keeps the loop vectorisable; nonzero pages
  // usually stop in the first chunk.
  for (size_t c = 0; c < kChunksPerPage; ++c) {
    uint64_t any = 0;
    for (size_t k = 0; k < kChunkBytes / 8; ++k)
      any |= load_le<uint64_t>(page + c * kChunkBytes + k * 8);
    if (any != 0) return false;
  }
  return true;
}

const PageDiffKernels& page_diff_kernels() {
  const Variants& v = variants();
  return *v.list[v.count - 1];
}

std::span<const PageDiffKernels* const> page_diff_variants() {
  const Variants& v = variants();
  return {v.list, v.count};
}

}  // namespace fgbi::peers
