// The backup's replica files: an epoch whose apply a crash interrupted —
// at any point, whatever part of it had reached the replica — is rolled
// back from the undo journal when the replica is opened again, so the
// replica equals the epoch its metadata names; a torn, corrupt, stale or
// foreign journal is ignored.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <algorithm>
#include <cstring>

#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "net_harness.hpp"
#include "session/epoch_pages.hpp"
#include "session/replica_store.hpp"
#include "support/replication.hpp"

namespace fgbi::session {
namespace {

constexpr uint64_t kPages = 32;
constexpr size_t kPage = 4096;

struct ReceiverFree {
  void operator()(fgbi_receiver* r) const { fgbi_receiver_free(r); }
};

// A receiver and store over the replica file, as a (re)started backup has.
struct Opened {
  explicit Opened(const std::string& path, uint64_t pages = kPages) {
    fgbi_receiver* r = nullptr;
    EXPECT_EQ(fgbi_receiver_create(&r), FGBI_OK);
    receiver.reset(r);
    EXPECT_EQ(fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(pages)),
              FGBI_OK);
    store = std::make_unique<ReplicaStore>(r, &log);
    status = store->open(path);
  }
  std::vector<uint8_t> replica() const {
    const void* m = nullptr;
    size_t n = 0;
    EXPECT_EQ(fgbi_receiver_replica(receiver.get(), &m, &n), FGBI_OK);
    return {static_cast<const uint8_t*>(m), static_cast<const uint8_t*>(m) + n};
  }
  Log log;
  std::unique_ptr<fgbi_receiver, ReceiverFree> receiver;
  std::unique_ptr<ReplicaStore> store;
  fgbi_status status = FGBI_E_INTERNAL;
};

void commit_epoch(ReplicaStore& store, const StreamId& stream, uint64_t epoch,
                  const std::vector<uint8_t>& bytes) {
  ASSERT_EQ(store.begin_epoch(stream, epoch), FGBI_OK);
  for (size_t off = 0; off < bytes.size(); off += 5000)
    ASSERT_EQ(store.append({bytes.data() + off, std::min<size_t>(5000, bytes.size() - off)}),
              FGBI_OK);
  ASSERT_EQ(store.commit(false), FGBI_OK);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Writes pages of `image` into the replica file directly: a partial apply.
void tear(const std::string& path, const std::vector<uint8_t>& image,
          const std::vector<uint64_t>& pfns) {
  const int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  for (uint64_t pfn : pfns)
    ASSERT_EQ(pwrite(fd, image.data() + pfn * kPage, kPage, static_cast<off_t>(pfn * kPage)),
              static_cast<ssize_t>(kPage));
  close(fd);
}

// A stream of two epochs: the replica at epoch 1, epoch 2 encoded.
struct TwoEpochs {
  TwoEpochs() : pair(options()) {
    stream[0] = 0x42;
    std::mt19937_64 rng(3);
    for (auto& b : pair.primary()) b = static_cast<uint8_t>(rng());
    epoch1 = pair.encode(test::all_pages(kPages));
    image1 = pair.primary();
    for (uint64_t pfn = 0; pfn < kPages; pfn += 2) {
      pair.page(pfn)[pfn * 7 % kPage] ^= 0x5A;  // a few blocks of half the pages
      dirty.push_back(pfn);
    }
    epoch2 = pair.encode(dirty);
    image2 = pair.primary();
  }
  static test::PairOptions options() {
    test::PairOptions o;
    o.pages = kPages;
    return o;
  }
  test::Pair pair;
  StreamId stream{};
  std::vector<uint8_t> epoch1, epoch2, image1, image2;
  std::vector<uint64_t> dirty;
};

// The pages the journal saves cover every page an epoch changes, whatever
// records the sender chose (full pages, blocks, coded pages, XOR deltas),
// and only pages the epoch names.
TEST(NetJournal, ScannedPagesCoverEveryWrittenPage) {
  test::Pair pair(TwoEpochs::options());
  std::mt19937_64 rng(9);
  for (auto& b : pair.primary()) b = static_cast<uint8_t>(rng() % 4);  // compressible
  EpochPages scanner(kPages, uint64_t{1} << 30);
  for (int epoch = 0; epoch < 12; ++epoch) {
    std::vector<uint64_t> dirty;
    if (epoch == 0) {
      dirty = test::all_pages(kPages);
    } else {
      for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
        if (rng() % 3) continue;
        dirty.push_back(pfn);
        for (int edits = 1 + static_cast<int>(rng() % 5); edits > 0; --edits)
          pair.page(pfn)[rng() % kPage] = static_cast<uint8_t>(rng());
        if (rng() % 4 == 0) std::memset(pair.page(pfn) + 64 * (rng() % 64), 0, 64);
      }
    }
    const std::vector<uint8_t> before = pair.replica();
    const std::vector<uint8_t> stream = pair.encode(dirty);
    scanner.reset();
    for (size_t off = 0; off < stream.size(); off += 777)
      ASSERT_TRUE(
          scanner.append({stream.data() + off, std::min<size_t>(777, stream.size() - off)}));
    std::vector<uint64_t> scanned;
    ASSERT_TRUE(scanner.finish(&scanned));
    ASSERT_EQ(pair.feed(stream), FGBI_OK);
    for (uint64_t pfn = 0; pfn < kPages; ++pfn) {
      const bool changed =
          std::memcmp(before.data() + pfn * kPage, pair.replica().data() + pfn * kPage, kPage) != 0;
      const bool listed = std::binary_search(scanned.begin(), scanned.end(), pfn);
      EXPECT_TRUE(!changed || listed) << "epoch " << epoch << " page " << pfn;
      EXPECT_TRUE(!listed || std::count(dirty.begin(), dirty.end(), pfn)) << pfn;
    }
  }
  // Garbage is refused, never crashes.
  scanner.reset();
  std::vector<uint8_t> junk(5000);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  EXPECT_FALSE(scanner.append(junk));
}

TEST(NetJournal, CommitWritesMetadataAndTheReplica) {
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  TwoEpochs two;
  {
    Opened o(path);
    ASSERT_EQ(o.status, FGBI_OK);
    EXPECT_EQ(o.store->metadata().committed, 0u);
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, two.stream, 1, two.epoch1);
    commit_epoch(*o.store, two.stream, 2, two.epoch2);
    EXPECT_EQ(o.store->metadata().committed, 2u);
    EXPECT_EQ(o.replica(), two.image2);
  }
  Opened again(path);
  ASSERT_EQ(again.status, FGBI_OK);
  EXPECT_EQ(again.store->metadata().committed, 2u);
  EXPECT_EQ(again.store->metadata().stream, two.stream);
  EXPECT_EQ(again.store->next_epoch(), 3u);
  EXPECT_EQ(again.store->rollbacks(), 0u);
  EXPECT_EQ(again.replica(), two.image2);
}

// After a commit, the journal holds the pages the epoch wrote as they were
// before it; with the metadata as it was before the commit (a crash before
// the metadata was written), any mix of old and new pages in the replica
// (a crash during the apply) is rolled back to the previous epoch.
TEST(NetJournal, InterruptedApplyIsRolledBack) {
  TwoEpochs two;
  const std::vector<std::vector<uint64_t>> written = {{}, {0}, {0, 2, 4, 6, 8}, two.dirty};
  for (const auto& pages : written) {
    test::net::TempDir dir;
    const std::string path = dir.file("replica");
    std::string meta_before, journal;
    {
      Opened o(path);
      ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
      commit_epoch(*o.store, two.stream, 1, two.epoch1);
      meta_before = read_file(path + ".meta");
      commit_epoch(*o.store, two.stream, 2, two.epoch2);
      journal = read_file(path + ".journal");
    }
    JournalHeader h;
    ASSERT_GE(journal.size(), kJournalHeaderBytes);
    ASSERT_TRUE(decode_journal_header(reinterpret_cast<const uint8_t*>(journal.data()), &h));
    EXPECT_EQ(h.restores_to, 1u);
    EXPECT_EQ(h.epoch, 2u);
    EXPECT_GE(h.pages, 1u);
    EXPECT_LE(h.pages, two.dirty.size());
    // The crash: metadata still at epoch 1, the replica partly at epoch 2.
    write_file(path + ".meta", meta_before);
    tear(path, two.image1, test::all_pages(kPages));
    tear(path, two.image2, pages);
    Opened o(path);
    ASSERT_EQ(o.status, FGBI_OK) << o.log.last_error();
    EXPECT_EQ(o.store->rollbacks(), 1u) << pages.size() << " pages applied";
    EXPECT_EQ(o.store->metadata().committed, 1u);
    EXPECT_EQ(o.replica(), two.image1) << pages.size() << " pages applied";
    EXPECT_EQ(o.store->next_epoch(), 2u);
    // The journal is used once: opening again changes nothing.
    o.store.reset();
    o.receiver.reset();
    Opened twice(path);
    EXPECT_EQ(twice.store->rollbacks(), 0u);
    EXPECT_EQ(twice.replica(), two.image1);
  }
}

// A journal that is torn, corrupt, stale (its epoch's metadata was
// written) or for another stream is left alone.
TEST(NetJournal, UnusableJournalsAreIgnored) {
  TwoEpochs two;
  struct Case {
    const char* what;
    std::function<void(std::string& meta, std::string& journal)> spoil;
  };
  // The journal file may be longer than its entries (an earlier, larger epoch).
  auto entries_end = [](const std::string& j) {
    JournalHeader h;
    decode_journal_header(reinterpret_cast<const uint8_t*>(j.data()), &h);
    return kJournalHeaderBytes + h.pages * (8 + kPage);
  };
  const Case cases[] = {
      {"stale", [](std::string&, std::string&) {}},
      {"torn", [&](std::string&, std::string& j) { j.resize(entries_end(j) - 100); }},
      {"corrupt", [&](std::string&, std::string& j) { j[entries_end(j) - 7] ^= 1; }},
      {"bad header", [](std::string&, std::string& j) { j[30] ^= 1; }},
      {"other stream",
       [](std::string&, std::string& j) {
         JournalHeader h;
         decode_journal_header(reinterpret_cast<const uint8_t*>(j.data()), &h);
         h.stream[3] ^= 1;
         encode_journal_header(h, reinterpret_cast<uint8_t*>(j.data()));
       }},
  };
  for (const Case& c : cases) {
    test::net::TempDir dir;
    const std::string path = dir.file("replica");
    std::string meta1;
    {
      Opened o(path);
      ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
      commit_epoch(*o.store, two.stream, 1, two.epoch1);
      meta1 = read_file(path + ".meta");
      commit_epoch(*o.store, two.stream, 2, two.epoch2);
    }
    std::string meta = std::string(c.what) == "stale" ? read_file(path + ".meta") : meta1;
    std::string journal = read_file(path + ".journal");
    c.spoil(meta, journal);
    write_file(path + ".meta", meta);
    write_file(path + ".journal", journal);
    Opened o(path);
    ASSERT_EQ(o.status, FGBI_OK) << c.what;
    EXPECT_EQ(o.store->rollbacks(), 0u) << c.what;
    EXPECT_EQ(o.replica(), two.image2) << c.what;  // nothing restored
  }
}

// A full synchronisation of a new stream that a crash interrupted leaves
// the replica at the old stream's epoch.
TEST(NetJournal, InterruptedFullSyncOfAnotherStreamIsRolledBack) {
  TwoEpochs two;
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  test::Pair fresh(TwoEpochs::options());
  for (size_t i = 0; i < fresh.primary().size(); ++i)
    fresh.primary()[i] = static_cast<uint8_t>(i * 13);
  const std::vector<uint8_t> sync = fresh.encode(test::all_pages(kPages));
  StreamId other{};
  other[0] = 0x77;
  std::string meta2;
  {
    Opened o(path);
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, two.stream, 1, two.epoch1);
    commit_epoch(*o.store, two.stream, 2, two.epoch2);
    meta2 = read_file(path + ".meta");
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, other, 1, sync);
    EXPECT_EQ(o.store->metadata().stream, other);
    EXPECT_EQ(o.replica(), fresh.primary());
  }
  write_file(path + ".meta", meta2);
  tear(path, two.image2, {1, 3});  // some pages back, the others still new
  Opened o(path);
  ASSERT_EQ(o.status, FGBI_OK);
  EXPECT_EQ(o.store->rollbacks(), 1u);
  EXPECT_EQ(o.store->metadata().stream, two.stream);
  EXPECT_EQ(o.store->metadata().committed, 2u);
  EXPECT_EQ(o.replica(), two.image2);
}

// An epoch the receiver rejects applies nothing and commits nothing.
TEST(NetJournal, RejectedEpochLeavesReplicaAndMetadata) {
  TwoEpochs two;
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  Opened o(path);
  ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
  commit_epoch(*o.store, two.stream, 1, two.epoch1);
  std::vector<uint8_t> bad = two.epoch2;
  bad[bad.size() - 40] ^= 1;  // inside the last segment's records
  ASSERT_EQ(o.store->begin_epoch(two.stream, 2), FGBI_OK);
  fgbi_status st = o.store->append(bad);
  if (st == FGBI_OK) st = o.store->commit(false);
  EXPECT_NE(st, FGBI_OK);
  o.store->abort_epoch();
  EXPECT_EQ(o.store->metadata().committed, 1u);
  EXPECT_EQ(o.replica(), two.image1);
  commit_epoch(*o.store, two.stream, 2, two.epoch2);  // the good one still applies
  EXPECT_EQ(o.replica(), two.image2);
}

TEST(NetJournal, MetadataForAnotherGeometryIsRefused) {
  TwoEpochs two;
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  {
    Opened o(path);
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, two.stream, 1, two.epoch1);
  }
  Opened wider(path, 2 * kPages);
  EXPECT_EQ(wider.status, FGBI_E_REPLICA_STATE);
  EXPECT_NE(wider.log.last_error().find("32 pages"), std::string::npos) << wider.log.last_error();
}

// A replica changed after its final metadata (e.g. the VM ran on it after
// failover) no longer counts as the stream's epoch: the next primary must
// resynchronise it fully.
TEST(NetJournal, ReplicaChangedAfterFailoverForcesAFullSync) {
  TwoEpochs two;
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  {
    Opened o(path);
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, two.stream, 1, two.epoch1);
    ASSERT_EQ(o.store->set_state(ReplicaState::kFailover, true), FGBI_OK);
    EXPECT_EQ(o.store->metadata().digest, fgbi_memory_digest(two.image1.data(), two.image1.size()));
  }
  for (int reopen = 0; reopen < 2; ++reopen) {  // the digest survives reopening
    Opened unchanged(path);
    EXPECT_EQ(unchanged.store->metadata().committed, 1u);
    EXPECT_TRUE(unchanged.store->metadata().has_digest);
  }
  std::vector<uint8_t> changed = two.image1;
  changed[100] ^= 1;
  tear(path, changed, {0});  // the VM wrote to the replica
  Opened o(path);
  ASSERT_EQ(o.status, FGBI_OK);
  EXPECT_EQ(o.store->metadata().committed, 0u);
  EXPECT_EQ(o.store->metadata().stream, StreamId{});
}

}  // namespace
}  // namespace fgbi::session
