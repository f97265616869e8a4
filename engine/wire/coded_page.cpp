#include "wire/coded_page.hpp"

#include <bit>
#include <cstring>

#include "common/bytes.hpp"
#include "wire/format.hpp"

namespace fgbi::wire {

fgbi_status parse_coded_page(const uint8_t* payload, size_t size, uint32_t page_size,
                             uint32_t block_size, CodedPage* out) {
  const size_t bm_bytes = bitmap_bytes(page_size, block_size);
  const uint8_t* p = payload;
  const uint8_t* const end = payload + size;
  if (size < 1 + bm_bytes) return FGBI_E_BAD_RECORD;
  if (*p > static_cast<uint8_t>(codec::Codec::kZstd)) return FGBI_E_BAD_RECORD;
  out->codec = static_cast<codec::Codec>(*p++);
  load_bitmap(p, bm_bytes, out->bitmap, kernels::kBitmapWords);
  p += bm_bytes;
  out->changed = 0;
  for (uint64_t w : out->bitmap) out->changed += static_cast<uint32_t>(std::popcount(w));
  if (out->changed == 0) return FGBI_E_BAD_RECORD;

  const size_t n_ops = ops_bytes(out->changed);
  if (static_cast<size_t>(end - p) < n_ops) return FGBI_E_BAD_RECORD;
  out->ops = p;
  const uint32_t used_bits = 2 * out->changed;
  if (used_bits % 8 != 0 && (p[n_ops - 1] >> (used_bits % 8)) != 0) return FGBI_E_BAD_RECORD;
  p += n_ops;

  out->refs.clear();
  out->literal_blocks = 0;
  const uint32_t blocks = page_size / block_size;
  for (uint32_t i = 0; i < out->changed; ++i) {
    const BlockOp op = block_op(out->ops, i);
    if (op == BlockOp::kLiteral) ++out->literal_blocks;
    if (op != BlockOp::kRefEpoch && op != BlockOp::kRefReplica) continue;
    BlockRef ref;
    if (!load_uleb128(&p, end, &ref.pfn) || end - p < 9) return FGBI_E_BAD_RECORD;
    ref.block = *p++;
    if (ref.block >= blocks) return FGBI_E_BAD_RECORD;
    ref.hash = load_le<uint64_t>(p);
    p += 8;
    out->refs.push_back(ref);
  }

  out->literal = p;
  out->literal_bytes = static_cast<size_t>(end - p);
  const size_t raw_bytes = size_t{out->literal_blocks} * block_size;
  if (out->literal_blocks == 0)
    return out->literal_bytes == 0 && out->codec == codec::Codec::kRaw ? FGBI_OK
                                                                       : FGBI_E_BAD_RECORD;
  if (out->codec == codec::Codec::kRaw && out->literal_bytes != raw_bytes) return FGBI_E_BAD_RECORD;
  if (out->literal_bytes == 0) return FGBI_E_BAD_RECORD;
  return FGBI_OK;
}

size_t write_coded_prefix(codec::Codec codec, const uint64_t* bitmap, size_t bitmap_bytes,
                          const BlockOp* ops, uint32_t changed, const BlockRef* refs, size_t n_refs,
                          uint8_t* out) {
  uint8_t* p = out;
  *p++ = static_cast<uint8_t>(codec);
  store_bitmap(bitmap, bitmap_bytes, p);
  p += bitmap_bytes;
  const size_t n_ops = ops_bytes(changed);
  std::memset(p, 0, n_ops);
  for (uint32_t i = 0; i < changed; ++i)
    p[i / 4] |= static_cast<uint8_t>(static_cast<uint8_t>(ops[i]) << (2 * (i % 4)));
  p += n_ops;
  for (size_t r = 0; r < n_refs; ++r) {
    p += store_uleb128(p, refs[r].pfn);
    *p++ = refs[r].block;
    store_le<uint64_t>(p, refs[r].hash);
    p += 8;
  }
  return static_cast<size_t>(p - out);
}

}  // namespace fgbi::wire
