// Synthetic `xl remus` streams for the proxy tests, written from Xen's
// specs (docs/specs/libxl-migration-stream.pandoc, libxc-migration-
// stream.pandoc) and xl's save-file header: a guest of a few hundred pages,
// its first checkpoint with every page, then checkpoints in which a few
// 64-byte blocks change. Header-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace fgbi::test {

class XlStreamBuilder {
 public:
  std::vector<uint8_t> bytes;
  // Offsets in bytes just past each libxl CHECKPOINT_END.
  std::vector<size_t> checkpoint_ends;

  void u8(uint8_t v) { bytes.push_back(v); }
  void le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void le64(uint64_t v) {
    le32(static_cast<uint32_t>(v));
    le32(static_cast<uint32_t>(v >> 32));
  }
  void be32(uint32_t v) {
    for (int i = 3; i >= 0; --i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void be64(uint64_t v) {
    be32(static_cast<uint32_t>(v >> 32));
    be32(static_cast<uint32_t>(v));
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }

  // xl's save-file header with the JSON configuration as optional data.
  void xl_header(const std::string& config = "{\"c_info\":{\"name\":\"guest\"}}") {
    raw("Xen saved domain, xl format\n \0 \r", 32);
    le32(0x01020304);
    le32(3);  // JSON | STREAMv2
    le32(0);
    le32(static_cast<uint32_t>(4 + config.size() + 1));
    le32(static_cast<uint32_t>(config.size() + 1));
    raw(config.c_str(), config.size() + 1);
  }
  void libxl_header() {
    be64(0x4c6962786c466d74ull);
    be32(2);
    be32(0);
  }
  void record(uint32_t type, const std::vector<uint8_t>& body) {
    le32(type);
    le32(static_cast<uint32_t>(body.size()));
    raw(body.data(), body.size());
    while (bytes.size() % 8) u8(0);
  }
  void libxc_headers(uint32_t guest_type = 2) {
    be64(~uint64_t{0});
    be32(0x58454E46);
    be32(3);
    u8(0), u8(0);  // options: little-endian
    for (int i = 0; i < 6; ++i) u8(0);
    le32(guest_type);
    u8(12), u8(0), u8(0), u8(0);  // page_shift, reserved
    le32(4);
    le32(17);
  }
  // PAGE_DATA of the given pfn words; contents for those whose type has data.
  void page_data(const std::vector<uint64_t>& words,
                 const std::vector<const std::vector<uint8_t>*>& pages) {
    XlStreamBuilder body;
    body.le32(static_cast<uint32_t>(words.size()));
    body.le32(0);
    for (uint64_t w : words) body.le64(w);
    for (const auto* p : pages) body.raw(p->data(), p->size());
    record(0x01, body.bytes);
  }
  static std::vector<uint8_t> blob(size_t n, uint8_t seed) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
  }
};

// A guest's memory and a Remus stream of it.
struct SyntheticRemus {
  static constexpr size_t kPage = 4096;
  // Guest pfns: RAM pages 0..ram-1 and two special pages just under 4 GiB.
  std::vector<uint64_t> pfns;
  std::vector<std::vector<uint8_t>> pages;
  std::mt19937_64 rng{42};
  XlStreamBuilder b;

  explicit SyntheticRemus(size_t ram = 300) {
    for (size_t i = 0; i < ram; ++i) pfns.push_back(i);
    pfns.push_back(0xfeff0);
    pfns.push_back(0xfeff1);
    pages.resize(pfns.size(), std::vector<uint8_t>(kPage, 0));
    for (size_t i = 0; i < pages.size(); ++i)
      if (i % 5 != 0)  // every fifth page stays zero
        for (auto& byte : pages[i]) byte = static_cast<uint8_t>(rng());
  }

  // PAGE_DATA records of the listed pages in batches of `batch`, with an
  // XTAB pfn (no contents) in the first batch.
  void send_pages(const std::vector<size_t>& which, size_t batch, bool with_xtab) {
    for (size_t at = 0; at < which.size(); at += batch) {
      std::vector<uint64_t> words;
      std::vector<const std::vector<uint8_t>*> data;
      if (with_xtab && at == 0) words.push_back(uint64_t{0xf} << 60 | 0x7777);
      for (size_t k = at; k < which.size() && k < at + batch; ++k) {
        words.push_back(pfns[which[k]]);
        data.push_back(&pages[which[k]]);
      }
      b.page_data(words, data);
    }
  }
  // The records libxc and libxl write at the end of every checkpoint.
  void end_checkpoint(uint8_t seed) {
    b.record(0x08, XlStreamBuilder::blob(24, seed));          // X86_TSC_INFO
    b.record(0x09, XlStreamBuilder::blob(1013, seed));        // HVM_CONTEXT, padded
    b.record(0x0a, XlStreamBuilder::blob(8 + 16 * 3, seed));  // HVM_PARAMS
    b.record(0x0e, {});                                       // CHECKPOINT
    b.record(0x02, XlStreamBuilder::blob(45, seed));          // libxl EMULATOR_XENSTORE_DATA
    b.record(0x04, {});                                       // libxl CHECKPOINT_END
    b.checkpoint_ends.push_back(b.bytes.size());
  }
  // Preamble, headers and checkpoint 0: every page.
  void start() {
    b.xl_header();
    b.libxl_header();
    b.record(0x01, {});  // libxl LIBXC_CONTEXT
    b.libxc_headers();
    b.record(0x11, XlStreamBuilder::blob(40, 1));  // X86_CPUID_POLICY
    b.record(0x10, {});                            // STATIC_DATA_END
    std::vector<size_t> all(pfns.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    send_pages(all, 128, true);
    end_checkpoint(0);
  }
  // One checkpoint: `dirty` pages each get `blocks` changed 64-byte blocks.
  void checkpoint(size_t dirty, size_t blocks, uint8_t seed) {
    std::vector<size_t> which;
    for (size_t k = 0; k < dirty; ++k) {
      const size_t i = (rng() % (pages.size() - 2));
      if (std::find(which.begin(), which.end(), i) != which.end()) continue;
      which.push_back(i);
      for (size_t n = 0; n < blocks; ++n) {
        const size_t block = rng() % (kPage / 64);
        for (size_t j = 0; j < 64; ++j) pages[i][block * 64 + j] = static_cast<uint8_t>(rng());
      }
    }
    std::sort(which.begin(), which.end());
    send_pages(which, 1024, false);
    end_checkpoint(seed);
  }
};

}  // namespace fgbi::test
