// The primary process of net_kill_test: replicates the harness workload to
// a backup on 127.0.0.1 and waits for every ack. The test kills it.
//   net_primary_helper PORT PAGES DIRTY SEED EPOCHS [KEY]
// Exit status: 0 all epochs acknowledged, 2 bad usage, 3 connect failed,
// 4 an epoch failed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net_harness.hpp"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s PORT PAGES DIRTY SEED EPOCHS [KEY]\n", argv[0]);
    return 2;
  }
  fgbi::test::net::PrimaryOptions o;
  const auto port = static_cast<uint16_t>(std::strtoul(argv[1], nullptr, 10));
  o.pages = std::strtoull(argv[2], nullptr, 10);
  o.dirty = std::strtoull(argv[3], nullptr, 10);
  o.seed = std::strtoull(argv[4], nullptr, 10);
  const uint64_t epochs = std::strtoull(argv[5], nullptr, 10);
  if (argc == 7) o.key = argv[6];
  o.chunk_bytes = 8192;     // many frames: cuts land between and inside them
  o.io_timeout_ms = 10000;  // only the test's kills end it, not a loaded machine
  fgbi::test::net::Primary primary(o);
  if (primary.connect(port) != FGBI_OK) {
    std::fprintf(stderr, "connect: %s\n", primary.last_error().c_str());
    return 3;
  }
  for (uint64_t i = 0; i < epochs; ++i) {
    if (primary.replicate() != FGBI_OK) {
      std::fprintf(stderr, "epoch: %s\n", primary.last_error().c_str());
      return 4;
    }
  }
  return 0;
}
