// What each fuzz target does with one input, as functions that report the
// outcome: the libFuzzer targets trap when an invariant breaks, and
// tests/seed_corpus_test.cpp runs the committed seeds through the same code
// in every build and pins what each one must give.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fgbi.h"

namespace fgbi::fuzz {

// Input: one mode byte, then a stream of epochs. Mode 0x80: the receiver
// requires the digest; 0x40: the harness first recomputes the stream's
// checksums so that mutations reach record parsing, decoding and the apply;
// the low 6 bits: the piece size fed at a time. After a stream error the
// receiver is reset and fed the rest.
struct FeedOutcome {
  uint64_t committed = 0;           // the receiver's last committed epoch
  std::vector<fgbi_status> errors;  // each stream error in order, end_stream's last
  // Commits never went backwards, and a feed that committed nothing left
  // the replica byte-identical to its content at the last commit.
  bool invariants_held = true;
};
FeedOutcome feed_receiver(const uint8_t* data, size_t size);

// Input: one mode byte (odd: the reader holds the session key, as after a
// handshake), then frames.
struct FramesOutcome {
  std::vector<uint8_t> types;          // each complete frame's type, in order
  std::vector<fgbi_status> decoded;    // its message decoder's status (data frames: FGBI_OK)
  fgbi_status stopped_with = FGBI_OK;  // the reader's final error, if any
  // No payload beyond its type's limit, no error text beyond its limit.
  bool invariants_held = true;
};
FramesOutcome read_frames(const uint8_t* data, size_t size);

// Input: a trace file; every epoch is read and verified.
struct TraceOutcome {
  bool opened = false;
  size_t epochs_indexed = 0;
  size_t epochs_read = 0;  // read and verified, before the first failure
  uint64_t pages = 0;      // in the epochs read
  std::string error;       // the first failure's message
  // Every failure says why; every epoch read has a page per pfn, all below
  // the tracked pages.
  bool invariants_held = true;
};
TraceOutcome read_trace(const uint8_t* data, size_t size);

// Input: one mode byte, then a stream. Mode bit 0 set: the stream is an
// fgbi link, fed to remus-rx's rewriter; clear: an xl stream, fed to
// remus-tx's, whose output then goes through remus-rx's. The low bits 1-6
// give the piece size fed at a time. Both track at most 64 pages.
struct ProxyOutcome {
  bool ok = false;           // every feed and the finish succeeded
  uint64_t checkpoints = 0;  // forwarded whole by the first rewriter
  size_t forwarded = 0;      // bytes it released
  std::string error;         // its error
  // A failure always says why. remus-tx: what remus-rx rebuilds from the
  // link is exactly a prefix of the xl stream (all of it when remus-tx
  // succeeded), and remus-rx accepts the whole link. remus-rx: what it
  // releases parses as an xl stream.
  bool invariants_held = true;
};
ProxyOutcome run_proxy(const uint8_t* data, size_t size);

}  // namespace fgbi::fuzz
