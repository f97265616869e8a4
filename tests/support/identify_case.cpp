#include "support/identify_case.hpp"

#include <cstring>

namespace fgbi::test {

using kernels::kBitmapWords;
using kernels::kPageSize;

void fill_random(uint8_t* p, size_t n, std::mt19937_64& rng) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng());
}

IdentifyCase::IdentifyCase(size_t count, uint32_t block_size, uint64_t mask, std::mt19937_64& rng) {
  const uint32_t blocks = kPageSize / block_size;
  for (size_t p = 0; p < count; ++p) {
    pages.emplace_back(kPageSize, (p * 13) % 64);
    uint8_t* page = pages.back().data();
    fill_random(page, kPageSize, rng);
    for (uint32_t b = 0; b < blocks; ++b)
      if (rng() % 4 == 0) std::memset(page + b * block_size, 0, block_size);
    if (p % 5 == 0) std::memset(page, 0, kPageSize);
    page_ptrs.push_back(page);
    std::vector<uint64_t> stored(blocks);
    kernels::scalar_kernels()->hash_blocks(page, blocks, block_size, mask, stored.data());
    hashes.push_back(stored);
    for (uint32_t b = 0; b < blocks; ++b)
      if (rng() % 8 == 0) page[b * block_size + rng() % block_size] ^= 1 + rng() % 255;
    known.push_back(p % 3 != 0);
    copy_all.push_back(p % 4 == 1);
  }
}

IdentifyCase::Result IdentifyCase::run(const kernels::KernelTable& kernels, uint32_t block_size,
                                       uint64_t mask, bool want_zero, bool stream_staged) const {
  Result r{
      hashes, std::vector<uint64_t>(pages.size() * kBitmapWords, 0xDEAD),
      std::vector<uint64_t>(pages.size() * kBitmapWords, 0xDEAD),
      std::vector<std::vector<uint8_t>>(pages.size(), std::vector<uint8_t>(kPageSize, kUnstaged))};
  std::vector<uint64_t*> hash_ptrs;
  for (auto& h : r.hashes) hash_ptrs.push_back(h.data());
  std::vector<UnalignedBuffer> aligned;  // misalign 0: 64-byte aligned
  std::vector<uint8_t*> staged_ptrs;
  for (auto& s : r.staged) {
    if (!stream_staged) {
      staged_ptrs.push_back(s.data());
      continue;
    }
    aligned.emplace_back(kPageSize, 0);
    std::memcpy(aligned.back().data(), s.data(), kPageSize);
    staged_ptrs.push_back(aligned.back().data());
  }
  kernels::IdentifyBatch batch;
  batch.count = pages.size();
  batch.block_size = block_size;
  batch.hash_mask = mask;
  batch.pages = page_ptrs.data();
  batch.hashes = hash_ptrs.data();
  batch.known = known.data();
  batch.changed = r.changed.data();
  batch.zero = want_zero ? r.zero.data() : nullptr;
  batch.staged = staged_ptrs.data();
  batch.copy_all = copy_all.data();
  batch.stream_staged = stream_staged;
  kernels.identify(batch);
  if (stream_staged) {
    kernels::end_streamed_writes();
    for (size_t p = 0; p < r.staged.size(); ++p)
      std::memcpy(r.staged[p].data(), staged_ptrs[p], kPageSize);
  }
  return r;
}

}  // namespace fgbi::test
