#include "fuzz/harness.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "proxy.hpp"
#include "session/crypto.hpp"
#include "session/protocol.hpp"
#include "support/rewriter_feed.hpp"
#include "trace/reader.hpp"

namespace fgbi::fuzz {
namespace {

constexpr int64_t kPages = 8;
constexpr size_t kPageBytes = 4096;
constexpr uint32_t kEpochMagic = 0x49424746;
constexpr uint32_t kSegmentMagic = 0x53424746;
constexpr uint32_t kTrailerMagic = 0x54424746;

// Recomputes header, segment, record and epoch checksums of every epoch
// that the bytes still delimit (wire format v2: header, segments until the
// trailer's magic, trailer); stops where they no longer do.
void fix_checksums(std::vector<uint8_t>& b) {
  size_t pos = 0;
  while (pos + 48 <= b.size() && load_le<uint32_t>(b.data() + pos) == kEpochMagic) {
    uint8_t* h = b.data() + pos;
    store_le<uint64_t>(h + 40, xxh3(h, 40));
    Xxh3Stream epoch_sum;
    epoch_sum.update(h, 48);
    size_t p = pos + 48;
    while (p + 32 <= b.size() && load_le<uint32_t>(b.data() + p) == kSegmentMagic) {
      uint8_t* sh = b.data() + p;
      const uint64_t records = load_le<uint64_t>(sh + 8);
      if (records > b.size() - p - 32) return;
      store_le<uint64_t>(sh + 16, xxh3(sh + 32, records));
      store_le<uint64_t>(sh + 24, xxh3(sh, 24));
      epoch_sum.update(sh, 32);
      p += 32 + records;
    }
    if (p + 48 > b.size() || load_le<uint32_t>(b.data() + p) != kTrailerMagic) return;
    uint8_t* t = b.data() + p;
    epoch_sum.update(t, 40);
    store_le<uint64_t>(t + 40, epoch_sum.digest());
    pos = p + 48;
  }
}

fgbi_status decode_message(uint8_t type, std::span<const uint8_t> payload, bool* held) {
  using namespace session;
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: {
      Hello m;
      return decode(payload, &m);
    }
    case FrameType::kWelcome: {
      Welcome m;
      return decode(payload, &m);
    }
    case FrameType::kAuth: {
      Auth m;
      return decode(payload, &m);
    }
    case FrameType::kReady: {
      Ready m;
      return decode(payload, &m);
    }
    case FrameType::kEpochEnd: {
      EpochEnd m;
      return decode(payload, &m);
    }
    case FrameType::kAck: {
      Ack m;
      return decode(payload, &m);
    }
    case FrameType::kVerifyReply: {
      VerifyReply m;
      return decode(payload, &m);
    }
    case FrameType::kError: {
      ErrorMessage m;
      const fgbi_status st = decode(payload, &m);
      if (st == FGBI_OK && m.text.size() > kMaxErrorText) *held = false;
      return st;
    }
    case FrameType::kEpochData: return FGBI_OK;
    default: {
      uint64_t value = 0;
      return decode_u64(payload, &value);
    }
  }
}

}  // namespace

FeedOutcome feed_receiver(const uint8_t* data, size_t size) {
  FeedOutcome out;
  if (size == 0) return out;
  const uint8_t mode = data[0];
  std::vector<uint8_t> stream(data + 1, data + size);
  if (mode & 0x40) fix_checksums(stream);
  fgbi_receiver* r = nullptr;
  if (fgbi_receiver_create(&r) != FGBI_OK) return out;
  fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, kPages);
  fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, 1 << 20);
  fgbi_receiver_set_parameter(r, FGBI_P_DIGEST, (mode & 0x80) ? 1 : 0);
  // Not zeros: a stray write of zeros must show too.
  std::vector<uint8_t> replica(kPages * kPageBytes);
  for (size_t i = 0; i < replica.size(); ++i) replica[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  std::vector<uint8_t> at_commit = replica;
  fgbi_receiver_attach_memory(r, replica.data(), replica.size());
  const size_t bits = mode & 0x3Fu;
  const size_t piece = 1 + bits * bits * 3;
  for (size_t off = 0; off < stream.size(); off += piece) {
    const size_t n = std::min(piece, stream.size() - off);
    const fgbi_status st = fgbi_receiver_feed(r, stream.data() + off, n);
    uint64_t now = 0;
    fgbi_receiver_committed_epoch(r, &now);
    if (now < out.committed) out.invariants_held = false;  // a commit went backwards
    if (now > out.committed) at_commit = replica;
    out.committed = now;
    if (st != FGBI_OK) {
      out.errors.push_back(st);
      if (replica != at_commit) out.invariants_held = false;  // a refused epoch wrote
      fgbi_receiver_reset_stream(r);
    }
  }
  if (const fgbi_status st = fgbi_receiver_end_stream(r); st != FGBI_OK) out.errors.push_back(st);
  uint64_t now = 0;
  fgbi_receiver_committed_epoch(r, &now);
  if (now == out.committed && replica != at_commit) out.invariants_held = false;
  fgbi_receiver_free(r);
  return out;
}

FramesOutcome read_frames(const uint8_t* data, size_t size) {
  FramesOutcome out;
  if (size == 0) return out;
  static session::Hmac key = [] {
    session::Hmac h;
    const std::string k = "fgbi fuzz session key, 32 bytes";
    h.set_key({reinterpret_cast<const uint8_t*>(k.data()), k.size()});
    return h;
  }();
  session::FrameReader reader;
  if (data[0] & 1) reader.set_key(&key);
  ++data;
  --size;
  while (size > 0) {
    bool complete = false;
    if (const fgbi_status st = reader.take(&data, &size, &complete); st != FGBI_OK) {
      out.stopped_with = st;
      break;
    }
    if (!complete) continue;
    if (reader.payload().size() > session::max_payload(reader.type())) out.invariants_held = false;
    out.types.push_back(reader.type());
    out.decoded.push_back(decode_message(reader.type(), reader.payload(), &out.invariants_held));
  }
  return out;
}

TraceOutcome read_trace(const uint8_t* data, size_t size) {
  TraceOutcome out;
  // The reader takes a path: an anonymous in-memory file behind /proc.
  const int fd = memfd_create("trace", MFD_CLOEXEC);
  if (fd < 0) {
    out.error = "memfd_create failed";
    return out;
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  auto reader =
      adapters::trace::TraceReader::open("/proc/self/fd/" + std::to_string(fd), out.error);
  if (reader) {
    out.opened = true;
    out.epochs_indexed = reader->index().size();
    adapters::Epoch epoch;
    for (size_t i = 0; i < reader->index().size(); ++i) {
      out.error.clear();
      if (!reader->read_epoch(i, epoch, nullptr, out.error)) {
        if (out.error.empty()) out.invariants_held = false;  // a failure always says why
        break;
      }
      if (epoch.pfns.size() != epoch.pages.size()) out.invariants_held = false;
      for (uint64_t pfn : epoch.pfns)
        if (pfn >= reader->header().tracked_pages) out.invariants_held = false;
      ++out.epochs_read;
      out.pages += epoch.pfns.size();
    }
  } else if (out.error.empty()) {
    out.invariants_held = false;
  }
  close(fd);
  return out;
}

ProxyOutcome run_proxy(const uint8_t* data, size_t size) {
  ProxyOutcome out;
  if (size == 0) return out;
  const bool link = (data[0] & 1) != 0;
  const size_t piece = ((data[0] >> 1) & 63) + 1;
  ++data, --size;
  constexpr uint64_t kMaxPages = 64;
  std::vector<uint8_t> first;
  if (link) {
    xlstream::RemusRx rx(kMaxPages);
    out.ok = fgbi::test::feed_rewriter(rx, data, size, piece, &first);
    out.error = rx.error();
    out.checkpoints = rx.committed_checkpoints();
    xlstream::Parser parser(false);
    parser.feed(first);
    xlstream::Item item;
    while (parser.next(&item)) {
    }
    if (parser.failed()) out.invariants_held = false;
  } else {
    xlstream::ProxyOptions options;
    options.max_pages = kMaxPages;
    xlstream::RemusTx tx(options);
    out.ok = fgbi::test::feed_rewriter(tx, data, size, piece, &first);
    out.error = tx.error();
    out.checkpoints = tx.committed_checkpoints();
    xlstream::RemusRx rx(kMaxPages);
    std::vector<uint8_t> rebuilt;
    // remus-tx releases whole parts only, so remus-rx takes all of them; the
    // link ends where the stream did, so it ends well only if the stream did.
    if (!fgbi::test::feed_rewriter(rx, first.data(), first.size(), 4096, &rebuilt, false))
      out.invariants_held = false;
    if (out.ok && !rx.finish()) out.invariants_held = false;
    if (rebuilt.size() > size || !std::equal(rebuilt.begin(), rebuilt.end(), data))
      out.invariants_held = false;
    if (out.ok && rebuilt.size() != size) out.invariants_held = false;
  }
  out.forwarded = first.size();
  if (!out.ok && out.error.empty()) out.invariants_held = false;
  return out;
}

}  // namespace fgbi::fuzz
