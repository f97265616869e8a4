// The Remus xc_compression shim (libfgbi_xc_compression), driven exactly as
// xc_domain_save/xc_domain_restore drove the Xen 4.2-4.13 API: pages added
// until -1, compressed until 0, uncompressed page by page on the backup,
// page-table pages (israw) passed through and rewritten by the backup.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "xc_compression.h"

extern "C" int remus_c_roundtrip(void);

namespace {

constexpr size_t kPage = 4096;
// Canonicalisation on the primary and its inverse on the backup differ (pfns
// vs mfns), so the backup's copy of a page-table page differs from what was
// sent. Modelled as XOR with a per-side constant.
constexpr uint8_t kCanonical = 0x5A, kBackupMfns = 0x3C;

struct Page {
  unsigned long pfn;
  bool raw;
};

class RemusPair {
 public:
  RemusPair(unsigned long pages, size_t compbuf_size)
      : pages_(pages), primary_(pages * kPage), backup_(pages * kPage), compbuf_(compbuf_size) {
    ctx_ = xc_compression_create_context(nullptr, pages);
    EXPECT_NE(ctx_, nullptr) << fgbi_xc_compression_last_error();
    std::mt19937_64 rng(1);
    for (auto& b : primary_) b = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : 0);
  }
  ~RemusPair() { xc_compression_free_context(nullptr, ctx_); }

  uint8_t* page(unsigned long pfn) { return primary_.data() + pfn * kPage; }
  comp_ctx* ctx() { return ctx_; }

  // One checkpoint: xc_domain_save's page loop and flush, then
  // xc_domain_restore's page loop over the received chunks.
  void checkpoint(const std::vector<Page>& dirty) {
    stream_.clear();
    for (const Page& p : dirty) {
      std::vector<char> copy(page(p.pfn), page(p.pfn) + kPage);
      if (p.raw)
        for (char& c : copy) c = static_cast<char>(c ^ kCanonical);
      const int rc = xc_compression_add_page(nullptr, ctx_, copy.data(), p.pfn, p.raw);
      ASSERT_NE(rc, -2) << fgbi_xc_compression_last_error();
      if (rc == -1) flush();
    }
    flush();
    restore(dirty);
  }
  // wrcompressed(): compress until 0, writing each chunk.
  void flush() {
    unsigned long len = 0;
    int rc;
    while ((rc = xc_compression_compress_pages(nullptr, ctx_, compbuf_.data(), compbuf_.size(),
                                               &len)) != 0) {
      ASSERT_TRUE(rc == 1 || rc == -1) << rc;
      ASSERT_TRUE(len > 0 || rc == 1) << fgbi_xc_compression_last_error();
      stream_.insert(stream_.end(), compbuf_.data(), compbuf_.data() + len);
      ++chunks_;
    }
  }
  void restore(const std::vector<Page>& dirty) {
    unsigned long pos = 0;
    for (const Page& p : dirty) {
      char* dest = reinterpret_cast<char*>(backup_.data() + p.pfn * kPage);
      ASSERT_EQ(xc_compression_uncompress_page(nullptr, stream_.data(), stream_.size(), &pos, dest),
                0)
          << fgbi_xc_compression_last_error();
      if (p.raw)
        for (size_t i = 0; i < kPage; ++i) dest[i] = static_cast<char>(dest[i] ^ kBackupMfns);
      expected_raw_.erase(p.pfn);
      if (p.raw) expected_raw_.insert(p.pfn);
    }
    EXPECT_EQ(pos, stream_.size());
  }
  // Pfns whose backup copy differs from the primary's by the page-table rewrite.
  size_t mismatches() const {
    size_t bad = 0;
    for (unsigned long pfn = 0; pfn < pages_; ++pfn) {
      const uint8_t* a = primary_.data() + pfn * kPage;
      const uint8_t* b = backup_.data() + pfn * kPage;
      const uint8_t k = expected_raw_.count(pfn) ? kCanonical ^ kBackupMfns : 0;
      for (size_t i = 0; i < kPage; ++i)
        if ((a[i] ^ k) != b[i]) {
          ++bad;
          break;
        }
    }
    return bad;
  }
  const std::vector<char>& stream() const { return stream_; }
  size_t chunks() const { return chunks_; }
  std::vector<uint8_t>& backup() { return backup_; }

 private:
  unsigned long pages_;
  std::vector<uint8_t> primary_, backup_;
  std::vector<char> compbuf_, stream_;
  std::set<unsigned long> expected_raw_;
  comp_ctx* ctx_ = nullptr;
  size_t chunks_ = 0;
};

std::vector<Page> all_pages(unsigned long n, const std::set<unsigned long>& raw = {}) {
  std::vector<Page> v;
  for (unsigned long pfn = 0; pfn < n; ++pfn) v.push_back({pfn, raw.count(pfn) > 0});
  return v;
}

TEST(RemusShimTest, CheckpointsRoundTripAsSaveAndRestoreDrivesThem) {
  constexpr unsigned long kPages = 3000;
  RemusPair pair(kPages, 64 * 1024);  // small chunks: compress returns -1 often
  std::set<unsigned long> page_tables = {10, 11, 12, 13};
  pair.checkpoint(all_pages(kPages, page_tables));
  EXPECT_EQ(pair.mismatches(), 0u);
  std::mt19937_64 rng(2);
  for (int c = 0; c < 6; ++c) {
    std::set<unsigned long> dirty;
    while (dirty.size() < 400) dirty.insert(rng() % kPages);
    // pfn 700 becomes a page table in checkpoint 1 and an ordinary page again
    // in checkpoint 3: that copy must not be a delta against what the
    // primary sent before the backup rewrote the page.
    if (c == 1) page_tables.insert(700);
    if (c == 3) page_tables.erase(700);
    dirty.insert(700);
    dirty.insert(10);
    std::vector<Page> pages;
    for (unsigned long pfn : dirty) {
      for (int k = 0; k < 3; ++k) pair.page(pfn)[rng() % kPage] = static_cast<uint8_t>(rng());
      pages.push_back({pfn, page_tables.count(pfn) > 0});
    }
    pair.checkpoint(pages);
    EXPECT_EQ(pair.mismatches(), 0u) << "checkpoint " << c;
  }
  EXPECT_GT(pair.chunks(), 7u * 2);
}

TEST(RemusShimTest, SparseChangesTravelAsChangedBlocks) {
  constexpr unsigned long kPages = 2000;
  RemusPair pair(kPages, 1 << 20);
  pair.checkpoint(all_pages(kPages));
  // Every page dirtied: 8 bytes changed in the first 1000, the rest rewritten
  // with identical content.
  std::vector<Page> pages;
  for (unsigned long pfn = 0; pfn < kPages; ++pfn) {
    if (pfn < 1000) pair.page(pfn)[(pfn * 67) % (kPage - 8)] ^= 0xFF;
    pages.push_back({pfn, false});
  }
  pair.checkpoint(pages);
  EXPECT_EQ(pair.mismatches(), 0u);
  // One 64-byte block plus framing per changed page, one byte per unchanged.
  EXPECT_LT(pair.stream().size(), 1000u * 110 + 1000u * 1);
  EXPECT_GE(pair.stream().size(), 1000u * 64);
}

TEST(RemusShimTest, FullPageBufferMakesAddPageAskForAFlush) {
  constexpr unsigned long kPages = FGBI_XC_COMPRESSION_BUFFER_PAGES + 500;
  RemusPair pair(kPages, 4 << 20);
  // Count add_page's -1 by driving the first buffer by hand.
  std::vector<char> page(kPage, 1);
  for (unsigned long pfn = 0; pfn < FGBI_XC_COMPRESSION_BUFFER_PAGES - 1; ++pfn)
    ASSERT_EQ(xc_compression_add_page(nullptr, pair.ctx(), page.data(), pfn, 0), 0);
  EXPECT_EQ(xc_compression_add_page(nullptr, pair.ctx(), page.data(), kPages - 1, 0), -1);
  EXPECT_EQ(xc_compression_add_page(nullptr, pair.ctx(), page.data(), 5, 0), -1);  // still full
  xc_compression_reset_pagebuf(nullptr, pair.ctx());
  // And through a whole checkpoint bigger than the buffer.
  pair.checkpoint(all_pages(kPages));
  EXPECT_EQ(pair.mismatches(), 0u);
}

TEST(RemusShimTest, APfnAddedTwiceEndsWithItsLastCopy) {
  RemusPair pair(64, 1 << 20);
  pair.checkpoint(all_pages(64));
  std::vector<char> first(kPage, 'x'), second(kPage, 'x');
  second[100] = 'y';
  char buf[3 * FGBI_XC_COMPRESSION_MAX_PAGE_BYTES];
  unsigned long len = 0, pos = 0;
  ASSERT_EQ(xc_compression_add_page(nullptr, pair.ctx(), first.data(), 5, 0), 0);
  ASSERT_EQ(xc_compression_add_page(nullptr, pair.ctx(), second.data(), 5, 0), 0);
  ASSERT_EQ(xc_compression_compress_pages(nullptr, pair.ctx(), buf, sizeof buf, &len), 1);
  char* dest = reinterpret_cast<char*>(pair.backup().data() + 5 * kPage);
  ASSERT_EQ(xc_compression_uncompress_page(nullptr, buf, len, &pos, dest), 0);
  EXPECT_EQ(std::memcmp(dest, first.data(), kPage), 0);
  ASSERT_EQ(xc_compression_uncompress_page(nullptr, buf, len, &pos, dest), 0);
  EXPECT_EQ(std::memcmp(dest, second.data(), kPage), 0);
  EXPECT_EQ(pos, len);
  EXPECT_LT(len - 4101, 200u);  // the second copy is a one-block delta
}

TEST(RemusShimTest, PagesDiscardedByResetAreResentCorrectly) {
  constexpr unsigned long kPages = 200;
  RemusPair pair(kPages, 1 << 20);
  pair.checkpoint(all_pages(kPages));
  // Encoded, partly handed out, then discarded by the caller.
  for (unsigned long pfn = 0; pfn < 100; ++pfn) {
    pair.page(pfn)[7] ^= 1;
    ASSERT_EQ(xc_compression_add_page(nullptr, pair.ctx(), reinterpret_cast<char*>(pair.page(pfn)),
                                      pfn, 0),
              0);
  }
  char small[FGBI_XC_COMPRESSION_MAX_PAGE_BYTES];
  unsigned long len = 0;
  ASSERT_EQ(xc_compression_compress_pages(nullptr, pair.ctx(), small, sizeof small, &len), -1);
  // The chunk handed out reaches the backup; the rest is dropped.
  unsigned long pos = 0, pfn = 0;
  while (pos < len)
    ASSERT_EQ(xc_compression_uncompress_page(
                  nullptr, small, len, &pos,
                  reinterpret_cast<char*>(pair.backup().data() + pfn++ * kPage)),
              0);
  ASSERT_GT(pfn, 0u);
  ASSERT_LT(pfn, 100u);
  xc_compression_reset_pagebuf(nullptr, pair.ctx());
  // The backup never saw the rest; a later checkpoint must bring it level.
  std::vector<Page> pages;
  for (unsigned long pfn = 0; pfn < 100; ++pfn) {
    pair.page(pfn)[2000] ^= 1;  // another block than the discarded change
    pages.push_back({pfn, false});
  }
  pair.checkpoint(pages);
  EXPECT_EQ(pair.mismatches(), 0u);
}

TEST(RemusShimTest, BadCallsAndCorruptBuffersFailCleanly) {
  EXPECT_EQ(xc_compression_create_context(nullptr, 0), nullptr);
  comp_ctx* ctx = xc_compression_create_context(nullptr, 16);
  ASSERT_NE(ctx, nullptr);
  std::vector<char> page(kPage, 3);
  EXPECT_EQ(xc_compression_add_page(nullptr, ctx, page.data(), 16, 0), -2);
  EXPECT_NE(std::string(fgbi_xc_compression_last_error()).find("p2m_size 16"), std::string::npos);
  EXPECT_EQ(xc_compression_add_page(nullptr, ctx, nullptr, 1, 0), -2);
  EXPECT_EQ(xc_compression_add_page(nullptr, nullptr, page.data(), 1, 0), -2);
  ASSERT_EQ(xc_compression_add_page(nullptr, ctx, page.data(), 1, 0), 0);
  char tiny[100];
  unsigned long len = 7;
  EXPECT_EQ(xc_compression_compress_pages(nullptr, ctx, tiny, sizeof tiny, &len), -1);
  EXPECT_EQ(len, 0u);
  EXPECT_NE(std::string(fgbi_xc_compression_last_error()).find("MAX_PAGE_BYTES"),
            std::string::npos);
  std::vector<char> buf(FGBI_XC_COMPRESSION_MAX_PAGE_BYTES);
  ASSERT_EQ(xc_compression_compress_pages(nullptr, ctx, buf.data(), buf.size(), &len), 1);
  ASSERT_EQ(len, 1u + kPage + 4);  // first sight: the whole page
  unsigned long none = 0;
  EXPECT_EQ(xc_compression_compress_pages(nullptr, ctx, buf.data(), buf.size(), &none), 0);
  xc_compression_free_context(nullptr, ctx);
  xc_compression_free_context(nullptr, nullptr);

  std::vector<char> dest(kPage, 'd');
  const std::vector<char> untouched = dest;
  unsigned long pos = len;
  EXPECT_EQ(xc_compression_uncompress_page(nullptr, buf.data(), len, &pos, dest.data()), -1);
  pos = 0;
  EXPECT_EQ(xc_compression_uncompress_page(nullptr, buf.data(), len - 1, &pos, dest.data()), -1);
  buf[2000] ^= 4;
  EXPECT_EQ(xc_compression_uncompress_page(nullptr, buf.data(), len, &pos, dest.data()), -1);
  EXPECT_NE(std::string(fgbi_xc_compression_last_error()).find("corrupt"), std::string::npos);
  buf[0] = 9;
  EXPECT_EQ(xc_compression_uncompress_page(nullptr, buf.data(), len, &pos, dest.data()), -1);
  EXPECT_EQ(pos, 0u);
  EXPECT_EQ(dest, untouched);
}

TEST(RemusShimTest, FlippedBytesInADeltaStreamNeverCrashOrPassUnnoticed) {
  RemusPair pair(32, 1 << 20);
  pair.checkpoint(all_pages(32));
  std::vector<Page> pages;
  for (unsigned long pfn = 0; pfn < 32; ++pfn) {
    pair.page(pfn)[pfn * 100] ^= 0x11;
    pages.push_back({pfn, false});
  }
  pair.checkpoint(pages);
  const std::vector<char> stream = pair.stream();
  std::vector<char> dest(kPage);
  size_t clean_runs = 0;
  for (size_t at = 0; at < stream.size(); ++at) {
    std::vector<char> bad = stream;
    bad[at] ^= 0x40;
    unsigned long pos = 0;
    size_t applied = 0;
    while (applied < pages.size() &&
           xc_compression_uncompress_page(nullptr, bad.data(), bad.size(), &pos, dest.data()) == 0)
      ++applied;
    if (applied == pages.size() && pos == bad.size()) ++clean_runs;
  }
  EXPECT_EQ(clean_runs, 0u);
}

TEST(RemusShimTest, LibraryExportsExactlyTheOldNames) {
  void* lib = dlopen(FGBI_XC_COMPRESSION_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  for (const char* name : {"xc_compression_create_context", "xc_compression_free_context",
                           "xc_compression_add_page", "xc_compression_compress_pages",
                           "xc_compression_reset_pagebuf", "xc_compression_uncompress_page"})
    EXPECT_NE(dlsym(lib, name), nullptr) << name;
  // The engine inside stays hidden, so the shim cannot clash with libfgbi.
  EXPECT_EQ(dlsym(lib, "fgbi_sender_create"), nullptr);
  dlclose(lib);
}

TEST(RemusShimTest, HeaderWorksFromC) { EXPECT_EQ(remus_c_roundtrip(), 0); }

}  // namespace
