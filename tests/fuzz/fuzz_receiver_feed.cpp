// libFuzzer: arbitrary bytes into fgbi_receiver_feed, in pieces whose size
// the first input byte picks; after a stream error the receiver is reset
// and fed the rest (fgbi::fuzz::feed_receiver). It must never crash, hang,
// leak or write outside the replica, and commits never go backwards. A feed
// that commits nothing leaves the replica byte-identical: after every stream
// error and at the end, the replica equals its content at the last commit (or
// at the start). Mutated bytes nearly always fail a checksum first, so when
// the first byte asks for it the harness first recomputes the stream's
// checksums (docs/wire-format.md) to let the mutations reach record parsing,
// decoding and the apply.
#include "fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!fgbi::fuzz::feed_receiver(data, size).invariants_held) __builtin_trap();
  return 0;
}
