// Portable reference kernels: the definition every other backend is tested
// against. Plain loops over the FGBH64 reference; no intrinsics.
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
    for (uint32_t w = 0; w < kBitmapWords; ++w) {
      changed[w] = 0;
      if (zero) zero[w] = 0;
    }
    for (uint32_t b = 0; b < blocks; ++b) {
      const uint8_t* block = page + b * batch.block_size;
      const uint64_t h = block_hash_reference(block, batch.block_size) & batch.hash_mask;
      if (!known || h != hashes[b]) changed[b / 64] |= 1ull << (b % 64);
      if (zero && block_is_zero(block, batch.block_size)) zero[b / 64] |= 1ull << (b % 64);
      hashes[b] = h;
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

// Length of the literal starting at the nonzero byte x[start]: it runs to
// the last nonzero byte before kXorRleMinZeroRun zero bytes or the end.
size_t literal_length(const uint8_t* current, const uint8_t* previous, size_t size, size_t start) {
  size_t end = start + 1;
  while (end < size) {
    size_t zeros = 0;
    while (end + zeros < size && zeros < kXorRleMinZeroRun &&
           current[end + zeros] == previous[end + zeros])
      ++zeros;
    if (zeros == kXorRleMinZeroRun || end + zeros == size) break;
    end += zeros + 1;  // a short zero run and the nonzero byte after it
  }
  return end - start;
}

size_t xor_rle_encode(const uint8_t* current, const uint8_t* previous, size_t size, uint8_t* out,
                      size_t capacity) {
  size_t used = 0, offset = 0;
  for (;;) {
    size_t start = offset;
    while (start < size && current[start] == previous[start]) ++start;
    if (start == size) return used;
    const size_t length = literal_length(current, previous, size, start);
    if (uleb128_size(start - offset) + uleb128_size(length) + length > capacity - used)
      return kXorRleTooLarge;
    used += store_uleb128(out + used, start - offset);
    used += store_uleb128(out + used, length);
    for (size_t i = start; i < start + length; ++i) out[used++] = current[i] ^ previous[i];
    offset = start + length;
  }
}

bool xor_rle_decode(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size) {
  return xor_rle_walk(delta, delta_size, size,
                      [data](size_t offset, const uint8_t* literal, size_t length) {
                        for (size_t i = 0; i < length; ++i) data[offset + i] ^= literal[i];
                      });
}

constexpr KernelTable kScalar = {"scalar",       hash_blocks,    identify,      gather_blocks,
                                 scatter_blocks, xor_rle_encode, xor_rle_decode};

}  // namespace

const KernelTable* scalar_kernels() { return &kScalar; }

}  // namespace fgbi::kernels
