// The fuzz targets' committed seeds (tests/fuzz/corpus) as a regular test in
// every build: each seed goes through the code its fuzz target runs
// (tests/fuzz/harness.hpp) and must give the outcome pinned here, and so
// must a few edits of it whose outcome the formats decide: a cut, a flipped
// byte under a checksum or a MAC, a receiver that requires what the stream
// lacks.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "fuzz/harness.hpp"
#include "session/protocol.hpp"
#include "xl_stream.hpp"

namespace fgbi::fuzz {
namespace {

using Bytes = std::vector<uint8_t>;
using session::FrameType;

Bytes seed(const std::string& name) {
  std::ifstream in(std::string(FGBI_FUZZ_CORPUS) + "/" + name, std::ios::binary);
  Bytes bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_FALSE(bytes.empty()) << name << " is missing or empty";
  return bytes;
}

FeedOutcome feed(const Bytes& input) { return feed_receiver(input.data(), input.size()); }
FramesOutcome frames(const Bytes& input) { return read_frames(input.data(), input.size()); }
TraceOutcome trace(const Bytes& input) { return read_trace(input.data(), input.size()); }

// Offsets of the epoch headers in a receiver seed (after its mode byte).
std::vector<size_t> epoch_starts(const Bytes& input) {
  constexpr uint32_t kEpochMagic = 0x49424746;  // "FGBI"
  std::vector<size_t> starts;
  for (size_t at = 1; at + 4 <= input.size(); ++at)
    if (load_le<uint32_t>(input.data() + at) == kEpochMagic) starts.push_back(at);
  return starts;
}

struct ReceiverSeed {
  const char* name;
  uint64_t epochs;
};
constexpr ReceiverSeed kReceiverSeeds[] = {
    {"receiver_feed/sync_only_whole", 1},
    {"receiver_feed/sync_then_edits_digest", 4},
    {"receiver_feed/sync_then_edits_no_digest", 4},
};

TEST(FuzzCorpus, ReceiverSeedsCommitEveryEpoch) {
  for (const ReceiverSeed& s : kReceiverSeeds) {
    SCOPED_TRACE(s.name);
    const Bytes input = seed(s.name);
    EXPECT_EQ(epoch_starts(input).size(), s.epochs);
    const FeedOutcome o = feed(input);
    EXPECT_TRUE(o.invariants_held);
    EXPECT_EQ(o.committed, s.epochs);
    EXPECT_TRUE(o.errors.empty()) << fgbi_error_name(o.errors.front());
  }
}

TEST(FuzzCorpus, ReceiverSeedsCutShortLoseOnlyTheirLastEpoch) {
  for (const ReceiverSeed& s : kReceiverSeeds) {
    SCOPED_TRACE(s.name);
    Bytes input = seed(s.name);
    input.pop_back();
    const FeedOutcome o = feed(input);
    EXPECT_TRUE(o.invariants_held);
    EXPECT_EQ(o.committed, s.epochs - 1);
    EXPECT_EQ(o.errors, std::vector<fgbi_status>{FGBI_E_TRUNCATED});
  }
}

TEST(FuzzCorpus, ReceiverRequiringTheDigestRefusesEpochsWithout) {
  Bytes input = seed("receiver_feed/sync_then_edits_no_digest");
  input[0] |= 0x80;
  const FeedOutcome o = feed(input);
  EXPECT_TRUE(o.invariants_held);
  EXPECT_EQ(o.committed, 0u);
  ASSERT_FALSE(o.errors.empty());
  EXPECT_EQ(o.errors.front(), FGBI_E_DIGEST_REQUIRED);
}

TEST(FuzzCorpus, ReceiverRefusesAFlippedByteUnderTheHeaderChecksum) {
  Bytes input = seed("receiver_feed/sync_then_edits_digest");
  input[0] &= static_cast<uint8_t>(~0x40);  // keep the checksums as they are
  const std::vector<size_t> starts = epoch_starts(input);
  ASSERT_EQ(starts.size(), 4u);
  // Every byte of epoch 2's header before its checksum (40 bytes).
  for (size_t at = starts[1]; at < starts[1] + 40; ++at) {
    SCOPED_TRACE("byte " + std::to_string(at - starts[1]) + " of epoch 2's header");
    Bytes bad = input;
    bad[at] ^= 0x10;
    const FeedOutcome o = feed(bad);
    EXPECT_TRUE(o.invariants_held);
    EXPECT_EQ(o.committed, 1u);
    ASSERT_FALSE(o.errors.empty());
    // The receiver checks the magic, then the version and header size
    // (bytes 4..8), then the checksum (docs/wire-format.md).
    const size_t field = at - starts[1];
    const fgbi_status expected = field < 4   ? FGBI_E_BAD_MAGIC
                                 : field < 8 ? FGBI_E_BAD_VERSION
                                             : FGBI_E_HEADER_CHECKSUM;
    EXPECT_EQ(o.errors.front(), expected) << fgbi_error_name(o.errors.front());
  }
}

const std::vector<uint8_t> kHandshakeTypes = {static_cast<uint8_t>(FrameType::kHello),
                                              static_cast<uint8_t>(FrameType::kWelcome),
                                              static_cast<uint8_t>(FrameType::kAuth)};
const std::vector<uint8_t> kSessionTypes = {
    static_cast<uint8_t>(FrameType::kReady),     static_cast<uint8_t>(FrameType::kEpochBegin),
    static_cast<uint8_t>(FrameType::kEpochData), static_cast<uint8_t>(FrameType::kEpochEnd),
    static_cast<uint8_t>(FrameType::kAck),       static_cast<uint8_t>(FrameType::kHeartbeat),
    static_cast<uint8_t>(FrameType::kVerify),    static_cast<uint8_t>(FrameType::kVerifyReply),
    static_cast<uint8_t>(FrameType::kError),     static_cast<uint8_t>(FrameType::kBye)};

TEST(FuzzCorpus, SessionSeedsAreWholeFramesThatDecode) {
  for (const auto& [name, types] : {std::pair{"session_frames/handshake", kHandshakeTypes},
                                    std::pair{"session_frames/keyed_session", kSessionTypes}}) {
    SCOPED_TRACE(name);
    const FramesOutcome o = frames(seed(name));
    EXPECT_TRUE(o.invariants_held);
    EXPECT_EQ(o.stopped_with, FGBI_OK) << fgbi_error_name(o.stopped_with);
    EXPECT_EQ(o.types, types);
    EXPECT_EQ(o.decoded, std::vector<fgbi_status>(types.size(), FGBI_OK));
  }
}

TEST(FuzzCorpus, KeyedFramesRefuseAFlippedByte) {
  const Bytes input = seed("session_frames/keyed_session");
  // The first frame (Ready): header, 8-byte payload, MAC. Each byte's low
  // bit flipped in turn ends the reading at that frame, before it is handed
  // on.
  for (size_t at = 1; at < 1 + session::kFrameHeaderBytes + 8 + session::kMacBytes; ++at) {
    SCOPED_TRACE("byte " + std::to_string(at - 1));
    Bytes bad = input;
    bad[at] ^= 0x01;
    const FramesOutcome o = frames(bad);
    EXPECT_TRUE(o.invariants_held);
    EXPECT_TRUE(o.types.empty());
    // A header of no known type, with reserved bits set or with a length
    // beyond its type's limit breaks the protocol; any other change fails
    // the MAC.
    const bool in_header = at < 1 + session::kFrameHeaderBytes;
    EXPECT_EQ(o.stopped_with, in_header ? FGBI_E_PROTOCOL : FGBI_E_MAC_MISMATCH)
        << fgbi_error_name(o.stopped_with);
  }
}

TEST(FuzzCorpus, TraceSeedsReadAndVerify) {
  for (const char* name : {"trace_reader/two_epochs_none.fgbt", "trace_reader/two_epochs_lz4.fgbt",
                           "trace_reader/two_epochs_zstd.fgbt"}) {
    SCOPED_TRACE(name);
    const TraceOutcome o = trace(seed(name));
    EXPECT_TRUE(o.invariants_held);
    EXPECT_TRUE(o.opened) << o.error;
    EXPECT_EQ(o.epochs_indexed, 2u);
    EXPECT_EQ(o.epochs_read, 2u) << o.error;
    EXPECT_EQ(o.pages, 3u + 2u);  // every page, then the two that changed
    EXPECT_EQ(o.error, "");
  }
}

ProxyOutcome proxy(const Bytes& input) { return run_proxy(input.data(), input.size()); }

TEST(FuzzCorpus, RemusProxySeedsGoThroughWhole) {
  const Bytes stream = seed("remus_proxy/xl_stream");
  const Bytes link = seed("remus_proxy/link");
  ASSERT_EQ(stream[0], 0x7e);
  ASSERT_EQ(link[0], 0x7f);
  // remus-tx on the stream, remus-rx on what it writes: the stream again.
  ProxyOutcome o = proxy(stream);
  EXPECT_TRUE(o.invariants_held);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.checkpoints, 3u);
  EXPECT_EQ(o.forwarded, link.size() - 1);  // the seed's link is remus-tx's
  // remus-rx on the link rebuilds the stream, byte for byte in size.
  o = proxy(link);
  EXPECT_TRUE(o.invariants_held);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.checkpoints, 3u);
  EXPECT_EQ(o.forwarded, stream.size() - 1);
  // Any piece size gives the same.
  for (uint8_t mode : {0x00, 0x0e, 0x3c}) {
    Bytes other = stream;
    other[0] = mode;
    o = proxy(other);
    EXPECT_TRUE(o.ok && o.invariants_held) << int{mode} << ": " << o.error;
    EXPECT_EQ(o.checkpoints, 3u);
  }
}

TEST(FuzzCorpus, RemusProxySeedsCutOrFlippedStopWithAReason) {
  const Bytes stream = seed("remus_proxy/xl_stream");
  const Bytes link = seed("remus_proxy/link");
  // The link cut inside its last checkpoint: two whole checkpoints out.
  ProxyOutcome o = proxy(Bytes(link.begin(), link.end() - 40));
  EXPECT_TRUE(o.invariants_held);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("were not forwarded"), std::string::npos) << o.error;
  EXPECT_EQ(o.checkpoints, 2u);
  EXPECT_LT(o.forwarded, stream.size() - 1);
  // A flipped byte in the link's last fgbi epoch (its trailer's checksum
  // covers it): refused, and that checkpoint is not forwarded.
  xlstream::Parser parser(true);
  parser.feed({link.data() + 1, link.size() - 1});
  xlstream::Item item;
  size_t last_epoch_end = 0;
  while (parser.next(&item))
    if (item.part == xlstream::Part::libxc_record && item.type == xlstream::kLinkPageData)
      last_epoch_end = 1 + parser.offset();
  ASSERT_FALSE(parser.failed()) << parser.error();
  ASSERT_GT(last_epoch_end, 40u);
  Bytes bad = link;
  bad[last_epoch_end - 20] ^= 0x10;
  o = proxy(bad);
  EXPECT_TRUE(o.invariants_held);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.checkpoints, 2u) << o.error;
  EXPECT_FALSE(o.error.empty());
  // The xl stream with its xl magic broken: refused at offset 0.
  bad = stream;
  bad[1] ^= 0x20;
  o = proxy(bad);
  EXPECT_TRUE(o.invariants_held);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.forwarded, 24u);  // remus-tx's link header only
  EXPECT_NE(o.error.find("at stream offset 0"), std::string::npos) << o.error;
}

}  // namespace
}  // namespace fgbi::fuzz
