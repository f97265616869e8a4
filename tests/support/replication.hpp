// Test support: a sender and a receiver wired together through the public C
// ABI, with a primary memory the tests mutate and a replica to compare.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fgbi.h"

namespace fgbi::test {

struct SenderFree {
  void operator()(fgbi_sender* s) const { fgbi_sender_free(s); }
};
struct ReceiverFree {
  void operator()(fgbi_receiver* r) const { fgbi_receiver_free(r); }
};
using SenderPtr = std::unique_ptr<fgbi_sender, SenderFree>;
using ReceiverPtr = std::unique_ptr<fgbi_receiver, ReceiverFree>;

struct PairOptions {
  uint64_t pages = 256;
  int64_t block_size = 64;
  int64_t threads = 1;
  int64_t receiver_threads = 1;
  bool digest = true;
  int64_t hash_bits = 64;  // FGBI_P_TEST_HASH_BITS
  int64_t sharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
  int64_t codecs = FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;
  int64_t cache_bytes = 64 << 20;
  int64_t adaptive = 1;  // 0 makes the stream depend on the input alone
  // FGBI_P_STREAM_ID: fixed, so that two pairs given the same input produce
  // the same bytes.
  int64_t stream_id = 0x5eed;
  int64_t backend = FGBI_BACKEND_AUTO;  // both ends
  // FGBI_P_LINK_MBPS: the cost model's link. Tests of a mechanism use a
  // slow one, at which every optional stage pays and so runs.
  int64_t link_mbps = 100;
};

// Sharing and compression off: the plain records of the wire format only.
inline PairOptions plain_options(PairOptions o = {}) {
  o.sharing = 0;
  o.codecs = 0;
  return o;
}

inline constexpr size_t kPage = 4096;

class Pair {
 public:
  explicit Pair(const PairOptions& options = {});

  const PairOptions& options() const { return options_; }
  uint8_t* page(uint64_t pfn) { return primary_.data() + pfn * kPage; }
  std::vector<uint8_t>& primary() { return primary_; }
  const std::vector<uint8_t>& replica() const { return replica_; }
  fgbi_sender* sender() { return sender_.get(); }
  fgbi_receiver* receiver() { return receiver_.get(); }

  // Runs one sender epoch over the pfns (their current primary content) and
  // returns its stream. Fails the test on any sender error.
  std::vector<uint8_t> encode(const std::vector<uint64_t>& pfns);
  // Feeds the stream in pieces of `piece` bytes; returns the first error.
  fgbi_status feed(const std::vector<uint8_t>& stream, size_t piece = SIZE_MAX);
  // encode + feed, expecting success.
  void replicate(const std::vector<uint64_t>& pfns, size_t piece = SIZE_MAX);
  uint64_t committed() const;
  bool replica_matches_primary() const { return replica_ == primary_; }

 private:
  PairOptions options_;
  std::vector<uint8_t> primary_;
  std::vector<uint8_t> replica_;
  SenderPtr sender_;
  ReceiverPtr receiver_;
};

// Every pfn in [0, pages).
std::vector<uint64_t> all_pages(uint64_t pages);

}  // namespace fgbi::test
