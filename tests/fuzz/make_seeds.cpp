// Writes the seed corpora of the fuzz targets (run once; the seeds are
// committed): valid streams that the fuzzers then mutate.
//   make_seeds DIR   -> DIR/receiver_feed/*, DIR/session_frames/*, DIR/remus_proxy/*
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fgbi.h"
#include "fgbi_session.h"
#include "proxy.hpp"
#include "session/crypto.hpp"
#include "session/protocol.hpp"
#include "support/xl_stream_builder.hpp"

using namespace fgbi::session;

namespace {

void write(const std::string& path, uint8_t first, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(first));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> epoch(fgbi_sender* s, const std::vector<uint64_t>& pfns,
                           const std::vector<uint8_t>& memory) {
  std::vector<const void*> pages;
  for (uint64_t pfn : pfns) pages.push_back(memory.data() + pfn * 4096);
  fgbi_sender_begin_epoch(s, nullptr);
  fgbi_sender_add_pages(s, pfns.data(), pages.data(), pfns.size(), nullptr);
  std::vector<uint8_t> out(fgbi_sender_epoch_bound(s, pfns.size()));
  size_t n = 0;
  fgbi_sender_end_epoch(s, out.data(), out.size(), &n);
  out.resize(n);
  return out;
}

// Epochs of a sender over 8 pages: full pages, then blocks, coded pages,
// XOR deltas and clean lists as the sender's cost model chooses them.
std::vector<uint8_t> epochs(bool digest, int count) {
  fgbi_sender* s = nullptr;
  fgbi_sender_create(&s);
  fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 8);
  fgbi_sender_set_parameter(s, FGBI_P_DIGEST, digest ? 1 : 0);
  fgbi_sender_set_parameter(s, FGBI_P_ADAPTIVE, 0);
  fgbi_sender_set_parameter(s, FGBI_P_STREAM_ID, 0x5eed);  // the same seeds every run
  std::vector<uint8_t> memory(8 * 4096);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>((i * 31 >> 7) & 7);
  std::vector<uint8_t> all = epoch(s, {0, 1, 2, 3, 4, 5, 6, 7}, memory);
  for (int e = 1; e < count; ++e) {
    memory[4096 + 100 * e] ^= 1;                                           // a few bytes of page 1
    std::memset(memory.data() + 2 * 4096 + 64 * e, 0, 64);                 // a zero block in page 2
    std::memcpy(memory.data() + 5 * 4096, memory.data() + 3 * 4096, 128);  // shared blocks
    memory[6 * 4096 + 3000 + e] ^= 0x5A;
    const std::vector<uint8_t> next = epoch(s, {1, 2, 5, 6, 7}, memory);
    all.insert(all.end(), next.begin(), next.end());
  }
  fgbi_sender_free(s);
  return all;
}

void receiver_seeds(const std::string& dir) {
  // First byte: 0x40 = fix checksums, 0x80 = the receiver requires the digest, low bits the
  // piece size.
  write(dir + "/sync_then_edits_digest", 0xC7, epochs(true, 4));
  write(dir + "/sync_then_edits_no_digest", 0x45, epochs(false, 4));
  write(dir + "/sync_only_whole", 0x3F, epochs(true, 1));
}

void session_seeds(const std::string& dir) {
  Hmac key;
  const std::string k = "fgbi fuzz session key, 32 bytes";
  key.set_key({reinterpret_cast<const uint8_t*>(k.data()), k.size()});
  Hello hello;
  hello.capabilities = kCapAuth | kCapDigest;
  hello.geometry = {4096, 64, 8};
  Welcome welcome;
  welcome.geometry = hello.geometry;
  welcome.committed = 3;
  const std::vector<std::pair<FrameType, std::vector<uint8_t>>> handshake = {
      {FrameType::kHello, encode(hello)},
      {FrameType::kWelcome, encode(welcome)},
      {FrameType::kAuth, encode(Auth{SyncMode::kResume, 3, {}})},
  };
  const std::vector<std::pair<FrameType, std::vector<uint8_t>>> session = {
      {FrameType::kReady, encode(Ready{4})},
      {FrameType::kEpochBegin, encode_u64(4)},
      {FrameType::kEpochData, std::vector<uint8_t>(300, 0x46)},
      {FrameType::kEpochEnd, encode(EpochEnd{4, 300, 1})},
      {FrameType::kAck, encode(Ack{4, 120})},
      {FrameType::kHeartbeat, encode_u64(4)},
      {FrameType::kVerify, encode_u64(1)},
      {FrameType::kVerifyReply, encode(VerifyReply{1, 4, 0x1234})},
      {FrameType::kError, encode(ErrorMessage{FGBI_E_PROTOCOL, "bad frame"})},
      {FrameType::kBye, encode_u64(4)},
  };
  for (bool keyed : {false, true}) {
    FrameWriter writer;
    if (keyed) writer.set_key(&key);
    std::vector<uint8_t> stream;
    for (const auto& [type, payload] : keyed ? session : handshake) {
      OutFrame f;
      writer.build(type, payload, &f);
      stream.insert(stream.end(), f.header, f.header + kFrameHeaderBytes);
      stream.insert(stream.end(), f.payload.begin(), f.payload.end());
      if (f.has_mac) stream.insert(stream.end(), f.mac.begin(), f.mac.end());
    }
    write(dir + (keyed ? "/keyed_session" : "/handshake"), keyed ? 1 : 0, stream);
  }
}

}  // namespace

// A synthetic `xl remus` stream of a 6-page guest (and its 2 special pages):
// checkpoint 0 and two checkpoints of 3 dirty pages; and the link remus-tx
// makes of it. Mode bytes: 0x7e = an xl stream in 64-byte pieces, 0x7f = a
// link in 64-byte pieces (tests/fuzz/harness.hpp).
void remus_proxy_seeds(const std::string& dir) {
  fgbi::test::SyntheticRemus g(6);
  g.start();
  g.checkpoint(3, 1, 1);
  g.checkpoint(3, 2, 2);
  write(dir + "/xl_stream", 0x7e, g.b.bytes);
  fgbi::xlstream::ProxyOptions options;
  options.max_pages = 64;
  options.reproducible = true;
  fgbi::xlstream::RemusTx tx(options);
  tx.feed(g.b.bytes);
  tx.finish();
  write(dir + "/link", 0x7f, tx.ready());
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  receiver_seeds(std::string(argv[1]) + "/receiver_feed");
  session_seeds(std::string(argv[1]) + "/session_frames");
  remus_proxy_seeds(std::string(argv[1]) + "/remus_proxy");
  return 0;
}
