// The backup's replica files: an epoch journaled before a crash is
// completed when the replica is opened again, whatever part of it had
// reached the replica; a torn, corrupt or stale journal is ignored and the
// replica stays at its committed epoch.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "net_harness.hpp"
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

void write_journal(const std::string& path, const JournalHeader& h,
                   const std::vector<uint8_t>& bytes) {
  uint8_t raw[kJournalHeaderBytes];
  encode_journal_header(h, raw);
  std::ofstream out(path + ".journal", std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(raw), sizeof raw);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
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
  JournalHeader journal2() const {
    JournalHeader h;
    h.stream = stream;
    h.base_epoch = 1;
    h.epoch = 2;
    h.bytes = epoch2.size();
    h.checksum = fgbi_memory_digest(epoch2.data(), epoch2.size());
    return h;
  }
  test::Pair pair;
  StreamId stream{};
  std::vector<uint8_t> epoch1, epoch2, image1, image2;
  std::vector<uint64_t> dirty;
};

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
  EXPECT_EQ(again.store->journal_replays(), 0u);
  EXPECT_EQ(again.replica(), two.image2);
}

// The crash points of a commit: after the journal, during the apply
// (some pages written), after the apply but before the metadata.
TEST(NetJournal, InterruptedApplyIsCompletedFromTheJournal) {
  TwoEpochs two;
  const std::vector<std::vector<uint64_t>> written = {{}, {0}, {0, 2, 4, 6, 8}, two.dirty};
  for (const auto& pages : written) {
    test::net::TempDir dir;
    const std::string path = dir.file("replica");
    {
      Opened o(path);
      ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
      commit_epoch(*o.store, two.stream, 1, two.epoch1);
    }
    write_journal(path, two.journal2(), two.epoch2);
    tear(path, two.image2, pages);
    Opened o(path);
    ASSERT_EQ(o.status, FGBI_OK) << o.log.last_error();
    EXPECT_EQ(o.store->journal_replays(), 1u) << pages.size() << " pages applied";
    EXPECT_EQ(o.store->metadata().committed, 2u);
    EXPECT_EQ(o.replica(), two.image2) << pages.size() << " pages applied";
    // The journal is used once: opening again changes nothing.
    o.store.reset();
    o.receiver.reset();
    Opened twice(path);
    EXPECT_EQ(twice.store->journal_replays(), 0u);
    EXPECT_EQ(twice.replica(), two.image2);
  }
}

// A journal that was not completely written (so nothing was applied), or
// that is corrupt, stale, or for another stream is ignored.
TEST(NetJournal, UnusableJournalsLeaveTheCommittedEpoch) {
  TwoEpochs two;
  struct Case {
    const char* what;
    std::function<void(JournalHeader&, std::vector<uint8_t>&)> spoil;
  };
  const Case cases[] = {
      {"truncated", [](JournalHeader&, std::vector<uint8_t>& b) { b.resize(b.size() / 2); }},
      {"corrupt data", [](JournalHeader&, std::vector<uint8_t>& b) { b[b.size() / 3] ^= 1; }},
      {"stale", [](JournalHeader& h, std::vector<uint8_t>&) { h.base_epoch = 0, h.epoch = 1; }},
      {"other stream", [](JournalHeader& h, std::vector<uint8_t>&) { h.stream[1] = 9; }},
      {"wrong base",
       [](JournalHeader& h, std::vector<uint8_t>&) { h.base_epoch = 5, h.epoch = 6; }},
  };
  for (const Case& c : cases) {
    test::net::TempDir dir;
    const std::string path = dir.file("replica");
    {
      Opened o(path);
      ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
      commit_epoch(*o.store, two.stream, 1, two.epoch1);
    }
    JournalHeader h = two.journal2();
    std::vector<uint8_t> bytes = two.epoch2;
    c.spoil(h, bytes);
    if (std::string(c.what) == "stale") bytes = two.epoch1;
    if (std::string(c.what) != "truncated" && std::string(c.what) != "corrupt data")
      h.checksum = fgbi_memory_digest(bytes.data(), bytes.size());
    write_journal(path, h, bytes);
    Opened o(path);
    ASSERT_EQ(o.status, FGBI_OK) << c.what;
    EXPECT_EQ(o.store->journal_replays(), 0u) << c.what;
    EXPECT_EQ(o.store->metadata().committed, 1u) << c.what;
    EXPECT_EQ(o.replica(), two.image1) << c.what;
  }
}

// A journaled full synchronisation of a new stream replaces the old one.
TEST(NetJournal, JournaledFullSyncOfAnotherStreamIsCompleted) {
  TwoEpochs two;
  test::net::TempDir dir;
  const std::string path = dir.file("replica");
  {
    Opened o(path);
    ASSERT_EQ(o.store->start_session(SyncMode::kFull), FGBI_OK);
    commit_epoch(*o.store, two.stream, 1, two.epoch1);
    commit_epoch(*o.store, two.stream, 2, two.epoch2);
  }
  test::Pair fresh(TwoEpochs::options());
  for (size_t i = 0; i < fresh.primary().size(); ++i)
    fresh.primary()[i] = static_cast<uint8_t>(i * 13);
  const std::vector<uint8_t> sync = fresh.encode(test::all_pages(kPages));
  JournalHeader h;
  h.stream[0] = 0x77;
  h.base_epoch = 0;
  h.epoch = 1;
  h.bytes = sync.size();
  h.checksum = fgbi_memory_digest(sync.data(), sync.size());
  write_journal(path, h, sync);
  tear(path, fresh.primary(), {1, 3});
  Opened o(path);
  ASSERT_EQ(o.status, FGBI_OK);
  EXPECT_EQ(o.store->journal_replays(), 1u);
  EXPECT_EQ(o.store->metadata().stream, h.stream);
  EXPECT_EQ(o.store->metadata().committed, 1u);
  EXPECT_EQ(o.replica(), fresh.primary());
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
