// Replication protocol v1 (docs/replication-protocol.md): framing, the
// handshake and session messages, and their pure encoders and decoders.
// Decoders check sizes, magic, reserved fields and ranges and answer
// FGBI_E_PROTOCOL otherwise; what a message means is the ends' business.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "session/crypto.hpp"

namespace fgbi::session {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr uint64_t kHandshakeMagic = 0x4C50455249424746;  // "FGBIREPL"
inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr size_t kMaxDataPayload = size_t{1} << 20;
inline constexpr size_t kMaxErrorText = 240;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kStreamIdBytes = 16;

enum class FrameType : uint8_t {
  kHello = 1,
  kWelcome = 2,
  kAuth = 3,
  kReady = 4,
  kEpochBegin = 16,
  kEpochData = 17,
  kEpochEnd = 18,
  kAck = 19,
  kHeartbeat = 32,
  kVerify = 33,
  kVerifyReply = 34,
  kBye = 35,
  kError = 36,
};
const char* frame_type_name(uint8_t type);

// Capability bits (advertised in Hello and Welcome; unknown bits ignored).
inline constexpr uint32_t kCapAuth = 1u << 0;    // this end holds a pre-shared key
inline constexpr uint32_t kCapDigest = 1u << 1;  // epochs carry / must carry the digest

using StreamId = std::array<uint8_t, kStreamIdBytes>;
using Nonce = std::array<uint8_t, kNonceBytes>;

struct Geometry {
  uint32_t page_size = 0;
  uint32_t block_size = 0;
  uint64_t tracked_pages = 0;
  bool operator==(const Geometry&) const = default;
};

struct Hello {
  uint32_t capabilities = 0;
  Geometry geometry;
  StreamId stream{};
  Nonce nonce{};
  uint64_t last_epoch = 0;  // the primary's last epoch (informational)
};

struct Welcome {
  uint32_t capabilities = 0;
  Geometry geometry;
  StreamId stream{};  // the replica's stream; all zero = none
  uint64_t committed = 0;
  Nonce nonce{};
  Mac proof{};
};

enum class SyncMode : uint8_t { kFull = 1, kResume = 2 };

struct Auth {
  SyncMode mode = SyncMode::kFull;
  uint64_t base_epoch = 0;  // resume: the backup's committed epoch; full: 0
  Mac proof{};
};

struct Ready {
  uint64_t next_epoch = 0;
};

struct EpochEnd {
  uint64_t epoch = 0;
  uint64_t bytes = 0;
  uint32_t frames = 0;
};

struct Ack {
  uint64_t epoch = 0;
  uint64_t commit_us = 0;  // backup time from EpochEnd to the durable commit
};

struct VerifyReply {
  uint64_t request = 0;
  uint64_t committed = 0;
  uint64_t digest = 0;
};

struct ErrorMessage {
  fgbi_status status = FGBI_OK;
  std::string text;
};

inline constexpr size_t kHelloBytes = 96;
inline constexpr size_t kWelcomeBytes = 128;
inline constexpr size_t kWelcomeProofOffset = 96;
inline constexpr size_t kAuthBytes = 48;
inline constexpr size_t kAuthProofOffset = 16;

std::vector<uint8_t> encode(const Hello& m);
std::vector<uint8_t> encode(const Welcome& m);
std::vector<uint8_t> encode(const Auth& m);
std::vector<uint8_t> encode(const Ready& m);
std::vector<uint8_t> encode(const EpochEnd& m);
std::vector<uint8_t> encode(const Ack& m);
std::vector<uint8_t> encode(const VerifyReply& m);
std::vector<uint8_t> encode(const ErrorMessage& m);
// Messages that are one u64 (EpochBegin, Heartbeat, Verify, Bye).
std::vector<uint8_t> encode_u64(uint64_t value);

fgbi_status decode(std::span<const uint8_t> in, Hello* m);
fgbi_status decode(std::span<const uint8_t> in, Welcome* m);
fgbi_status decode(std::span<const uint8_t> in, Auth* m);
fgbi_status decode(std::span<const uint8_t> in, Ready* m);
fgbi_status decode(std::span<const uint8_t> in, EpochEnd* m);
fgbi_status decode(std::span<const uint8_t> in, Ack* m);
fgbi_status decode(std::span<const uint8_t> in, VerifyReply* m);
fgbi_status decode(std::span<const uint8_t> in, ErrorMessage* m);
fgbi_status decode_u64(std::span<const uint8_t> in, uint64_t* value);

// Largest payload a frame of this type may carry; 0 for an unknown type.
size_t max_payload(uint8_t type);

// The keys of one session, derived from the pre-shared key and both nonces.
struct SessionKeys {
  Hmac primary_to_backup;
  Hmac backup_to_primary;
};
// Handshake proofs: HMAC(psk, label || transcript) where the transcript is
// the Hello payload, the Welcome payload up to its proof, and for the
// primary's proof the Auth payload up to its proof.
Mac backup_proof(Hmac& psk, std::span<const uint8_t> hello, std::span<const uint8_t> welcome);
Mac primary_proof(Hmac& psk, std::span<const uint8_t> hello, std::span<const uint8_t> welcome,
                  std::span<const uint8_t> auth);
bool derive_session_keys(Hmac& psk, const Nonce& primary, const Nonce& backup, SessionKeys* out);

// One frame ready to write: header, payload (borrowed) and MAC if keyed.
struct OutFrame {
  uint8_t header[kFrameHeaderBytes];
  std::span<const uint8_t> payload;
  Mac mac{};
  bool has_mac = false;
  size_t size() const { return kFrameHeaderBytes + payload.size() + (has_mac ? kMacBytes : 0); }
};

// Frames outgoing messages in one direction: numbers them and appends the
// MAC once the session is keyed.
class FrameWriter {
 public:
  void set_key(Hmac* key) {
    key_ = key;
    sequence_ = 0;
  }
  void build(FrameType type, std::span<const uint8_t> payload, OutFrame* out);

 private:
  Hmac* key_ = nullptr;
  uint64_t sequence_ = 0;
};

// Parses the incoming byte stream into frames, in pieces of any size, with
// memory bounded by the largest frame allowed. Once keyed, every frame must carry a
// valid MAC over its sequence number, header and payload.
class FrameReader {
 public:
  FrameReader();
  void set_key(Hmac* key) {
    key_ = key;
    sequence_ = 0;
  }
  // Consumes bytes from *data (advancing it and *size) up to the end of the
  // next frame. *complete tells whether a frame is ready in type() and
  // payload(), valid until the next call. Errors are final.
  fgbi_status take(const uint8_t** data, size_t* size, bool* complete);
  uint8_t type() const { return buffer_[0]; }
  std::span<const uint8_t> payload() const {
    return {buffer_.data() + kFrameHeaderBytes, payload_bytes_};
  }
  // True while part of a frame has arrived.
  bool mid_frame() const { return filled_ != 0; }

 private:
  fgbi_status check_header();
  std::vector<uint8_t> buffer_;
  size_t filled_ = 0;
  size_t needed_ = kFrameHeaderBytes;
  size_t payload_bytes_ = 0;
  bool header_done_ = false;
  Hmac* key_ = nullptr;
  uint64_t sequence_ = 0;
};

}  // namespace fgbi::session
