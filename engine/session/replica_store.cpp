#include "session/replica_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <new>

#include "common/bytes.hpp"
#include "session/crypto.hpp"

namespace fgbi::session {
namespace {

constexpr const char* kStateNames[] = {"receiving", "primary-closed", "failover", "stopped"};

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::string hex64(uint64_t v) {
  uint8_t be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return hex(be);
}

bool parse_hex(std::string_view s, std::span<uint8_t> out) {
  if (s.size() != out.size() * 2) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned v = 0;
    const auto r = std::from_chars(s.data() + 2 * i, s.data() + 2 * i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + 2 * i + 2) return false;
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

bool parse_hex64(std::string_view s, uint64_t* v) {
  uint8_t be[8];
  if (!parse_hex(s, be)) return false;
  *v = 0;
  for (uint8_t b : be) *v = (*v << 8) | b;
  return true;
}

bool parse_u64(std::string_view s, uint64_t* v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

// Reads "key value\n" lines in a fixed order.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view key, std::string_view* value) {
    const size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) return false;
    const std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key ||
        line[key.size()] != ' ')
      return false;
    *value = line.substr(key.size() + 1);
    return true;
  }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

template <size_t N>
bool is_zero(const std::array<uint8_t, N>& id) {
  for (uint8_t b : id)
    if (b != 0) return false;
  return true;
}

constexpr std::string_view kMetadataHeader = "fgbi-replica 2\n";

// "DEVICE INODE BIRTH_NS xattr|no-xattr"
bool parse_replica_file(std::string_view v, ReplicaFile* f) {
  uint64_t* fields[] = {&f->device, &f->inode, &f->birth_ns};
  for (uint64_t* field : fields) {
    const size_t space = v.find(' ');
    if (space == std::string_view::npos || !parse_u64(v.substr(0, space), field)) return false;
    v.remove_prefix(space + 1);
  }
  if (v != "xattr" && v != "no-xattr") return false;
  f->xattr = v == "xattr";
  return true;
}

// The identity of an open or named file (fd, or path with fd = AT_FDCWD).
bool file_identity(int fd, const char* path, ReplicaFile* f, uint64_t* size) {
  struct statx sx {};
  if (statx(fd, path, *path ? 0 : AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return false;
  f->device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  f->inode = sx.stx_ino;
  f->birth_ns = (sx.stx_mask & STATX_BTIME)
                    ? uint64_t(sx.stx_btime.tv_sec) * 1000000000u + sx.stx_btime.tv_nsec
                    : 0;
  *size = sx.stx_size;
  return S_ISREG(sx.stx_mode);
}

}  // namespace

std::string digest_text(uint64_t digest) { return "xxh3-64:" + hex64(digest); }

std::string replica_identity_problem(const std::string& path, const ReplicaMetadata& m) {
  ReplicaFile now;
  uint64_t size = 0;
  errno = 0;
  if (!file_identity(AT_FDCWD, path.c_str(), &now, &size))
    return errno == ENOENT ? "it is missing"
           : errno != 0    ? "it cannot be examined: " + posix::errno_text(errno)
                           : "it is not a regular file";
  if (size < m.replica_bytes)
    return "it is truncated (" + std::to_string(size) + " of " + std::to_string(m.replica_bytes) +
           " bytes)";
  if (now.device != m.file.device || now.inode != m.file.inode)
    return "it is another file (inode " + std::to_string(now.inode) + ", the metadata's is " +
           std::to_string(m.file.inode) + ")";
  if (now.birth_ns != 0 && m.file.birth_ns != 0 && now.birth_ns != m.file.birth_ns)
    return "it was created again since (another birth time)";
  if (!m.file.xattr) return {};
  ReplicaId id{};
  const ssize_t n = getxattr(path.c_str(), kReplicaIdXattr, id.data(), id.size());
  if (n < 0)
    return errno == ENODATA ? std::string("it carries no replica id")
                            : "its replica id cannot be read: " + posix::errno_text(errno);
  if (static_cast<size_t>(n) != id.size() || id != m.id)
    return "it carries replica id " +
           hex({id.data(), static_cast<size_t>(std::max<ssize_t>(n, 0))}) +
           ", the metadata names " + hex(m.id);
  return {};
}

std::string format_metadata(const ReplicaMetadata& m) {
  std::string s = std::string(kMetadataHeader);
  s += "state " + std::string(kStateNames[static_cast<int>(m.state)]) + "\n";
  s += "stream " + hex(m.stream) + "\n";
  s += "committed_epoch " + std::to_string(m.committed) + "\n";
  s += "page_size " + std::to_string(m.geometry.page_size) + "\n";
  s += "block_size " + std::to_string(m.geometry.block_size) + "\n";
  s += "tracked_pages " + std::to_string(m.geometry.tracked_pages) + "\n";
  s += "replica_bytes " + std::to_string(m.replica_bytes) + "\n";
  s += "replica_id " + hex(m.id) + "\n";
  s += "replica_file " + std::to_string(m.file.device) + " " + std::to_string(m.file.inode) + " " +
       std::to_string(m.file.birth_ns) + " " + (m.file.xattr ? "xattr" : "no-xattr") + "\n";
  s += "replica_digest " + (m.has_digest ? digest_text(m.digest) : std::string("none")) + "\n";
  s += "checksum " + hex64(xxh3(s.data(), s.size())) + "\n";
  return s;
}

fgbi_status parse_metadata(std::string_view text, ReplicaMetadata* out, std::string* why) {
  auto fail = [&](const char* what) {
    *why = std::string("metadata: ") + what;
    return FGBI_E_REPLICA_STATE;
  };
  if (text.substr(0, kMetadataHeader.size()) != kMetadataHeader) {
    // Version 1 ends with the same checksum line; only an intact one is
    // taken for an older version rather than for damage.
    const size_t line = text.rfind("\nchecksum ");
    uint64_t checksum = 0;
    if (text.substr(0, 15) != "fgbi-replica 1\n" || line == std::string_view::npos ||
        text.back() != '\n' ||
        !parse_hex64(text.substr(line + 10, text.size() - line - 11), &checksum) ||
        checksum != xxh3(text.data(), line + 1))
      return fail("not an intact fgbi-replica file");
    *why =
        "metadata: written by an older version (fgbi-replica 1), which names no replica "
        "identity";
    return FGBI_E_INCOMPATIBLE;
  }
  LineReader r(text.substr(kMetadataHeader.size()));
  std::string_view v;
  ReplicaMetadata m;
  uint64_t n = 0;
  if (!r.next("state", &v)) return fail("missing state");
  bool known = false;
  for (int i = 0; i < 4; ++i) {
    if (v == kStateNames[i]) {
      m.state = static_cast<ReplicaState>(i);
      known = true;
    }
  }
  if (!known) return fail("unknown state");
  if (!r.next("stream", &v) || !parse_hex(v, m.stream)) return fail("bad stream");
  if (!r.next("committed_epoch", &v) || !parse_u64(v, &m.committed))
    return fail("bad committed_epoch");
  if (!r.next("page_size", &v) || !parse_u64(v, &n) || n > UINT32_MAX) return fail("bad page_size");
  m.geometry.page_size = static_cast<uint32_t>(n);
  if (!r.next("block_size", &v) || !parse_u64(v, &n) || n > UINT32_MAX)
    return fail("bad block_size");
  m.geometry.block_size = static_cast<uint32_t>(n);
  if (!r.next("tracked_pages", &v) || !parse_u64(v, &m.geometry.tracked_pages))
    return fail("bad tracked_pages");
  if (!r.next("replica_bytes", &v) || !parse_u64(v, &m.replica_bytes))
    return fail("bad replica_bytes");
  if (!r.next("replica_id", &v) || !parse_hex(v, m.id)) return fail("bad replica_id");
  if (!r.next("replica_file", &v) || !parse_replica_file(v, &m.file))
    return fail("bad replica_file");
  if (!r.next("replica_digest", &v)) return fail("missing replica_digest");
  if (v != "none") {
    if (v.substr(0, 8) != "xxh3-64:" || !parse_hex64(v.substr(8), &m.digest))
      return fail("bad replica_digest");
    m.has_digest = true;
  }
  const size_t checked = kMetadataHeader.size() + r.position();
  uint64_t checksum = 0;
  if (!r.next("checksum", &v) || !parse_hex64(v, &checksum) || !r.at_end())
    return fail("bad checksum line");
  if (checksum != xxh3(text.data(), checked)) return fail("checksum mismatch");
  if (is_zero(m.stream) != (m.committed == 0)) return fail("stream and committed_epoch disagree");
  *out = m;
  return FGBI_OK;
}

fgbi_status write_file_atomically(const std::string& path, std::string_view content, bool sync,
                                  std::string* why) {
  const std::string tmp = path + ".tmp";
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid() || !posix::pwrite_full(fd.get(), content.data(), content.size(), 0) ||
      (sync && fsync(fd.get()) != 0)) {
    *why = "cannot write " + tmp + ": " + posix::errno_text(errno);
    return FGBI_E_IO;
  }
  fd.reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    *why = "cannot rename " + tmp + " to " + path + ": " + posix::errno_text(errno);
    return FGBI_E_IO;
  }
  if (sync) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd.valid() || fsync(dfd.get()) != 0) {
      *why = "cannot sync directory " + dir + ": " + posix::errno_text(errno);
      return FGBI_E_IO;
    }
  }
  return FGBI_OK;
}

void encode_journal_header(const JournalHeader& h, uint8_t out[kJournalHeaderBytes]) {
  store_le<uint64_t>(out, kJournalMagic);
  std::memcpy(out + 8, h.stream.data(), kStreamIdBytes);
  store_le<uint64_t>(out + 24, h.restores_to);
  store_le<uint64_t>(out + 32, h.epoch);
  store_le<uint64_t>(out + 40, h.pages);
  store_le<uint64_t>(out + 48, h.checksum);
  store_le<uint64_t>(out + 56, xxh3(out, 56));
}

bool decode_journal_header(const uint8_t in[kJournalHeaderBytes], JournalHeader* h) {
  if (load_le<uint64_t>(in) != kJournalMagic || load_le<uint64_t>(in + 56) != xxh3(in, 56))
    return false;
  std::memcpy(h->stream.data(), in + 8, kStreamIdBytes);
  h->restores_to = load_le<uint64_t>(in + 24);
  h->epoch = load_le<uint64_t>(in + 32);
  h->pages = load_le<uint64_t>(in + 40);
  h->checksum = load_le<uint64_t>(in + 48);
  return true;
}

fgbi_status ReplicaStore::io_error(const std::string& what) {
  return log_->error(FGBI_E_IO, what + ": " + posix::errno_text(errno));
}

uint8_t* ReplicaStore::replica_memory() const {
  const void* memory = nullptr;
  size_t size = 0;
  fgbi_receiver_replica(receiver_, &memory, &size);
  return static_cast<uint8_t*>(const_cast<void*>(memory));  // mapped writable by the receiver
}

fgbi_status ReplicaStore::open(const std::string& path) {
  if (is_open()) return FGBI_E_WRONG_STAGE;
  path_ = path;
  meta_path_ = path + ".meta";
  journal_path_ = path + ".journal";
  int64_t page = 0, block = 0, pages = 0;
  fgbi_receiver_get_parameter(receiver_, FGBI_P_PAGE_SIZE, &page);
  fgbi_receiver_get_parameter(receiver_, FGBI_P_BLOCK_SIZE, &block);
  fgbi_receiver_get_parameter(receiver_, FGBI_P_TRACKED_PAGES, &pages);
  page_size_ = static_cast<uint32_t>(page);
  meta_.geometry = {static_cast<uint32_t>(page), static_cast<uint32_t>(block),
                    static_cast<uint64_t>(pages)};
  meta_.replica_bytes = static_cast<uint64_t>(page) * static_cast<uint64_t>(pages);

  // The metadata's epoch counts only for the file it describes, examined
  // before anything creates or extends the replica.
  ReplicaMetadata found;
  bool exists = false;
  if (fgbi_status st = read_metadata(&found, &exists); st != FGBI_OK) return st;
  bool resuming = false;
  if (exists) {
    const std::string why = found.committed == 0 ? "" : replica_identity_problem(path_, found);
    if (why.empty()) {
      meta_ = found;
      resuming = found.committed != 0;
    } else {
      log_->warning("replica " + path_ + " is not the file " + meta_path_ + " describes: " + why +
                    "; it does not hold epoch " + std::to_string(found.committed) +
                    ", so the next primary resynchronises it fully");
    }
  }
  if (fgbi_status st = prepare_replica(resuming); st != FGBI_OK) return st;
  if (fgbi_status st = fgbi_receiver_map_file(receiver_, path.c_str()); st != FGBI_OK)
    return log_->error(st, "cannot map replica file " + path + ": " + posix::errno_text(errno));
  fgbi_receiver_set_before_apply(receiver_, &ReplicaStore::before_apply, this);
  Fd journal(::open(journal_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!journal.valid()) return io_error("cannot open journal " + journal_path_);
  // The largest epoch writes every page (a full synchronisation does).
  const uint64_t journal_bytes =
      kJournalHeaderBytes + meta_.geometry.tracked_pages * (8 + page_size_);
  if (fgbi_status st = reserve(journal.get(), journal_bytes, journal_path_, "journal");
      st != FGBI_OK)
    return st;
  journal_ = std::move(journal);
  return recover(resuming);
}

fgbi_status ReplicaStore::read_metadata(ReplicaMetadata* found, bool* exists) {
  *exists = false;
  Fd fd(::open(meta_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno == ENOENT ? FGBI_OK : io_error("cannot open " + meta_path_);
  std::string text(4096, '\0');
  const ssize_t n = read(fd.get(), text.data(), text.size());
  if (n < 0) return io_error("cannot read " + meta_path_);
  text.resize(static_cast<size_t>(n));
  std::string why;
  const fgbi_status st = parse_metadata(text, found, &why);
  if (st == FGBI_E_INCOMPATIBLE) {
    log_->warning(meta_path_ + ": " + why + "; the next primary resynchronises the replica fully");
    return FGBI_OK;
  }
  if (st != FGBI_OK) return log_->error(st, meta_path_ + ": " + why);
  if (found->geometry != meta_.geometry || found->replica_bytes != meta_.replica_bytes)
    return log_->error(FGBI_E_REPLICA_STATE,
                       meta_path_ + " describes " + std::to_string(found->geometry.tracked_pages) +
                           " pages of " + std::to_string(found->geometry.page_size) + " bytes, " +
                           std::to_string(found->geometry.block_size) +
                           "-byte blocks; the receiver is configured for " +
                           std::to_string(meta_.geometry.tracked_pages) + " pages of " +
                           std::to_string(meta_.geometry.page_size) + " bytes, " +
                           std::to_string(meta_.geometry.block_size) + "-byte blocks");
  *exists = true;
  return FGBI_OK;
}

fgbi_status ReplicaStore::reserve(int fd, uint64_t bytes, const std::string& path,
                                  const char* what) {
  // posix_fallocate returns the error instead of setting errno.
  if (const int e = posix_fallocate(fd, 0, static_cast<off_t>(bytes)); e != 0)
    return log_->error(FGBI_E_IO, std::string("cannot reserve ") + std::to_string(bytes) +
                                      " bytes for the " + what + " " + path + ": " +
                                      posix::errno_text(e));
  return FGBI_OK;
}

fgbi_status ReplicaStore::prepare_replica(bool resuming) {
  Fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("cannot open replica " + path_);
  ReplicaFile file;
  uint64_t size = 0;
  if (!file_identity(fd.get(), "", &file, &size))
    return log_->error(FGBI_E_IO, "replica " + path_ + " is not a regular file");
  // Every page the receiver may write is allocated now: a write through
  // the mapping into a hole of a full file system would be a SIGBUS.
  if (fgbi_status st = reserve(fd.get(), meta_.replica_bytes, path_, "replica"); st != FGBI_OK)
    return st;
  if (resuming) return FGBI_OK;  // the file is the one the metadata names
  meta_.stream = {};
  meta_.committed = 0;
  meta_.has_digest = false;
  if (!random_bytes(meta_.id)) return log_->error(FGBI_E_INTERNAL, "no randomness");
  file.xattr = fsetxattr(fd.get(), kReplicaIdXattr, meta_.id.data(), meta_.id.size(), 0) == 0;
  if (!file.xattr && errno != ENOTSUP)
    return io_error("cannot set " + std::string(kReplicaIdXattr) + " on replica " + path_);
  meta_.file = file;
  return FGBI_OK;
}

fgbi_status ReplicaStore::recover(bool resuming) {
  // Journal: undo an epoch whose apply a crash interrupted. It applies
  // only to the state the metadata names; once an epoch's metadata is
  // written, its journal no longer matches. A replica that is not the
  // metadata's file is not rolled back: it is resynchronised whole.
  uint8_t raw[kJournalHeaderBytes];
  JournalHeader j;
  struct stat st {};
  const uint64_t entry_bytes = 8 + uint64_t{page_size_};
  if (resuming && fstat(journal_.get(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) >= kJournalHeaderBytes &&
      posix::pread_full(journal_.get(), raw, sizeof raw, 0) == static_cast<long long>(sizeof raw) &&
      decode_journal_header(raw, &j) && j.stream == meta_.stream &&
      j.restores_to == meta_.committed && j.pages <= meta_.geometry.tracked_pages &&
      static_cast<uint64_t>(st.st_size) >= kJournalHeaderBytes + j.pages * entry_bytes) {
    std::vector<uint8_t> entries(j.pages * entry_bytes);
    if (posix::pread_full(journal_.get(), entries.data(), entries.size(), kJournalHeaderBytes) !=
        static_cast<long long>(entries.size()))
      return io_error("cannot read journal " + journal_path_);
    bool valid = xxh3(entries.data(), entries.size()) == j.checksum;
    for (uint64_t i = 0; valid && i < j.pages; ++i)
      valid = load_le<uint64_t>(entries.data() + i * entry_bytes) < meta_.geometry.tracked_pages;
    if (valid) {
      uint8_t* memory = replica_memory();
      for (uint64_t i = 0; i < j.pages; ++i) {
        const uint8_t* e = entries.data() + i * entry_bytes;
        std::memcpy(memory + load_le<uint64_t>(e) * page_size_, e + 8, page_size_);
      }
      if (msync(memory, meta_.replica_bytes, MS_SYNC) != 0)
        return io_error("cannot sync replica " + path_);
      ++rollbacks_;
      log_->warning("rolled back epoch " + std::to_string(j.epoch) + " (" +
                    std::to_string(j.pages) + " pages from " + journal_path_ +
                    "), which a crash interrupted; the replica is at epoch " +
                    std::to_string(meta_.committed) + " again");
    }
  }
  if (fgbi_status s = invalidate_journal(); s != FGBI_OK) return s;

  // A digest is kept until the next commit: it tells whether the replica
  // was used (e.g. the VM ran on it after failover) since.
  if (meta_.has_digest && replica_digest() != meta_.digest) {
    log_->warning("replica " + path_ + " changed since " + meta_path_ +
                  " was written; the next primary will resynchronise it fully");
    meta_.stream = {};
    meta_.committed = 0;
    meta_.has_digest = false;
  }
  fgbi_receiver_reset_stream(receiver_);
  fgbi_receiver_set_committed_epoch(receiver_, meta_.committed);
  return write_metadata(true);
}

fgbi_status ReplicaStore::invalidate_journal() {
  static constexpr uint8_t kZero[kJournalHeaderBytes] = {};
  if (!posix::pwrite_full(journal_.get(), kZero, sizeof kZero, 0))
    return io_error("cannot write journal " + journal_path_);
  return FGBI_OK;
}

std::vector<PageRun> ReplicaStore::data_runs() const {
  const uint64_t pages = meta_.geometry.tracked_pages;
  std::vector<PageRun> runs;
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {{0, pages}};  // cannot tell: all of it
  const off_t end = static_cast<off_t>(meta_.replica_bytes);
  off_t at = 0;
  while (at < end) {
    const off_t data = lseek(fd.get(), at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data from here on
      return {{0, pages}};        // the file system cannot tell
    }
    if (data >= end) break;
    off_t hole = lseek(fd.get(), data, SEEK_HOLE);
    if (hole < 0) return {{0, pages}};
    hole = std::min(hole, end);
    const uint64_t first = static_cast<uint64_t>(data) / page_size_;
    const uint64_t last = (static_cast<uint64_t>(hole) + page_size_ - 1) / page_size_;
    if (!runs.empty() && runs.back().end >= first)
      runs.back().end = std::max(runs.back().end, last);
    else
      runs.push_back({first, last});
    at = hole;
  }
  return runs;
}

// XXH3-64 of the whole replica, as fgbi_memory_digest of its memory. The
// file's holes (and unwritten extents) are fed as zeros from a buffer
// instead of through the mapping: a PVH guest's replica spans 4 GiB of
// which a few hundred MiB hold data, and faulting in every page of the
// rest costs minutes on a small machine.
uint64_t ReplicaStore::replica_digest() const {
  const uint8_t* memory = replica_memory();
  Xxh3Stream sum;
  uint64_t at = 0;  // bytes digested so far
  auto feed_zeros = [&](uint64_t upto) {
    if (at < upto) sum.update_zeros(upto - at);
    at = std::max(at, upto);
  };
  for (const PageRun& run : data_runs()) {
    feed_zeros(run.first * page_size_);
    const uint64_t end = std::min(run.end * page_size_, meta_.replica_bytes);
    if (end > at) sum.update(memory + at, static_cast<size_t>(end - at));
    at = std::max(at, end);
  }
  feed_zeros(meta_.replica_bytes);
  return sum.digest();
}

// The first epoch of a full synchronisation defines the whole memory: a
// page it does not carry is zeros (the primary leaves holes out,
// FGBI_PAGE_HOLE). The replica's pages outside the epoch that may hold
// data from before are listed here, to be journaled and zeroed with it; a
// fresh replica has none. `carried` ascends, as the before-apply hook gives it.
std::vector<uint64_t> ReplicaStore::stale_pages(std::span<const uint64_t> carried) const {
  std::vector<uint64_t> stale;
  const uint8_t* memory = replica_memory();
  for (const PageRun& run : data_runs()) {
    for (uint64_t pfn = run.first; pfn < run.end && pfn < meta_.geometry.tracked_pages; ++pfn) {
      if (std::binary_search(carried.begin(), carried.end(), pfn)) continue;
      const uint8_t* page = memory + pfn * page_size_;
      if (page[0] == 0 && std::memcmp(page, page + 1, page_size_ - 1) == 0) continue;
      stale.push_back(pfn);
    }
  }
  return stale;
}

fgbi_status ReplicaStore::write_metadata(bool sync) {
  std::string why;
  if (fgbi_status st = write_file_atomically(meta_path_, format_metadata(meta_), sync, &why);
      st != FGBI_OK)
    return log_->error(st, why);
  return FGBI_OK;
}

fgbi_status ReplicaStore::start_session(SyncMode mode) {
  abort_epoch();
  full_sync_ = mode == SyncMode::kFull;
  fgbi_receiver_reset_stream(receiver_);
  return fgbi_receiver_set_committed_epoch(receiver_,
                                           mode == SyncMode::kFull ? 0 : meta_.committed);
}

uint64_t ReplicaStore::next_epoch() const {
  uint64_t committed = 0;
  fgbi_receiver_committed_epoch(receiver_, &committed);
  return committed + 1;
}

fgbi_status ReplicaStore::begin_epoch(const StreamId& stream, uint64_t epoch) {
  if (in_epoch_) return FGBI_E_WRONG_STAGE;
  epoch_stream_ = stream;
  epoch_ = epoch;
  holding_ = false;
  in_epoch_ = true;
  return FGBI_OK;
}

fgbi_status ReplicaStore::append(std::span<const uint8_t> bytes) {
  if (!in_epoch_) return FGBI_E_WRONG_STAGE;
  if (bytes.empty()) return FGBI_OK;
  if (holding_) {
    if (fgbi_status st = fgbi_receiver_feed(receiver_, &held_byte_, 1); st != FGBI_OK) return st;
  }
  if (fgbi_status st = fgbi_receiver_feed(receiver_, bytes.data(), bytes.size() - 1); st != FGBI_OK)
    return st;
  held_byte_ = bytes.back();
  holding_ = true;
  return FGBI_OK;
}

fgbi_status ReplicaStore::before_apply(void* self, uint64_t epoch, const uint64_t* pfns,
                                       size_t count) noexcept {
  auto* store = static_cast<ReplicaStore*>(self);
  // An epoch that completes before the session's epoch ends is not applied.
  if (!store->committing_ || epoch != store->epoch_) return FGBI_E_PROTOCOL;
  try {
    if (!store->full_sync_ || epoch != 1)
      return store->journal_pages({pfns, count}, store->commit_sync_);
    store->stale_ = store->stale_pages({pfns, count});
    std::vector<uint64_t> pages(pfns, pfns + count);
    pages.insert(pages.end(), store->stale_.begin(), store->stale_.end());  // journaled with it
    return store->journal_pages(pages, store->commit_sync_);
  } catch (const std::bad_alloc&) {
    return FGBI_E_NO_MEMORY;
  } catch (...) {
    return FGBI_E_INTERNAL;
  }
}

// Writes the current content of the pages into the journal, entries first
// and the header last, so that only a complete journal is ever used.
fgbi_status ReplicaStore::journal_pages(std::span<const uint64_t> pfns, bool sync) {
  if (fgbi_status st = invalidate_journal(); st != FGBI_OK) return st;
  const uint8_t* memory = replica_memory();
  constexpr size_t kBatch = 256;  // entries per pwritev
  std::vector<iovec> iov;
  std::vector<uint8_t> pfn_bytes(kBatch * 8);
  Xxh3Stream sum;
  uint64_t offset = kJournalHeaderBytes;
  for (size_t first = 0; first < pfns.size(); first += kBatch) {
    const size_t n = std::min(kBatch, pfns.size() - first);
    iov.clear();
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t* le = pfn_bytes.data() + 8 * i;
      store_le<uint64_t>(le, pfns[first + i]);
      const uint8_t* page = memory + pfns[first + i] * page_size_;
      iov.push_back({le, 8});
      iov.push_back({const_cast<uint8_t*>(page), page_size_});
      sum.update(le, 8);
      sum.update(page, page_size_);
      bytes += 8 + page_size_;
    }
    size_t done = 0;
    while (done < bytes) {
      const ssize_t w = pwritev(journal_.get(), iov.data(), static_cast<int>(iov.size()),
                                static_cast<off_t>(offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return io_error("cannot write journal " + journal_path_);
      done += static_cast<size_t>(w);
      const int left =
          consume_iov(iov.data(), static_cast<int>(iov.size()), static_cast<size_t>(w));
      iov.erase(iov.begin(), iov.begin() + left);
    }
    offset += bytes;
  }
  JournalHeader h;
  h.stream = meta_.stream;
  h.restores_to = meta_.committed;
  h.epoch = epoch_;
  h.pages = pfns.size();
  h.checksum = sum.digest();
  uint8_t raw[kJournalHeaderBytes];
  encode_journal_header(h, raw);
  if (!posix::pwrite_full(journal_.get(), raw, sizeof raw, 0) ||
      (sync && fdatasync(journal_.get()) != 0))
    return io_error("cannot write journal " + journal_path_);
  return FGBI_OK;
}

fgbi_status ReplicaStore::commit(bool sync) {
  if (!in_epoch_ || !holding_) return FGBI_E_PROTOCOL;
  holding_ = false;
  // The last byte completes the epoch: the receiver validates it, calls
  // before_apply (the journal), then applies it.
  committing_ = true;
  commit_sync_ = sync;
  stale_.clear();
  const fgbi_status fed = fgbi_receiver_feed(receiver_, &held_byte_, 1);
  committing_ = false;
  if (fed != FGBI_OK) return fed;
  if (next_epoch() != epoch_ + 1) return FGBI_E_PROTOCOL;  // wire epoch not complete
  in_epoch_ = false;
  for (uint64_t pfn : stale_) std::memset(replica_memory() + pfn * page_size_, 0, page_size_);
  if (!stale_.empty())
    log_->info("full synchronisation: zeroed " + std::to_string(stale_.size()) +
               " pages of the replica that its first epoch does not carry");
  // From here the epoch is in the replica: failing to record it is no
  // rejection. The journal still restores the metadata's epoch, which the
  // next open does; until then nothing more may be applied.
  auto unrecorded = [&](const std::string& why) {
    return log_->error(FGBI_E_IO, "epoch " + std::to_string(epoch_) +
                                      " was applied to the replica but cannot be recorded: " + why +
                                      "; serving stops, and opening the replica again "
                                      "rolls it back to epoch " +
                                      std::to_string(meta_.committed) + " from " + journal_path_);
  };
  if (sync && msync(replica_memory(), meta_.replica_bytes, MS_SYNC) != 0)
    return unrecorded("cannot sync replica " + path_ + ": " + posix::errno_text(errno));
  ReplicaMetadata next = meta_;
  next.stream = epoch_stream_;
  next.committed = epoch_;
  next.state = ReplicaState::kReceiving;
  next.has_digest = false;
  std::string why;
  if (write_file_atomically(meta_path_, format_metadata(next), sync, &why) != FGBI_OK)
    return unrecorded(why);
  meta_ = next;
  return FGBI_OK;
}

void ReplicaStore::abort_epoch() {
  if (!in_epoch_) return;
  in_epoch_ = false;
  holding_ = false;
  fgbi_receiver_reset_stream(receiver_);
}

fgbi_status ReplicaStore::set_state(ReplicaState state, bool final) {
  abort_epoch();
  meta_.state = state;
  meta_.has_digest = final;
  if (final) {
    if (msync(replica_memory(), meta_.replica_bytes, MS_SYNC) != 0)
      return io_error("cannot sync replica " + path_);
    meta_.digest = replica_digest();
  }
  return write_metadata(final);
}

}  // namespace fgbi::session
