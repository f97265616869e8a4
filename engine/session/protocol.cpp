#include "session/protocol.hpp"

#include <algorithm>
#include <cstring>

#include "common/bytes.hpp"

namespace fgbi::session {
namespace {

// Little-endian writer over a fixed-size message.
class Out {
 public:
  explicit Out(size_t size) : bytes_(size, 0) {}
  Out& u8(uint8_t v) { return put(v); }
  Out& u16(uint16_t v) { return put(v); }
  Out& u32(uint32_t v) { return put(v); }
  Out& u64(uint64_t v) { return put(v); }
  Out& raw(std::span<const uint8_t> v) {
    std::memcpy(bytes_.data() + pos_, v.data(), v.size());
    pos_ += v.size();
    return *this;
  }
  Out& skip(size_t n) {
    pos_ += n;
    return *this;
  }
  std::vector<uint8_t> done() { return std::move(bytes_); }

 private:
  template <typename T>
  Out& put(T v) {
    store_le<T>(bytes_.data() + pos_, v);
    pos_ += sizeof v;
    return *this;
  }
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

// Little-endian reader; `ok` turns false on a nonzero reserved field.
class In {
 public:
  explicit In(std::span<const uint8_t> in) : in_(in) {}
  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  template <size_t N>
  void raw(std::array<uint8_t, N>* out) {
    std::memcpy(out->data(), in_.data() + pos_, N);
    pos_ += N;
  }
  void reserved(size_t n) {
    for (size_t i = 0; i < n; ++i) ok &= in_[pos_ + i] == 0;
    pos_ += n;
  }
  bool ok = true;

 private:
  template <typename T>
  T get() {
    const T v = load_le<T>(in_.data() + pos_);
    pos_ += sizeof v;
    return v;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void put_geometry(Out& o, const Geometry& g) {
  o.u32(g.page_size).u32(g.block_size).u64(g.tracked_pages);
}
Geometry get_geometry(In& in) {
  Geometry g;
  g.page_size = in.u32();
  g.block_size = in.u32();
  g.tracked_pages = in.u64();
  return g;
}

fgbi_status well_formed(bool ok) { return ok ? FGBI_OK : fgbi_status{FGBI_E_PROTOCOL}; }

// Magic and version of Hello and Welcome: a stranger's bytes are a protocol
// error, a different version an incompatibility.
fgbi_status check_preamble(In& in) {
  if (in.u64() != kHandshakeMagic) return FGBI_E_PROTOCOL;
  if (in.u16() != kProtocolVersion) return FGBI_E_INCOMPATIBLE;
  in.reserved(2);
  return FGBI_OK;
}

constexpr char kBackupProofLabel[] = "fgbi-repl-1 backup proof";
constexpr char kPrimaryProofLabel[] = "fgbi-repl-1 primary proof";
constexpr char kPrimaryKeyLabel[] = "fgbi-repl-1 key primary->backup";
constexpr char kBackupKeyLabel[] = "fgbi-repl-1 key backup->primary";

std::span<const uint8_t> label(const char* text) {
  return {reinterpret_cast<const uint8_t*>(text), std::strlen(text)};
}

void mac_frame(Hmac& key, uint64_t sequence, const uint8_t* header,
               std::span<const uint8_t> payload, Mac* out) {
  uint8_t seq[8];
  store_le<uint64_t>(seq, sequence);
  key.begin();
  key.update(seq);
  key.update({header, kFrameHeaderBytes});
  key.update(payload);
  *out = key.finish();
}

}  // namespace

const char* frame_type_name(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return "Hello";
    case FrameType::kWelcome: return "Welcome";
    case FrameType::kAuth: return "Auth";
    case FrameType::kReady: return "Ready";
    case FrameType::kEpochBegin: return "EpochBegin";
    case FrameType::kEpochData: return "EpochData";
    case FrameType::kEpochEnd: return "EpochEnd";
    case FrameType::kAck: return "Ack";
    case FrameType::kHeartbeat: return "Heartbeat";
    case FrameType::kVerify: return "Verify";
    case FrameType::kVerifyReply: return "VerifyReply";
    case FrameType::kBye: return "Bye";
    case FrameType::kError: return "Error";
  }
  return "unknown";
}

size_t max_payload(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return kHelloBytes;
    case FrameType::kWelcome: return kWelcomeBytes;
    case FrameType::kAuth: return kAuthBytes;
    case FrameType::kReady: return 16;
    case FrameType::kEpochBegin: return 8;
    case FrameType::kEpochData: return kMaxDataPayload;
    case FrameType::kEpochEnd: return 24;
    case FrameType::kAck: return 16;
    case FrameType::kHeartbeat: return 8;
    case FrameType::kVerify: return 8;
    case FrameType::kVerifyReply: return 24;
    case FrameType::kBye: return 8;
    case FrameType::kError: return 8 + kMaxErrorText;
  }
  return 0;
}

std::vector<uint8_t> encode(const Hello& m) {
  Out o(kHelloBytes);
  o.u64(kHandshakeMagic).u16(kProtocolVersion).skip(2).u32(m.capabilities);
  put_geometry(o, m.geometry);
  o.raw(m.stream).raw(m.nonce).u64(m.last_epoch);
  return o.done();
}

std::vector<uint8_t> encode(const Welcome& m) {
  Out o(kWelcomeBytes);
  o.u64(kHandshakeMagic).u16(kProtocolVersion).skip(2).u32(m.capabilities);
  put_geometry(o, m.geometry);
  o.raw(m.stream).u64(m.committed).skip(8).raw(m.nonce).raw(m.proof);
  return o.done();
}

std::vector<uint8_t> encode(const Auth& m) {
  Out o(kAuthBytes);
  o.u8(static_cast<uint8_t>(m.mode)).skip(7).u64(m.base_epoch).raw(m.proof);
  return o.done();
}

std::vector<uint8_t> encode(const Ready& m) { return Out(16).u64(m.next_epoch).done(); }

std::vector<uint8_t> encode(const EpochEnd& m) {
  return Out(24).u64(m.epoch).u64(m.bytes).u32(m.frames).done();
}

std::vector<uint8_t> encode(const Ack& m) { return Out(16).u64(m.epoch).u64(m.commit_us).done(); }

std::vector<uint8_t> encode(const VerifyReply& m) {
  return Out(24).u64(m.request).u64(m.committed).u64(m.digest).done();
}

std::vector<uint8_t> encode(const ErrorMessage& m) {
  const size_t n = std::min(m.text.size(), kMaxErrorText);
  Out o(8 + n);
  o.u32(static_cast<uint32_t>(m.status)).u16(static_cast<uint16_t>(n)).skip(2);
  o.raw({reinterpret_cast<const uint8_t*>(m.text.data()), n});
  return o.done();
}

std::vector<uint8_t> encode_u64(uint64_t value) { return Out(8).u64(value).done(); }

fgbi_status decode(std::span<const uint8_t> in, Hello* m) {
  if (in.size() != kHelloBytes) return FGBI_E_PROTOCOL;
  In r(in);
  if (fgbi_status st = check_preamble(r); st != FGBI_OK) return st;
  m->capabilities = r.u32();
  m->geometry = get_geometry(r);
  r.raw(&m->stream);
  r.raw(&m->nonce);
  m->last_epoch = r.u64();
  r.reserved(8);
  return well_formed(r.ok);
}

fgbi_status decode(std::span<const uint8_t> in, Welcome* m) {
  if (in.size() != kWelcomeBytes) return FGBI_E_PROTOCOL;
  In r(in);
  if (fgbi_status st = check_preamble(r); st != FGBI_OK) return st;
  m->capabilities = r.u32();
  m->geometry = get_geometry(r);
  r.raw(&m->stream);
  m->committed = r.u64();
  r.reserved(8);
  r.raw(&m->nonce);
  r.raw(&m->proof);
  return well_formed(r.ok);
}

fgbi_status decode(std::span<const uint8_t> in, Auth* m) {
  if (in.size() != kAuthBytes) return FGBI_E_PROTOCOL;
  In r(in);
  const uint8_t mode = r.u8();
  r.reserved(7);
  m->base_epoch = r.u64();
  r.raw(&m->proof);
  if (!r.ok || (mode != static_cast<uint8_t>(SyncMode::kFull) &&
                mode != static_cast<uint8_t>(SyncMode::kResume)))
    return FGBI_E_PROTOCOL;
  m->mode = static_cast<SyncMode>(mode);
  if (m->mode == SyncMode::kFull && m->base_epoch != 0) return FGBI_E_PROTOCOL;
  return FGBI_OK;
}

fgbi_status decode(std::span<const uint8_t> in, Ready* m) {
  if (in.size() != 16) return FGBI_E_PROTOCOL;
  In r(in);
  m->next_epoch = r.u64();
  r.reserved(8);
  return well_formed(r.ok && m->next_epoch != 0);
}

fgbi_status decode(std::span<const uint8_t> in, EpochEnd* m) {
  if (in.size() != 24) return FGBI_E_PROTOCOL;
  In r(in);
  m->epoch = r.u64();
  m->bytes = r.u64();
  m->frames = r.u32();
  r.reserved(4);
  return well_formed(r.ok);
}

fgbi_status decode(std::span<const uint8_t> in, Ack* m) {
  if (in.size() != 16) return FGBI_E_PROTOCOL;
  In r(in);
  m->epoch = r.u64();
  m->commit_us = r.u64();
  return FGBI_OK;
}

fgbi_status decode(std::span<const uint8_t> in, VerifyReply* m) {
  if (in.size() != 24) return FGBI_E_PROTOCOL;
  In r(in);
  m->request = r.u64();
  m->committed = r.u64();
  m->digest = r.u64();
  return FGBI_OK;
}

fgbi_status decode(std::span<const uint8_t> in, ErrorMessage* m) {
  if (in.size() < 8) return FGBI_E_PROTOCOL;
  In r(in);
  m->status = static_cast<fgbi_status>(r.u32());
  const uint16_t n = r.u16();
  r.reserved(2);
  if (!r.ok || n > kMaxErrorText || in.size() != 8u + n) return FGBI_E_PROTOCOL;
  // Shown to people: keep printable ASCII only.
  m->text.clear();
  for (uint8_t c : in.subspan(8)) m->text.push_back(c >= 0x20 && c < 0x7F ? char(c) : '?');
  return FGBI_OK;
}

fgbi_status decode_u64(std::span<const uint8_t> in, uint64_t* value) {
  if (in.size() != 8) return FGBI_E_PROTOCOL;
  *value = load_le<uint64_t>(in.data());
  return FGBI_OK;
}

Mac backup_proof(Hmac& psk, std::span<const uint8_t> hello, std::span<const uint8_t> welcome) {
  psk.begin();
  psk.update(label(kBackupProofLabel));
  psk.update(hello);
  psk.update(welcome.first(kWelcomeProofOffset));
  return psk.finish();
}

Mac primary_proof(Hmac& psk, std::span<const uint8_t> hello, std::span<const uint8_t> welcome,
                  std::span<const uint8_t> auth) {
  psk.begin();
  psk.update(label(kPrimaryProofLabel));
  psk.update(hello);
  psk.update(welcome.first(kWelcomeProofOffset));
  psk.update(auth.first(kAuthProofOffset));
  return psk.finish();
}

bool derive_session_keys(Hmac& psk, const Nonce& primary, const Nonce& backup, SessionKeys* out) {
  auto derive = [&](const char* text, Hmac* key) {
    psk.begin();
    psk.update(label(text));
    psk.update(primary);
    psk.update(backup);
    const Mac k = psk.finish();
    return key->set_key(k);
  };
  return derive(kPrimaryKeyLabel, &out->primary_to_backup) &&
         derive(kBackupKeyLabel, &out->backup_to_primary);
}

void FrameWriter::build(FrameType type, std::span<const uint8_t> payload, OutFrame* out) {
  std::memset(out->header, 0, sizeof out->header);
  out->header[0] = static_cast<uint8_t>(type);
  store_le<uint32_t>(out->header + 4, static_cast<uint32_t>(payload.size()));
  out->payload = payload;
  out->has_mac = key_ != nullptr;
  if (key_) mac_frame(*key_, sequence_++, out->header, payload, &out->mac);
}

FrameReader::FrameReader() : buffer_(kFrameHeaderBytes + kMacBytes) {}

fgbi_status FrameReader::check_header() {
  const uint8_t type = buffer_[0];
  const size_t limit = max_payload(type);
  if (limit == 0 || buffer_[1] != 0 || buffer_[2] != 0 || buffer_[3] != 0) return FGBI_E_PROTOCOL;
  const uint32_t length = load_le<uint32_t>(buffer_.data() + 4);
  if (length > limit) return FGBI_E_PROTOCOL;
  payload_bytes_ = length;
  needed_ = kFrameHeaderBytes + length + (key_ ? kMacBytes : 0);
  if (buffer_.size() < needed_) buffer_.resize(needed_);  // grows to the largest frame seen
  header_done_ = true;
  return FGBI_OK;
}

fgbi_status FrameReader::take(const uint8_t** data, size_t* size, bool* complete) {
  *complete = false;
  while (*size > 0) {
    const size_t n = std::min(*size, needed_ - filled_);
    std::memcpy(buffer_.data() + filled_, *data, n);
    filled_ += n;
    *data += n;
    *size -= n;
    if (filled_ < needed_) return FGBI_OK;
    if (!header_done_) {
      if (fgbi_status st = check_header(); st != FGBI_OK) return st;
      if (filled_ < needed_) continue;
    }
    // A whole frame.
    filled_ = 0;
    needed_ = kFrameHeaderBytes;
    header_done_ = false;
    if (key_) {
      Mac expected;
      mac_frame(*key_, sequence_++, buffer_.data(), payload(), &expected);
      if (!equal_constant_time(expected,
                               {buffer_.data() + kFrameHeaderBytes + payload_bytes_, kMacBytes}))
        return FGBI_E_MAC_MISMATCH;
    }
    *complete = true;
    return FGBI_OK;
  }
  return FGBI_OK;
}

}  // namespace fgbi::session
