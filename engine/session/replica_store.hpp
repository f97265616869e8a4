// The backup's replica on disk: the memory file the receiver maps, a
// metadata file beside it (PATH.meta: stream, committed epoch, geometry,
// state, digest; replaced atomically) and a redo journal (PATH.journal)
// holding the epoch being committed. Each epoch is journaled before the
// receiver applies it in place, so a backup that crashes mid-apply finishes
// the epoch from the journal when it opens the replica again: applying an
// epoch's records is idempotent and its digest check does not depend on
// how much of it had reached the replica.
#pragma once

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

struct ReplicaMetadata {
  StreamId stream{};  // all zero: no stream has committed an epoch
  uint64_t committed = 0;
  Geometry geometry;
  uint64_t replica_bytes = 0;
  ReplicaState state = ReplicaState::kReceiving;
  bool has_digest = false;
  uint64_t digest = 0;  // fgbi_memory_digest of the replica, when has_digest
};

// "xxh3-64:0123456789abcdef": how digests are written for people and files.
std::string digest_text(uint64_t digest);

std::string format_metadata(const ReplicaMetadata& m);
// FGBI_E_REPLICA_STATE with a reason for anything but a well-formed file.
fgbi_status parse_metadata(std::string_view text, ReplicaMetadata* out, std::string* why);
// Writes path.tmp, then renames it over path; with sync, fsyncs the file
// before and the directory after the rename.
fgbi_status write_file_atomically(const std::string& path, std::string_view content, bool sync,
                                  std::string* why);

struct JournalHeader {
  StreamId stream{};
  uint64_t base_epoch = 0;  // the replica's epoch before this one (0: full sync)
  uint64_t epoch = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;  // XXH3-64 of the epoch bytes
};
inline constexpr size_t kJournalHeaderBytes = 64;
inline constexpr uint64_t kJournalMagic = 0x314E524A49424746;  // "FGBIJRN1"
void encode_journal_header(const JournalHeader& h, uint8_t out[kJournalHeaderBytes]);
// False when the bytes are not a valid journal header.
bool decode_journal_header(const uint8_t in[kJournalHeaderBytes], JournalHeader* h);

class ReplicaStore {
 public:
  ReplicaStore(fgbi_receiver* receiver, Log* log) : receiver_(receiver), log_(log) {}
  ReplicaStore(const ReplicaStore&) = delete;
  ReplicaStore& operator=(const ReplicaStore&) = delete;

  // Maps the replica, reads its metadata and completes a journaled epoch.
  fgbi_status open(const std::string& path);
  bool is_open() const { return journal_.valid(); }
  const ReplicaMetadata& metadata() const { return meta_; }
  uint64_t journal_replays() const { return replays_; }

  // Prepares the receiver for a session: resume from the replica's epoch,
  // or a full sync from epoch 1 (the replica keeps its old content and
  // metadata until that epoch commits).
  fgbi_status start_session(SyncMode mode);
  uint64_t next_epoch() const;

  // One epoch: begin, the wire-format bytes in pieces, then commit. Until
  // commit, the receiver never sees the epoch's last byte, so nothing is
  // applied before the epoch is journaled. Errors are stream errors (the
  // receiver's codes) or FGBI_E_IO; call abort_epoch() after any of them.
  fgbi_status begin_epoch(const StreamId& stream, uint64_t epoch);
  fgbi_status append(std::span<const uint8_t> bytes);
  fgbi_status commit(bool sync);
  void abort_epoch();
  bool in_epoch() const { return in_epoch_; }

  // Records a state change, with the digest of the replica and everything
  // flushed (msync, fsync) when final is set.
  fgbi_status set_state(ReplicaState state, bool final);
  uint64_t replica_digest() const;

 private:
  fgbi_status recover();
  fgbi_status write_metadata(bool sync);
  fgbi_status feed(std::span<const uint8_t> bytes);
  fgbi_status io_error(const std::string& what);

  fgbi_receiver* receiver_;
  Log* log_;
  std::string path_, meta_path_, journal_path_;
  ReplicaMetadata meta_;
  Fd journal_;
  uint64_t replays_ = 0;

  bool in_epoch_ = false;
  JournalHeader pending_;
  Xxh3Stream journal_sum_;
  uint8_t held_byte_ = 0;  // the epoch's last byte so far, not yet fed
  bool holding_ = false;
};

}  // namespace fgbi::session
