// The backup's replica on disk: the memory file the receiver maps, a
// metadata file beside it (PATH.meta: stream, committed epoch, geometry,
// state, digest, and the identity of the replica file it describes;
// replaced atomically) and an undo journal (PATH.journal)
// holding the content, before the epoch being committed, of every page
// that epoch writes. The receiver applies epochs in place, and some records
// are deltas against the committed replica (they cannot be applied twice),
// so a backup that crashes mid-apply rolls the replica back from the
// journal when it opens it again: the replica is then at the epoch its
// metadata names, which is the last epoch it acknowledged.
//
// The metadata's epoch is only believed for the file it was written for: a
// random replica id, kept both in the metadata and in an extended attribute
// of the replica file (user.fgbi.replica_id), plus the file's device, inode,
// birth time and size. A replica that is missing, replaced, truncated or
// another replica's is not resumed: the next primary resynchronises it.
// Replica and journal space is reserved (posix_fallocate) before any epoch
// is accepted, so that a write through the mapping never meets a full disk.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/xxh3.hpp"
#include "fgbi.h"
#include "session/log.hpp"
#include "session/protocol.hpp"
#include "session/socket.hpp"

namespace fgbi::session {

enum class ReplicaState { kReceiving, kPrimaryClosed, kFailover, kStopped };

inline constexpr size_t kReplicaIdBytes = 16;
using ReplicaId = std::array<uint8_t, kReplicaIdBytes>;
// The extended attribute of the replica file that holds its replica id.
inline constexpr const char* kReplicaIdXattr = "user.fgbi.replica_id";

// Which file a metadata file describes.
struct ReplicaFile {
  uint64_t device = 0, inode = 0;
  uint64_t birth_ns = 0;  // 0: the file system does not report birth times
  bool xattr = false;     // the replica id is also in the file's extended attribute
  bool operator==(const ReplicaFile&) const = default;
};

struct ReplicaMetadata {
  StreamId stream{};  // all zero: no stream has committed an epoch
  uint64_t committed = 0;
  Geometry geometry;
  uint64_t replica_bytes = 0;
  ReplicaId id{};  // all zero: no replica file bound yet
  ReplicaFile file;
  ReplicaState state = ReplicaState::kReceiving;
  bool has_digest = false;
  uint64_t digest = 0;  // fgbi_memory_digest of the replica, when has_digest
};

// "xxh3-64:0123456789abcdef": how digests are written for people and files.
std::string digest_text(uint64_t digest);

std::string format_metadata(const ReplicaMetadata& m);
// FGBI_E_REPLICA_STATE with a reason for anything but a well-formed file;
// FGBI_E_INCOMPATIBLE for a well-formed file of an older version, which
// names no replica identity and so cannot be resumed from.
fgbi_status parse_metadata(std::string_view text, ReplicaMetadata* out, std::string* why);
// "" when the file at path is the replica m describes; else what differs
// (missing, not a regular file, truncated, another file, another replica).
std::string replica_identity_problem(const std::string& path, const ReplicaMetadata& m);
// Writes path.tmp, then renames it over path; with sync, fsyncs the file
// before and the directory after the rename.
fgbi_status write_file_atomically(const std::string& path, std::string_view content, bool sync,
                                  std::string* why);

// The undo journal's header; entries follow: pfn u64, then the page.
struct JournalHeader {
  StreamId stream{};         // the replica state the journal restores:
  uint64_t restores_to = 0;  // its stream and committed epoch (the metadata's)
  uint64_t epoch = 0;        // the epoch that was being applied
  uint64_t pages = 0;
  uint64_t checksum = 0;  // XXH3-64 of the entries
};
inline constexpr size_t kJournalHeaderBytes = 64;
inline constexpr uint64_t kJournalMagic = 0x314F444E55494746;  // "FGBIUND1"
void encode_journal_header(const JournalHeader& h, uint8_t out[kJournalHeaderBytes]);
// False when the bytes are not a valid journal header.
bool decode_journal_header(const uint8_t in[kJournalHeaderBytes], JournalHeader* h);

// Pages [first, end) of the replica file.
struct PageRun {
  uint64_t first = 0, end = 0;
};

class ReplicaStore {
 public:
  ReplicaStore(fgbi_receiver* receiver, Log* log) : receiver_(receiver), log_(log) {}
  // The receiver is the caller's and may outlive the store; its hook may not.
  ~ReplicaStore() { fgbi_receiver_set_before_apply(receiver_, nullptr, nullptr); }
  ReplicaStore(const ReplicaStore&) = delete;
  ReplicaStore& operator=(const ReplicaStore&) = delete;

  // Maps the replica, reads its metadata and rolls back an epoch whose
  // apply a crash interrupted.
  fgbi_status open(const std::string& path);
  bool is_open() const { return journal_.valid(); }
  const ReplicaMetadata& metadata() const { return meta_; }
  uint64_t rollbacks() const { return rollbacks_; }

  // Prepares the receiver for a session: resume from the replica's epoch,
  // or a full sync from epoch 1 (the replica keeps its old content and
  // metadata until that epoch commits).
  fgbi_status start_session(SyncMode mode);
  uint64_t next_epoch() const;

  // One epoch: begin, the wire-format bytes in pieces, then commit. Until
  // commit, the receiver never sees the epoch's last byte, so nothing is
  // applied before the session's EpochEnd; then the receiver's
  // before-apply hook journals the pages the epoch writes before it writes
  // them. Errors are stream errors (the receiver's codes) or FGBI_E_IO;
  // call abort_epoch() after any of them.
  fgbi_status begin_epoch(const StreamId& stream, uint64_t epoch);
  fgbi_status append(std::span<const uint8_t> bytes);
  fgbi_status commit(bool sync);
  void abort_epoch();
  bool in_epoch() const { return in_epoch_; }

  // Records a state change, with the digest of the replica and everything
  // flushed (msync, fsync) when final is set.
  fgbi_status set_state(ReplicaState state, bool final);
  uint64_t replica_digest() const;
  // Runs of pages of the replica file that may hold data (SEEK_DATA /
  // SEEK_HOLE); all of it where the file system cannot tell.
  std::vector<PageRun> data_runs() const;

 private:
  fgbi_status read_metadata(ReplicaMetadata* found, bool* exists);
  // Creates the replica file if needed, reserves its space, and binds it to
  // meta_.id (a new id unless resuming).
  fgbi_status prepare_replica(bool resuming);
  fgbi_status reserve(int fd, uint64_t bytes, const std::string& path, const char* what);
  fgbi_status recover(bool resuming);
  fgbi_status write_metadata(bool sync);
  // The receiver's before-apply hook: journals the pages the epoch writes,
  // and refuses an epoch that completes before commit() feeds its last byte.
  static fgbi_status before_apply(void* self, uint64_t epoch, const uint64_t* pfns,
                                  size_t count) noexcept;
  fgbi_status journal_pages(std::span<const uint64_t> pfns, bool sync);
  fgbi_status invalidate_journal();
  std::vector<uint64_t> stale_pages(std::span<const uint64_t> carried) const;
  fgbi_status io_error(const std::string& what);
  uint8_t* replica_memory() const;

  fgbi_receiver* receiver_;
  Log* log_;
  std::string path_, meta_path_, journal_path_;
  ReplicaMetadata meta_;
  Fd journal_;
  uint64_t rollbacks_ = 0;
  uint32_t page_size_ = 0;

  bool in_epoch_ = false;
  bool full_sync_ = false;  // this session started from epoch 1
  StreamId epoch_stream_{};
  uint64_t epoch_ = 0;
  bool committing_ = false;  // commit() is feeding the epoch's last byte
  bool commit_sync_ = false;
  std::vector<uint64_t> stale_;  // pages the committing epoch 1 of a full sync zeroes
  uint8_t held_byte_ = 0;        // the epoch's last byte so far, not yet fed
  bool holding_ = false;
};

}  // namespace fgbi::session
