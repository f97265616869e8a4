// The payload of a CODED_PAGE record (kind 0x04, docs/wire-format.md):
//
//   codec:u8  bitmap[page/block/8]  ops[ceil(2k/8)]  refs  literal-section
//
// k = changed blocks (bits set in bitmap). ops holds a 2-bit BlockOp per
// changed block, in block order, least significant bits first; unused bits
// are zero. refs holds, for each kRefEpoch/kRefReplica op in order,
// ULEB128 pfn, u8 block, u64 FGBH64 of the block's content. The literal
// section carries the kLiteral blocks, concatenated, encoded by `codec`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/compressor.hpp"
#include "fgbi.h"
#include "kernels.hpp"

namespace fgbi::wire {

enum class BlockOp : uint8_t { kLiteral = 0, kZero = 1, kRefEpoch = 2, kRefReplica = 3 };

struct BlockRef {
  uint64_t pfn = 0;
  uint8_t block = 0;
  uint64_t hash = 0;  // FGBH64 (unmasked) of the content the block must have
};

inline constexpr size_t kMaxRefBytes = 10 + 1 + 8;  // ULEB128 pfn, block, hash

inline BlockOp block_op(const uint8_t* ops, uint32_t i) {
  return static_cast<BlockOp>((ops[i / 4] >> (2 * (i % 4))) & 3);
}
inline size_t ops_bytes(uint32_t changed) { return (2 * size_t{changed} + 7) / 8; }

// A structurally valid coded page; pointers into the record's payload.
struct CodedPage {
  codec::Codec codec = codec::Codec::kRaw;
  uint64_t bitmap[kernels::kBitmapWords] = {};
  uint32_t changed = 0;         // blocks the record writes
  uint32_t literal_blocks = 0;  // of which literal
  const uint8_t* ops = nullptr;
  std::vector<BlockRef> refs;  // in op order
  const uint8_t* literal = nullptr;
  size_t literal_bytes = 0;  // encoded size
};

// Parses and checks shape: known codec, nonzero bitmap, zero padding bits,
// well-formed refs with block < blocks per page, a raw section of exactly
// literal_blocks * block_size bytes, no literal section without literals.
// Pfns are not range-checked here. FGBI_E_BAD_RECORD on any violation.
fgbi_status parse_coded_page(const uint8_t* payload, size_t size, uint32_t page_size,
                             uint32_t block_size, CodedPage* out);

// Writes the fixed part (codec, bitmap, ops, refs) at out and returns its
// size; ops[i] is the op of the i-th changed block.
size_t write_coded_prefix(codec::Codec codec, const uint64_t* bitmap, size_t bitmap_bytes,
                          const BlockOp* ops, uint32_t changed, const BlockRef* refs, size_t n_refs,
                          uint8_t* out);

}  // namespace fgbi::wire
