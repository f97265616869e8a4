// libFuzzer: arbitrary bytes into the session's frame reader (without a
// key, or keyed as after a handshake when the first input byte is odd),
// and every complete frame through the message decoder of its type.
#include <cstdint>
#include <string>

#include "session/crypto.hpp"
#include "session/protocol.hpp"

using namespace fgbi::session;

namespace {

void decode_all(uint8_t type, std::span<const uint8_t> payload) {
  uint64_t value = 0;
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: {
      Hello m;
      decode(payload, &m);
      break;
    }
    case FrameType::kWelcome: {
      Welcome m;
      decode(payload, &m);
      break;
    }
    case FrameType::kAuth: {
      Auth m;
      decode(payload, &m);
      break;
    }
    case FrameType::kReady: {
      Ready m;
      decode(payload, &m);
      break;
    }
    case FrameType::kEpochEnd: {
      EpochEnd m;
      decode(payload, &m);
      break;
    }
    case FrameType::kAck: {
      Ack m;
      decode(payload, &m);
      break;
    }
    case FrameType::kVerifyReply: {
      VerifyReply m;
      decode(payload, &m);
      break;
    }
    case FrameType::kError: {
      ErrorMessage m;
      if (decode(payload, &m) == FGBI_OK && m.text.size() > kMaxErrorText) __builtin_trap();
      break;
    }
    case FrameType::kEpochData: break;
    default: decode_u64(payload, &value); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Hmac key = [] {
    Hmac h;
    const std::string k = "fgbi fuzz session key, 32 bytes";
    h.set_key({reinterpret_cast<const uint8_t*>(k.data()), k.size()});
    return h;
  }();
  FrameReader reader;
  if (data[0] & 1) reader.set_key(&key);
  ++data;
  --size;
  while (size > 0) {
    bool complete = false;
    if (reader.take(&data, &size, &complete) != FGBI_OK) break;
    if (complete) {
      if (reader.payload().size() > max_payload(reader.type())) __builtin_trap();
      decode_all(reader.type(), reader.payload());
    }
  }
  return 0;
}
