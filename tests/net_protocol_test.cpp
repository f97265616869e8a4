// Replication protocol v1 pieces without sockets: HMAC, frames, messages,
// proofs and keys, the metadata file and the journal header.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "net_harness.hpp"
#include "session/crypto.hpp"
#include "session/protocol.hpp"
#include "session/replica_store.hpp"

namespace fgbi::session {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string hex(std::span<const uint8_t> b) {
  std::string s;
  char buf[3];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof buf, "%02x", x);
    s += buf;
  }
  return s;
}

// RFC 4231 test case 2, and the key reuse across messages.
TEST(NetCrypto, HmacSha256MatchesRfc4231) {
  Hmac h;
  ASSERT_TRUE(h.set_key(bytes_of("Jefe")));
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  EXPECT_EQ(hex(h.of(bytes_of("what do ya want for nothing?"))), expected);
  h.begin();
  h.update(bytes_of("what do ya "));
  h.update(bytes_of("want for nothing?"));
  EXPECT_EQ(hex(h.finish()), expected);
  EXPECT_NE(hex(h.of(bytes_of("what do ya want for nothing!"))), expected);
}

TEST(NetCrypto, KeyFileLengthsAndErrors) {
  test::net::TempDir dir;
  std::vector<uint8_t> key;
  std::string why;
  EXPECT_EQ(read_key_file(dir.file("missing").c_str(), &key, &why), FGBI_E_KEY);
  EXPECT_NE(why.find("cannot open"), std::string::npos);
  for (size_t n : {size_t{0}, size_t{15}, size_t{16}, size_t{1024}, size_t{1025}}) {
    std::ofstream(dir.file("k")) << std::string(n, 'x');
    why.clear();
    const fgbi_status st = read_key_file(dir.file("k").c_str(), &key, &why);
    if (n >= 16 && n <= 1024) {
      EXPECT_EQ(st, FGBI_OK) << n;
      EXPECT_EQ(key.size(), n);
    } else {
      EXPECT_EQ(st, FGBI_E_KEY) << n;
      EXPECT_NE(why.find("a key needs 16 to 1024"), std::string::npos) << why;
    }
  }
  char buf[64];
  size_t size = 0;
  std::ofstream(dir.file("k")) << std::string(100, 'y');
  EXPECT_EQ(fgbi_read_key_file(dir.file("k").c_str(), buf, sizeof buf, &size), FGBI_E_KEY);
  std::ofstream(dir.file("k")) << std::string(20, 'y');
  EXPECT_EQ(fgbi_read_key_file(dir.file("k").c_str(), buf, sizeof buf, &size), FGBI_OK);
  EXPECT_EQ(size, 20u);
}

// Writes frames through a writer and parses them back in pieces of random size.
std::vector<std::pair<uint8_t, std::vector<uint8_t>>> round_trip(
    const std::vector<std::pair<FrameType, std::vector<uint8_t>>>& frames, Hmac* tx, Hmac* rx,
    std::mt19937_64& rng, fgbi_status* status = nullptr, size_t flip = SIZE_MAX) {
  FrameWriter writer;
  writer.set_key(tx);
  std::vector<uint8_t> stream;
  for (const auto& [type, payload] : frames) {
    OutFrame f;
    writer.build(type, payload, &f);
    stream.insert(stream.end(), f.header, f.header + kFrameHeaderBytes);
    stream.insert(stream.end(), f.payload.begin(), f.payload.end());
    if (f.has_mac) stream.insert(stream.end(), f.mac.begin(), f.mac.end());
  }
  if (flip < stream.size()) stream[flip] ^= 0x01;
  FrameReader reader;
  reader.set_key(rx);
  std::vector<std::pair<uint8_t, std::vector<uint8_t>>> out;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t piece = std::min<size_t>(stream.size() - pos, 1 + rng() % 3000);
    const uint8_t* p = stream.data() + pos;
    size_t left = piece;
    while (left > 0) {
      bool complete = false;
      const fgbi_status st = reader.take(&p, &left, &complete);
      if (st != FGBI_OK) {
        if (status) *status = st;
        return out;
      }
      if (complete)
        out.emplace_back(reader.type(),
                         std::vector<uint8_t>(reader.payload().begin(), reader.payload().end()));
    }
    pos += piece;
  }
  if (status) *status = reader.mid_frame() ? FGBI_E_TRUNCATED : FGBI_OK;
  return out;
}

TEST(NetFrames, RoundTripInPiecesWithAndWithoutMac) {
  std::mt19937_64 rng(1);
  std::vector<std::pair<FrameType, std::vector<uint8_t>>> frames;
  frames.emplace_back(FrameType::kEpochBegin, encode_u64(7));
  for (size_t size : {size_t{1}, size_t{100}, size_t{70000}, kMaxDataPayload}) {
    std::vector<uint8_t> data(size);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    frames.emplace_back(FrameType::kEpochData, data);
  }
  frames.emplace_back(FrameType::kEpochEnd, encode(EpochEnd{7, 12345, 4}));
  frames.emplace_back(FrameType::kHeartbeat, encode_u64(6));
  Hmac tx, rx;
  ASSERT_TRUE(tx.set_key(bytes_of("0123456789abcdef0123456789abcdef")));
  ASSERT_TRUE(rx.set_key(bytes_of("0123456789abcdef0123456789abcdef")));
  for (Hmac* key : {static_cast<Hmac*>(nullptr), &tx}) {
    fgbi_status st = FGBI_E_INTERNAL;
    const auto got = round_trip(frames, key, key ? &rx : nullptr, rng, &st);
    ASSERT_EQ(st, FGBI_OK);
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(got[i].first, static_cast<uint8_t>(frames[i].first));
      EXPECT_EQ(got[i].second, frames[i].second);
    }
  }
}

// Any single flipped bit anywhere in a MAC'd stream is caught: by the MAC,
// or by the header checks before the MAC is reached.
TEST(NetFrames, EveryFlippedByteFailsTheMacOrTheFraming) {
  std::mt19937_64 rng(2);
  const std::vector<std::pair<FrameType, std::vector<uint8_t>>> frames = {
      {FrameType::kEpochBegin, encode_u64(3)},
      {FrameType::kEpochData, std::vector<uint8_t>(50, 0xAB)},
      {FrameType::kEpochEnd, encode(EpochEnd{3, 50, 1})},
  };
  Hmac tx, rx;
  ASSERT_TRUE(tx.set_key(bytes_of("a session key of 32 bytes exactly")));
  ASSERT_TRUE(rx.set_key(bytes_of("a session key of 32 bytes exactly")));
  const size_t total = 3 * (kFrameHeaderBytes + kMacBytes) + 8 + 50 + 24;
  for (size_t flip = 0; flip < total; ++flip) {
    fgbi_status st = FGBI_OK;
    const auto got = round_trip(frames, &tx, &rx, rng, &st, flip);
    EXPECT_NE(st, FGBI_OK) << "flip at " << flip;
    EXPECT_LT(got.size(), frames.size());
  }
  // A different receiving key rejects the very first frame.
  Hmac other;
  ASSERT_TRUE(other.set_key(bytes_of("another session key, 32 bytes!!!")));
  fgbi_status st = FGBI_OK;
  EXPECT_TRUE(round_trip(frames, &tx, &other, rng, &st).empty());
  EXPECT_EQ(st, FGBI_E_MAC_MISMATCH);
}

TEST(NetFrames, HeaderChecksBoundEveryFrame) {
  auto parse = [](std::vector<uint8_t> bytes) {
    FrameReader reader;
    const uint8_t* p = bytes.data();
    size_t left = bytes.size();
    bool complete = false;
    return reader.take(&p, &left, &complete);
  };
  // type, flags, reserved, length
  EXPECT_EQ(parse({0, 0, 0, 0, 8, 0, 0, 0}), FGBI_E_PROTOCOL);    // unknown type 0
  EXPECT_EQ(parse({200, 0, 0, 0, 8, 0, 0, 0}), FGBI_E_PROTOCOL);  // unknown type 200
  EXPECT_EQ(parse({16, 1, 0, 0, 8, 0, 0, 0}), FGBI_E_PROTOCOL);   // flags
  EXPECT_EQ(parse({16, 0, 0, 1, 8, 0, 0, 0}), FGBI_E_PROTOCOL);   // reserved
  EXPECT_EQ(parse({16, 0, 0, 0, 9, 0, 0, 0}), FGBI_E_PROTOCOL);   // EpochBegin > 8 bytes
  EXPECT_EQ(parse({17, 0, 0, 0, 1, 0, 16, 0}), FGBI_E_PROTOCOL);  // data > 1 MiB
  EXPECT_EQ(parse({17, 0, 0, 0, 0, 0, 16, 0}), FGBI_OK);          // data = 1 MiB: waits
  EXPECT_EQ(parse({17, 0, 0, 0, 255, 255, 255, 255}), FGBI_E_PROTOCOL);
  EXPECT_EQ(parse({36, 0, 0, 0, 249, 0, 0, 0}), FGBI_E_PROTOCOL);  // error text > 240
}

TEST(NetMessages, RoundTripsAndStrictDecoding) {
  Hello h;
  h.capabilities = kCapAuth | kCapDigest;
  h.geometry = {4096, 64, 1234};
  h.stream[3] = 9;
  h.nonce[31] = 7;
  h.last_epoch = 99;
  std::vector<uint8_t> b = encode(h);
  ASSERT_EQ(b.size(), kHelloBytes);
  Hello h2;
  ASSERT_EQ(decode(b, &h2), FGBI_OK);
  EXPECT_EQ(h2.geometry, h.geometry);
  EXPECT_EQ(h2.stream, h.stream);
  EXPECT_EQ(h2.nonce, h.nonce);
  EXPECT_EQ(h2.last_epoch, 99u);
  EXPECT_EQ(decode(std::span(b).first(95), &h2), FGBI_E_PROTOCOL);
  b[8] = 2;  // version 2
  EXPECT_EQ(decode(b, &h2), FGBI_E_INCOMPATIBLE);
  b[8] = 1;
  b[0] ^= 1;  // magic
  EXPECT_EQ(decode(b, &h2), FGBI_E_PROTOCOL);
  b[0] ^= 1;
  b[90] = 1;  // reserved tail
  EXPECT_EQ(decode(b, &h2), FGBI_E_PROTOCOL);

  Auth a{SyncMode::kResume, 41, {}};
  b = encode(a);
  Auth a2;
  ASSERT_EQ(decode(b, &a2), FGBI_OK);
  EXPECT_EQ(a2.mode, SyncMode::kResume);
  EXPECT_EQ(a2.base_epoch, 41u);
  b[0] = 3;  // unknown mode
  EXPECT_EQ(decode(b, &a2), FGBI_E_PROTOCOL);
  b = encode(Auth{SyncMode::kFull, 5, {}});  // a full sync has no base
  EXPECT_EQ(decode(b, &a2), FGBI_E_PROTOCOL);

  ErrorMessage e{FGBI_E_MAC_MISMATCH, std::string("bad \x01 frame")};
  ErrorMessage e2;
  ASSERT_EQ(decode(encode(e), &e2), FGBI_OK);
  EXPECT_EQ(e2.status, FGBI_E_MAC_MISMATCH);
  EXPECT_EQ(e2.text, "bad ? frame");  // shown to people: printable only
  ErrorMessage longer{FGBI_E_PROTOCOL, std::string(1000, 'z')};
  ASSERT_EQ(decode(encode(longer), &e2), FGBI_OK);
  EXPECT_EQ(e2.text.size(), kMaxErrorText);

  EpochEnd end{5, 6, 7};
  EpochEnd end2;
  ASSERT_EQ(decode(encode(end), &end2), FGBI_OK);
  EXPECT_EQ(end2.bytes, 6u);
  EXPECT_EQ(end2.frames, 7u);
  EXPECT_EQ(decode(encode_u64(1), &end2), FGBI_E_PROTOCOL);
  Ready r;
  EXPECT_EQ(decode(encode(Ready{0}), &r), FGBI_E_PROTOCOL);
}

// Proofs bind the whole transcript; session keys differ per direction and
// per pair of nonces, so frames of one session never verify in another.
TEST(NetHandshake, ProofsAndKeysDependOnEverything) {
  Hmac psk, other;
  ASSERT_TRUE(psk.set_key(bytes_of(test::net::kKeyA)));
  ASSERT_TRUE(other.set_key(bytes_of(test::net::kKeyB)));
  Hello h;
  h.geometry = {4096, 64, 16};
  Welcome w;
  w.geometry = h.geometry;
  const std::vector<uint8_t> hb = encode(h), wb = encode(w);
  std::vector<uint8_t> ab = encode(Auth{});
  const Mac bp = backup_proof(psk, hb, wb);
  EXPECT_NE(bp, backup_proof(other, hb, wb));
  std::vector<uint8_t> hb2 = hb;
  hb2[50] ^= 1;  // another nonce
  EXPECT_NE(bp, backup_proof(psk, hb2, wb));
  // The Welcome's own proof field is not part of what it proves.
  std::vector<uint8_t> wb2 = wb;
  wb2[kWelcomeProofOffset] ^= 1;
  EXPECT_EQ(bp, backup_proof(psk, hb, wb2));
  const Mac pp = primary_proof(psk, hb, wb, ab);
  EXPECT_NE(pp, bp);  // labels keep a proof from being reflected
  ab[8] = 1;          // another base epoch
  EXPECT_NE(pp, primary_proof(psk, hb, wb, ab));

  Nonce n1{}, n2{};
  n2[0] = 1;
  SessionKeys k1, k2;
  ASSERT_TRUE(derive_session_keys(psk, n1, n2, &k1));
  ASSERT_TRUE(derive_session_keys(psk, n2, n1, &k2));
  const std::string frame = "frame";
  const auto msg = bytes_of(frame);
  EXPECT_NE(k1.primary_to_backup.of(msg), k1.backup_to_primary.of(msg));
  EXPECT_NE(k1.primary_to_backup.of(msg), k2.primary_to_backup.of(msg));
}

TEST(NetReplicaFiles, MetadataRoundTripAndRejection) {
  ReplicaMetadata m;
  m.stream[0] = 0xAB;
  m.committed = 42;
  m.geometry = {4096, 64, 256};
  m.replica_bytes = 4096 * 256;
  m.state = ReplicaState::kFailover;
  m.has_digest = true;
  m.digest = 0x0123456789ABCDEFull;
  const std::string text = format_metadata(m);
  EXPECT_NE(text.find("state failover\n"), std::string::npos);
  EXPECT_NE(text.find("committed_epoch 42\n"), std::string::npos);
  EXPECT_NE(text.find("replica_digest xxh3-64:0123456789abcdef\n"), std::string::npos);
  ReplicaMetadata back;
  std::string why;
  ASSERT_EQ(parse_metadata(text, &back, &why), FGBI_OK) << why;
  EXPECT_EQ(back.stream, m.stream);
  EXPECT_EQ(back.committed, 42u);
  EXPECT_EQ(back.geometry, m.geometry);
  EXPECT_EQ(back.state, ReplicaState::kFailover);
  EXPECT_TRUE(back.has_digest);
  EXPECT_EQ(back.digest, m.digest);
  // Any changed character fails (the checksum line covers the rest).
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == '1' ? '2' : '1';
    EXPECT_EQ(parse_metadata(bad, &back, &why), FGBI_E_REPLICA_STATE) << i;
  }
  EXPECT_EQ(parse_metadata(text.substr(0, text.size() - 1), &back, &why), FGBI_E_REPLICA_STATE);
  EXPECT_EQ(parse_metadata("", &back, &why), FGBI_E_REPLICA_STATE);
}

TEST(NetReplicaFiles, JournalHeaderRoundTripAndRejection) {
  JournalHeader h;
  h.stream[5] = 1;
  h.restores_to = 9;
  h.epoch = 10;
  h.pages = 777;
  h.checksum = 55;
  uint8_t raw[kJournalHeaderBytes];
  encode_journal_header(h, raw);
  JournalHeader back;
  ASSERT_TRUE(decode_journal_header(raw, &back));
  EXPECT_EQ(back.stream, h.stream);
  EXPECT_EQ(back.restores_to, 9u);
  EXPECT_EQ(back.epoch, 10u);
  EXPECT_EQ(back.pages, 777u);
  EXPECT_EQ(back.checksum, 55u);
  for (size_t i = 0; i < kJournalHeaderBytes; ++i) {
    raw[i] ^= 0x10;
    EXPECT_FALSE(decode_journal_header(raw, &back)) << i;
    raw[i] ^= 0x10;
  }
}

TEST(NetApi, SessionParametersStatisticsAndErrors) {
  int64_t lo, hi, def;
  ASSERT_EQ(fgbi_session_param_bounds(FGBI_SP_IO_TIMEOUT_MS, &lo, &hi, &def), FGBI_OK);
  EXPECT_EQ(def, 2000);
  EXPECT_EQ(fgbi_session_param_bounds(static_cast<fgbi_session_param>(99), &lo, &hi, &def),
            FGBI_E_PARAM_UNKNOWN);
  EXPECT_STREQ(fgbi_session_param_name(FGBI_SP_FAILOVER_MS), "FGBI_SP_FAILOVER_MS");
  for (int s = FGBI_SESSION_STAT_FIRST; s <= FGBI_SESSION_STAT_LAST; ++s)
    EXPECT_NE(fgbi_session_stat_name(static_cast<fgbi_session_stat>(s)), nullptr) << s;
  EXPECT_EQ(fgbi_session_stat_name(static_cast<fgbi_session_stat>(0)), nullptr);
  EXPECT_STREQ(fgbi_error_name(FGBI_E_MAC_MISMATCH), "FGBI_E_MAC_MISMATCH");

  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  fgbi_link* link = nullptr;
  ASSERT_EQ(fgbi_link_create(&link, s), FGBI_OK);
  EXPECT_EQ(fgbi_link_set_parameter(link, FGBI_SP_FAILOVER_MS, 100), FGBI_E_PARAM_UNKNOWN);
  EXPECT_EQ(fgbi_link_set_parameter(link, FGBI_SP_CHUNK_BYTES, 100), FGBI_E_PARAM_OUT_OF_BOUNDS);
  EXPECT_EQ(fgbi_link_set_key(link, "short", 5), FGBI_E_KEY);
  EXPECT_EQ(fgbi_link_end_epoch(link), FGBI_E_WRONG_STAGE);
  EXPECT_EQ(fgbi_link_connect(link, "127.0.0.1", 1, nullptr), FGBI_E_WRONG_STAGE);  // no pages
  char text[256];
  ASSERT_EQ(fgbi_link_last_error(link, text, sizeof text), FGBI_OK);
  EXPECT_NE(std::string(text).find("page source"), std::string::npos) << text;
  uint64_t v = 0;
  EXPECT_EQ(fgbi_link_get_stat(link, FGBI_SS_PEERS_REJECTED, &v), FGBI_E_PARAM_UNKNOWN);
  fgbi_link_free(link);
  // A sender that already produced epochs cannot start a link's stream.
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 4), FGBI_OK);
  ASSERT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_OK);
  std::vector<uint8_t> out(fgbi_sender_epoch_bound(s, 0));
  size_t written = 0;
  ASSERT_EQ(fgbi_sender_end_epoch(s, out.data(), out.size(), &written), FGBI_OK);
  EXPECT_EQ(fgbi_link_create(&link, s), FGBI_E_WRONG_STAGE);
  fgbi_sender_free(s);
  fgbi_link_free(nullptr);
  fgbi_backup_free(nullptr);
}

}  // namespace
}  // namespace fgbi::session
