// Portable reference kernels: the definition every other backend is tested
// against. Plain loops over the FGBH64 reference; no intrinsics. XOR-RLE
// uses the shared encoder (xor_rle.hpp) with 8-byte words; tests check it
// against a byte-by-byte encoder written from the format's rules.
#include <cstring>

#include "block_hash.hpp"
#include "kernels.hpp"

namespace fgbi::kernels {
namespace {

void hash_blocks(const uint8_t* data, size_t n_blocks, uint32_t block_size, uint64_t hash_mask,
                 uint64_t* out) {
  for (size_t b = 0; b < n_blocks; ++b)
    out[b] = block_hash_reference(data + b * block_size, block_size) & hash_mask;
}

bool block_is_zero(const uint8_t* block, uint32_t block_size) {
  uint64_t any = 0;
  for (uint32_t i = 0; i < block_size; i += 8) any |= load_le64(block + i);
  return any == 0;
}

void identify(const IdentifyBatch& batch) {
  const uint32_t blocks = kPageSize / batch.block_size;
  for (size_t p = 0; p < batch.count; ++p) {
    const uint8_t* page = batch.pages[p];
    uint64_t* hashes = batch.hashes[p];
    const bool known = batch.known[p] != 0;
    uint64_t* changed = batch.changed + p * kBitmapWords;
    uint64_t* zero = batch.zero ? batch.zero + p * kBitmapWords : nullptr;
    uint8_t* staged = batch.staged ? batch.staged[p] : nullptr;
    for (uint32_t w = 0; w < kBitmapWords; ++w) {
      changed[w] = 0;
      if (zero) zero[w] = 0;
    }
    for (uint32_t b = 0; b < blocks; ++b) {
      const uint8_t* block = page + b * batch.block_size;
      const uint64_t h = block_hash_reference(block, batch.block_size) & batch.hash_mask;
      const bool differs = !known || h != hashes[b];
      if (differs) changed[b / 64] |= 1ull << (b % 64);
      if (zero && block_is_zero(block, batch.block_size)) zero[b / 64] |= 1ull << (b % 64);
      hashes[b] = h;
      if (staged && staged_bits(batch, p, differs, 1)) {
        std::memcpy(staged, block, batch.block_size);
        staged += batch.block_size;
      }
    }
  }
}

void gather_blocks(const uint8_t* page, const uint64_t* bitmap, uint32_t block_size, uint8_t* out) {
  for (uint32_t w = 0; w < kBitmapWords; ++w) {
    for (uint64_t bits = bitmap[w]; bits != 0; bits &= bits - 1) {
      const uint32_t b = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
      std::memcpy(out, page + b * block_size, block_size);
      out += block_size;
    }
  }
}

void scatter_blocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  for (uint32_t w = 0; w < kBitmapWords; ++w) {
    for (uint64_t bits = bitmap[w]; bits != 0; bits &= bits - 1) {
      const uint32_t b = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
      std::memcpy(page + b * block_size, in, block_size);
      in += block_size;
    }
  }
}

// One bit per byte of x (bit k for byte k), set where the byte is nonzero.
uint64_t nonzero_byte_bits(uint64_t x) {
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
  // Bit 7 of each byte: set when its low 7 bits carry or its own bit 7 is.
  const uint64_t high = (((x & kLow7) + kLow7) | x) & ~kLow7;
  // Moves bit 8k + 7 to bit 56 + k: each byte of the constant shifts one
  // byte's flag there, and no two products land on the same bit.
  return ((high >> 7) * 0x0102040810204080ull) >> 56;
}

// Bit i set where byte 64k + i of current and previous differ (clear past size).
uint64_t diff_word(const uint8_t* current, const uint8_t* previous, size_t size, size_t k) {
  const size_t at = k * 64, n = size - at < 64 ? size - at : 64;
  uint64_t bits = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    bits |= nonzero_byte_bits(load_le64(current + at + i) ^ load_le64(previous + at + i)) << i;
  for (; i < n; ++i) bits |= uint64_t{current[at + i] != previous[at + i]} << i;
  return bits;
}

uint64_t load_word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void store_word(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

uint64_t page_check(const uint64_t* hashes, uint32_t blocks) {
  return page_check_reference(hashes, blocks);
}

size_t xor_rle_encode(const uint8_t* current, const uint8_t* previous, size_t size, uint8_t* out,
                      size_t capacity) {
  return xor_rle_encode_with(
      size, out, capacity, [=](size_t k) { return diff_word(current, previous, size, k); },
      [=](uint8_t* to, size_t start, size_t length, size_t room) {
        // Short literals, the common case, take two words when room allows.
        if (length <= 16 && room >= 16) {
          for (size_t i = 0; i < 16; i += 8)
            store_word(to + i, load_word(current + start + i) ^ load_word(previous + start + i));
        } else {
          xor_rle_xor_exact(to, current + start, previous + start, length);
        }
      });
}

bool xor_rle_decode(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size) {
  return xor_rle_walk(delta, delta_size, size,
                      [data](size_t offset, const uint8_t* literal, size_t length) {
                        xor_rle_xor_exact(data + offset, data + offset, literal, length);
                      });
}

void xor_ranges(uint8_t* out, const XorRange* ranges, size_t count) {
  for (const XorRange* r = ranges; r != ranges + count; ++r)
    xor_rle_xor_exact(out + r->at, out + r->at, r->literal, r->bytes);
}

// No stores around the cache in portable C++: stream_blocks is scatter_blocks.
constexpr KernelTable kScalar = {"scalar",       hash_blocks,    identify,       page_check,
                                 gather_blocks,  scatter_blocks, scatter_blocks, xor_rle_encode,
                                 xor_rle_decode, xor_ranges};

}  // namespace

const KernelTable* scalar_kernels() { return &kScalar; }

}  // namespace fgbi::kernels
