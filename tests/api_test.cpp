// The C ABI contract: versions, error names, parameters and their bounds,
// stages, argument checks, output paths, rewind, replica files, statistics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "fgbi.h"
#include "support/replication.hpp"
#include "workload.hpp"

namespace fgbi::test {
namespace {

void fill_random(Pair& pair, uint64_t seed) {
  eval::Rng rng(seed);
  for (auto& b : pair.primary()) b = static_cast<uint8_t>(rng.next());
}

TEST(Api, VersionMatchesHeader) {
  EXPECT_EQ(fgbi_version_number(), static_cast<unsigned>(FGBI_VERSION_NUMBER));
  EXPECT_STREQ(fgbi_version_string(), "0.1.0");
}

TEST(Api, EveryErrorCodeHasADistinctNameAndMessage) {
  std::set<std::string> names;
  int known = 0;
  for (int code = 0; code < 128; ++code) {
    const std::string name = fgbi_error_name(code);
    const std::string message = fgbi_error_message(code);
    if (name == "FGBI_E_UNKNOWN_CODE") {
      EXPECT_EQ(message, "unknown error code");
      continue;
    }
    ++known;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_FALSE(message.empty());
  }
  EXPECT_EQ(known, 49);  // 37 engine codes + 12 session codes
  EXPECT_STREQ(fgbi_error_name(FGBI_E_EPOCH_GAP), "FGBI_E_EPOCH_GAP");
}

TEST(Api, ParameterBoundsAndChecks) {
  int64_t lo = 0, hi = 0, def = 0;
  ASSERT_EQ(fgbi_param_bounds(FGBI_P_BLOCK_SIZE, &lo, &hi, &def), FGBI_OK);
  EXPECT_EQ(lo, 32);
  EXPECT_EQ(hi, 256);
  EXPECT_EQ(def, 64);
  ASSERT_EQ(fgbi_param_bounds(FGBI_P_PAGE_SIZE, &lo, &hi, nullptr), FGBI_OK);
  EXPECT_EQ(lo, 4096);
  EXPECT_EQ(hi, 4096);
  EXPECT_EQ(fgbi_param_bounds(static_cast<fgbi_param>(999), &lo, &hi, &def), FGBI_E_PARAM_UNKNOWN);
  EXPECT_STREQ(fgbi_param_name(FGBI_P_THREADS), "FGBI_P_THREADS");
  EXPECT_EQ(fgbi_param_name(static_cast<fgbi_param>(999)), nullptr);

  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  SenderPtr sender(s);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BLOCK_SIZE, 48), FGBI_E_PARAM_OUT_OF_BOUNDS);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BLOCK_SIZE, 512), FGBI_E_PARAM_OUT_OF_BOUNDS);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_PAGE_SIZE, 8192), FGBI_E_PARAM_OUT_OF_BOUNDS);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_THREADS, 0), FGBI_E_PARAM_OUT_OF_BOUNDS);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_MAX_EPOCH_BYTES, 1 << 24), FGBI_E_PARAM_UNKNOWN);
  EXPECT_EQ(fgbi_sender_set_parameter(s, static_cast<fgbi_param>(0), 1), FGBI_E_PARAM_UNKNOWN);
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BLOCK_SIZE, 128), FGBI_OK);
  int64_t v = 0;
  ASSERT_EQ(fgbi_sender_get_parameter(s, FGBI_P_BLOCK_SIZE, &v), FGBI_OK);
  EXPECT_EQ(v, 128);
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 16), FGBI_OK);
  ASSERT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_OK);
  EXPECT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BLOCK_SIZE, 64), FGBI_E_WRONG_STAGE);

  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TEST_HASH_BITS, 8), FGBI_E_PARAM_UNKNOWN);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, 100),
            FGBI_E_PARAM_OUT_OF_BOUNDS);
  ASSERT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, 4), FGBI_OK);
  std::vector<uint8_t> mem(4 * kPage);
  EXPECT_EQ(fgbi_receiver_attach_memory(r, mem.data(), mem.size() - 1), FGBI_E_BAD_ARGUMENT);
  ASSERT_EQ(fgbi_receiver_attach_memory(r, mem.data(), mem.size()), FGBI_OK);
  EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, 8), FGBI_E_WRONG_STAGE);
}

TEST(Api, NullArgumentsAndStages) {
  EXPECT_EQ(fgbi_sender_create(nullptr), FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(fgbi_receiver_create(nullptr), FGBI_E_NULL_ARGUMENT);
  fgbi_sender_free(nullptr);
  fgbi_receiver_free(nullptr);
  EXPECT_EQ(fgbi_sender_begin_epoch(nullptr, nullptr), FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(fgbi_receiver_feed(nullptr, "x", 1), FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(fgbi_sender_epoch_bound(nullptr, 1), 0u);

  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  SenderPtr sender(s);
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 8), FGBI_OK);
  uint64_t pfn = 1;
  std::vector<uint8_t> page(kPage);
  const void* ptr = page.data();
  size_t written = 0;
  EXPECT_EQ(fgbi_sender_add_pages(s, &pfn, &ptr, 1, nullptr), FGBI_E_WRONG_STAGE);
  EXPECT_EQ(fgbi_sender_end_epoch(s, nullptr, 0, &written), FGBI_E_WRONG_STAGE);
  uint64_t epoch = 0;
  ASSERT_EQ(fgbi_sender_begin_epoch(s, &epoch), FGBI_OK);
  EXPECT_EQ(epoch, 1u);
  EXPECT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_E_WRONG_STAGE);
  EXPECT_EQ(fgbi_sender_add_pages(s, nullptr, &ptr, 1, nullptr), FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(fgbi_sender_end_epoch(s, nullptr, 0, nullptr), FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(fgbi_sender_end_epoch_cb(s, nullptr, nullptr), FGBI_E_NULL_ARGUMENT);

  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  EXPECT_EQ(fgbi_receiver_feed(r, "x", 1), FGBI_E_NO_REPLICA);
  const void* mem = nullptr;
  size_t size = 0;
  EXPECT_EQ(fgbi_receiver_replica(r, &mem, &size), FGBI_E_NO_REPLICA);
}

TEST(Api, AddPagesChecksEachPage) {
  Pair pair({.pages = 8});
  fgbi_sender* s = pair.sender();
  ASSERT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_OK);
  const uint64_t pfns[4] = {1, 9, 2, 1};
  const void* pages[4] = {pair.page(1), pair.page(0), nullptr, pair.page(1)};
  // All or nothing without a status array: nothing is accepted.
  EXPECT_EQ(fgbi_sender_add_pages(s, pfns, pages, 4, nullptr), FGBI_E_PFN_OUT_OF_RANGE);
  fgbi_status status[4];
  EXPECT_EQ(fgbi_sender_add_pages(s, pfns, pages, 4, status), FGBI_E_PFN_OUT_OF_RANGE);
  EXPECT_EQ(status[0], FGBI_OK);
  EXPECT_EQ(status[1], FGBI_E_PFN_OUT_OF_RANGE);
  EXPECT_EQ(status[2], FGBI_E_NULL_ARGUMENT);
  EXPECT_EQ(status[3], FGBI_E_DUPLICATE_PFN);
  // pfn 1 was accepted once, so adding it again is a duplicate.
  EXPECT_EQ(fgbi_sender_add_pages(s, pfns, pages, 1, nullptr), FGBI_E_DUPLICATE_PFN);
  std::vector<uint8_t> out(fgbi_sender_epoch_bound(s, 1));
  size_t written = 0;
  ASSERT_EQ(fgbi_sender_end_epoch(s, out.data(), out.size(), &written), FGBI_OK);
  out.resize(written);
  ASSERT_EQ(pair.feed(out), FGBI_OK);
  uint64_t pages_stat = 0;
  ASSERT_EQ(fgbi_sender_get_stat(s, FGBI_S_PAGES, &pages_stat), FGBI_OK);
  EXPECT_EQ(pages_stat, 1u);
}

TEST(Api, SmallBufferKeepsTheEpochOpenAndOutputsAgree) {
  Pair a({.pages = 64}), b({.pages = 64});
  fill_random(a, 7);
  b.primary() = a.primary();
  const auto pfns = all_pages(64);
  std::vector<const void*> pages;
  for (uint64_t p : pfns) pages.push_back(a.page(p));

  ASSERT_EQ(fgbi_sender_begin_epoch(a.sender(), nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(a.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  std::vector<uint8_t> small(100);
  size_t needed = 0;
  ASSERT_EQ(fgbi_sender_end_epoch(a.sender(), small.data(), small.size(), &needed),
            FGBI_E_DST_TOO_SMALL);
  EXPECT_GT(needed, small.size());
  EXPECT_LE(needed, fgbi_sender_epoch_bound(a.sender(), pfns.size()));
  std::vector<uint8_t> exact(needed);
  size_t written = 0;
  ASSERT_EQ(fgbi_sender_end_epoch(a.sender(), exact.data(), exact.size(), &written), FGBI_OK);
  EXPECT_EQ(written, needed);

  // The same epoch through the callback, in pieces, is byte-identical.
  ASSERT_EQ(fgbi_sender_begin_epoch(b.sender(), nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(b.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  std::vector<uint8_t> via_callback;
  int calls = 0;
  struct Sink {
    std::vector<uint8_t>* out;
    int* calls;
  } sink{&via_callback, &calls};
  auto write = [](void* user, const void* data, size_t size) -> int {
    auto* k = static_cast<Sink*>(user);
    const auto* p = static_cast<const uint8_t*>(data);
    k->out->insert(k->out->end(), p, p + size);
    ++*k->calls;
    return 0;
  };
  ASSERT_EQ(fgbi_sender_end_epoch_cb(b.sender(), write, &sink), FGBI_OK);
  EXPECT_EQ(via_callback, exact);
  EXPECT_GE(calls, 3);  // header, segment(s), trailer

  // Encoded by a call that found the buffer too small (its pages left in
  // staging for the copy out), then sent through the callback: the same.
  Pair c({.pages = 64});
  c.primary() = a.primary();
  ASSERT_EQ(fgbi_sender_begin_epoch(c.sender(), nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(c.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
            FGBI_OK);
  ASSERT_EQ(fgbi_sender_end_epoch(c.sender(), small.data(), small.size(), &needed),
            FGBI_E_DST_TOO_SMALL);
  std::vector<uint8_t> after_too_small;
  sink.out = &after_too_small;
  ASSERT_EQ(fgbi_sender_end_epoch_cb(c.sender(), write, &sink), FGBI_OK);
  EXPECT_EQ(after_too_small, exact);

  ASSERT_EQ(a.feed(exact), FGBI_OK);
  EXPECT_TRUE(a.replica_matches_primary());
}

// One thread and a bound-sized buffer: the sender encodes each segment where
// it lies in dst. Its bytes are those a callback receives, for epochs of
// several segments, of changed and unchanged pages, and without a digest
// (where a segment of unchanged pages has no records and is left out).
TEST(Api, InPlaceEncodingGivesTheCallbacksBytes) {
  for (const bool digest : {true, false}) {
    SCOPED_TRACE(digest ? "digest" : "no digest");
    Pair a({.pages = 1200, .digest = digest}), b({.pages = 1200, .digest = digest});
    fill_random(a, 21);
    b.primary() = a.primary();
    auto epoch_of = [](Pair& p, const std::vector<uint64_t>& pfns, bool in_place) {
      std::vector<const void*> pages;
      for (uint64_t pfn : pfns) pages.push_back(p.page(pfn));
      EXPECT_EQ(fgbi_sender_begin_epoch(p.sender(), nullptr), FGBI_OK);
      EXPECT_EQ(fgbi_sender_add_pages(p.sender(), pfns.data(), pages.data(), pfns.size(), nullptr),
                FGBI_OK);
      std::vector<uint8_t> out;
      if (in_place) {
        out.assign(fgbi_sender_epoch_bound(p.sender(), pfns.size()), 0xA5);
        size_t written = 0;
        EXPECT_EQ(fgbi_sender_end_epoch(p.sender(), out.data(), out.size(), &written), FGBI_OK);
        out.resize(written);
      } else {
        auto write = [](void* user, const void* data, size_t size) -> int {
          auto* o = static_cast<std::vector<uint8_t>*>(user);
          o->insert(o->end(), static_cast<const uint8_t*>(data),
                    static_cast<const uint8_t*>(data) + size);
          return 0;
        };
        EXPECT_EQ(fgbi_sender_end_epoch_cb(p.sender(), write, &out), FGBI_OK);
      }
      return out;
    };
    std::vector<uint64_t> pfns = all_pages(1200);
    for (int epoch = 0; epoch < 4; ++epoch) {
      SCOPED_TRACE(epoch);
      if (epoch > 0) {
        // Pages 0-299 unchanged (a segment of their own), the rest edited.
        for (uint64_t pfn = 300; pfn < 1200; pfn += 1 + epoch) {
          a.page(pfn)[(pfn * 64 + epoch) % 4096] ^= 0x5A;
          b.page(pfn)[(pfn * 64 + epoch) % 4096] ^= 0x5A;
        }
      }
      const auto in_place = epoch_of(a, pfns, true);
      const auto via_callback = epoch_of(b, pfns, false);
      EXPECT_EQ(in_place, via_callback);
      ASSERT_EQ(a.feed(in_place), FGBI_OK);
      EXPECT_TRUE(a.replica_matches_primary());
    }
  }
}

TEST(Api, CallbackFailureIsReportedAndRewindRecovers) {
  Pair pair({.pages = 16});
  fill_random(pair, 3);
  pair.replicate(all_pages(16));
  // Epoch 2 is lost because the callback fails.
  pair.page(5)[100] ^= 1;
  const uint64_t pfn = 5;
  const void* page = pair.page(5);
  ASSERT_EQ(fgbi_sender_begin_epoch(pair.sender(), nullptr), FGBI_OK);
  ASSERT_EQ(fgbi_sender_add_pages(pair.sender(), &pfn, &page, 1, nullptr), FGBI_OK);
  auto fail = [](void*, const void*, size_t) -> int { return 1; };
  EXPECT_EQ(fgbi_sender_end_epoch_cb(pair.sender(), fail, nullptr), FGBI_E_CALLBACK_FAILED);

  EXPECT_EQ(fgbi_sender_rewind(pair.sender(), 5), FGBI_E_BAD_ARGUMENT);  // never produced
  ASSERT_EQ(fgbi_sender_rewind(pair.sender(), pair.committed()), FGBI_OK);
  size_t count = 0;
  uint64_t pending[4] = {};
  ASSERT_EQ(fgbi_sender_pending_pages(pair.sender(), pending, 4, &count), FGBI_OK);
  ASSERT_EQ(count, 1u);
  EXPECT_EQ(pending[0], 5u);
  // The next epoch is numbered 2 again and carries page 5 whole.
  pair.replicate({5});
  EXPECT_EQ(pair.committed(), 2u);
  EXPECT_TRUE(pair.replica_matches_primary());
  uint64_t full = 0;
  ASSERT_EQ(fgbi_sender_get_stat(pair.sender(), FGBI_S_PAGES_FULL, &full), FGBI_OK);
  EXPECT_EQ(full, 17u);
  ASSERT_EQ(fgbi_sender_pending_pages(pair.sender(), nullptr, 0, &count), FGBI_OK);
  EXPECT_EQ(count, 0u);
}

TEST(Api, ReceiverMapsAFileThatHoldsTheReplica) {
  char path[] = "/tmp/fgbi_api_replica_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Pair pair({.pages = 32});
  fill_random(pair, 11);
  {
    fgbi_receiver* r = nullptr;
    ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
    ReceiverPtr receiver(r);
    ASSERT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, 32), FGBI_OK);
    ASSERT_EQ(fgbi_receiver_map_file(r, path), FGBI_OK);
    const auto stream = pair.encode(all_pages(32));
    ASSERT_EQ(fgbi_receiver_feed(r, stream.data(), stream.size()), FGBI_OK);
    const void* mem = nullptr;
    size_t size = 0;
    ASSERT_EQ(fgbi_receiver_replica(r, &mem, &size), FGBI_OK);
    EXPECT_EQ(size, 32 * kPage);
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(file, pair.primary());
  std::remove(path);

  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  EXPECT_EQ(fgbi_receiver_map_file(r, "/nonexistent-dir/replica"), FGBI_E_IO);
}

TEST(Api, StatisticsAddUp) {
  Pair pair(plain_options({.pages = 64}));
  fill_random(pair, 5);
  const auto first = pair.encode(all_pages(64));
  ASSERT_EQ(pair.feed(first), FGBI_OK);
  pair.page(3)[0] ^= 1;                        // one block
  pair.page(4)[4095] ^= 1;                     // one block
  const auto second = pair.encode({3, 4, 5});  // 5 unchanged
  ASSERT_EQ(pair.feed(second), FGBI_OK);
  auto sender_stat = [&](fgbi_stat st) {
    uint64_t v = 0;
    EXPECT_EQ(fgbi_sender_get_stat(pair.sender(), st, &v), FGBI_OK);
    return v;
  };
  auto receiver_stat = [&](fgbi_stat st) {
    uint64_t v = 0;
    EXPECT_EQ(fgbi_receiver_get_stat(pair.receiver(), st, &v), FGBI_OK);
    return v;
  };
  EXPECT_EQ(sender_stat(FGBI_S_EPOCHS), 2u);
  EXPECT_EQ(sender_stat(FGBI_S_PAGES), 67u);
  EXPECT_EQ(sender_stat(FGBI_S_BYTES_IN), 67u * kPage);
  EXPECT_EQ(sender_stat(FGBI_S_BYTES_OUT), first.size() + second.size());
  EXPECT_EQ(sender_stat(FGBI_S_PAGES_FULL), 64u);
  EXPECT_EQ(sender_stat(FGBI_S_PAGES_PARTIAL), 2u);
  EXPECT_EQ(sender_stat(FGBI_S_PAGES_UNCHANGED), 1u);
  EXPECT_EQ(sender_stat(FGBI_S_BLOCKS_SCANNED), 67u * 64);
  EXPECT_EQ(sender_stat(FGBI_S_BLOCKS_CHANGED), 64u * 64 + 2);
  EXPECT_GT(sender_stat(FGBI_S_MEMORY_BYTES), 64u * 64 * 8 - 1);
  EXPECT_EQ(receiver_stat(FGBI_S_EPOCHS), 2u);
  EXPECT_EQ(receiver_stat(FGBI_S_BYTES_IN), first.size() + second.size());
  EXPECT_EQ(receiver_stat(FGBI_S_PAGES), 66u);
  EXPECT_EQ(receiver_stat(FGBI_S_BLOCKS_CHANGED), 64u * 64 + 2);
  EXPECT_EQ(receiver_stat(FGBI_S_BYTES_OUT), 64u * kPage + 2 * 64);
  EXPECT_EQ(receiver_stat(FGBI_S_EPOCHS_REJECTED), 0u);
  uint64_t v = 0;
  EXPECT_EQ(fgbi_sender_get_stat(pair.sender(), FGBI_S_EPOCHS_REJECTED, &v), FGBI_E_PARAM_UNKNOWN);
  EXPECT_STREQ(fgbi_stat_name(FGBI_S_PAGES), "FGBI_S_PAGES");
  EXPECT_EQ(fgbi_stat_name(static_cast<fgbi_stat>(FGBI_STAT_LAST + 1)), nullptr);
}

TEST(Api, EmptyEpochCommits) {
  Pair pair({.pages = 4});
  pair.replicate({});
  pair.replicate({});
  EXPECT_EQ(pair.committed(), 2u);
}

TEST(Api, CommittedEpochCanBeDeclaredForAResumedReplica) {
  Pair pair({.pages = 4});
  ASSERT_EQ(fgbi_receiver_set_committed_epoch(pair.receiver(), 41), FGBI_OK);
  const auto stream = pair.encode({0});  // sender's epoch 1
  EXPECT_EQ(pair.feed(stream), FGBI_E_EPOCH_REPLAYED);
}

}  // namespace
}  // namespace fgbi::test
