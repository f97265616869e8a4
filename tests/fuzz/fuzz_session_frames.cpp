// libFuzzer: arbitrary bytes into the session's frame reader (without a
// key, or keyed as after a handshake when the first input byte is odd),
// and every complete frame through the message decoder of its type
// (fgbi::fuzz::read_frames). No payload may exceed its type's limit, no
// error text its limit.
#include "fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!fgbi::fuzz::read_frames(data, size).invariants_held) __builtin_trap();
  return 0;
}
