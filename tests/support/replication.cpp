#include "support/replication.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace fgbi::test {

Pair::Pair(const PairOptions& options)
    : options_(options), primary_(options.pages * kPage), replica_(options.pages * kPage) {
  fgbi_sender* s = nullptr;
  fgbi_receiver* r = nullptr;
  EXPECT_EQ(fgbi_sender_create(&s), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  sender_.reset(s);
  receiver_.reset(r);
  const auto pages = static_cast<int64_t>(options.pages);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, pages), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BLOCK_SIZE, options.block_size), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_THREADS, options.threads), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_DIGEST, options.digest), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TEST_HASH_BITS, options.hash_bits), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_SHARING, options.sharing), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_CODECS, options.codecs), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_CACHE_BYTES, options.cache_bytes), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_ADAPTIVE, options.adaptive), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_STREAM_ID, options.stream_id), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_LINK_MBPS, options.link_mbps), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BACKEND, options.backend), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_BACKEND, options.backend), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, pages), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_BLOCK_SIZE, options.block_size), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_THREADS, options.receiver_threads), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_DIGEST, options.digest), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_attach_memory(r, replica_.data(), replica_.size()), FGBI_OK);
}

std::vector<uint8_t> Pair::encode(const std::vector<uint64_t>& pfns) {
  std::vector<const void*> pages(pfns.size());
  for (size_t i = 0; i < pfns.size(); ++i) pages[i] = page(pfns[i]);
  EXPECT_EQ(fgbi_sender_begin_epoch(sender(), nullptr), FGBI_OK);
  EXPECT_EQ(fgbi_sender_add_pages(sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  std::vector<uint8_t> stream(fgbi_sender_epoch_bound(sender(), pfns.size()));
  size_t written = 0;
  EXPECT_EQ(fgbi_sender_end_epoch(sender(), stream.data(), stream.size(), &written), FGBI_OK);
  stream.resize(written);
  return stream;
}

fgbi_status Pair::feed(const std::vector<uint8_t>& stream, size_t piece) {
  for (size_t off = 0; off < stream.size(); off += piece) {
    const size_t n = std::min(piece, stream.size() - off);
    if (fgbi_status st = fgbi_receiver_feed(receiver(), stream.data() + off, n); st != FGBI_OK)
      return st;
  }
  return FGBI_OK;
}

void Pair::replicate(const std::vector<uint64_t>& pfns, size_t piece) {
  const uint64_t before = committed();
  ASSERT_EQ(feed(encode(pfns), piece), FGBI_OK);
  ASSERT_EQ(committed(), before + 1);
}

uint64_t Pair::committed() const {
  uint64_t e = 0;
  EXPECT_EQ(fgbi_receiver_committed_epoch(receiver_.get(), &e), FGBI_OK);
  return e;
}

std::vector<uint64_t> all_pages(uint64_t pages) {
  std::vector<uint64_t> pfns(pages);
  for (uint64_t i = 0; i < pages; ++i) pfns[i] = i;
  return pfns;
}

}  // namespace fgbi::test
