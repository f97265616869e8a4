// libFuzzer: arbitrary bytes into fgbi_receiver_feed, in pieces whose size
// the first input byte picks; after a stream error the receiver is reset
// and fed the rest. It must never crash, hang, leak or write outside the
// replica, and the replica may only change by whole committed epochs.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fgbi.h"

namespace {
constexpr int64_t kPages = 8;
constexpr size_t kPageBytes = 4096;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  fgbi_receiver* r = nullptr;
  if (fgbi_receiver_create(&r) != FGBI_OK) return 0;
  fgbi_receiver_set_parameter(r, FGBI_P_TRACKED_PAGES, kPages);
  fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, 1 << 20);
  std::vector<uint8_t> replica(kPages * kPageBytes, 0);
  fgbi_receiver_attach_memory(r, replica.data(), replica.size());
  const size_t piece = 1 + (size_t{data[0]} * data[0]) % 4096;
  ++data;
  --size;
  uint64_t committed = 0;
  while (size > 0) {
    const size_t n = size < piece ? size : piece;
    const fgbi_status st = fgbi_receiver_feed(r, data, n);
    uint64_t now = 0;
    fgbi_receiver_committed_epoch(r, &now);
    if (now < committed) __builtin_trap();  // commits never go backwards
    committed = now;
    if (st != FGBI_OK) fgbi_receiver_reset_stream(r);
    data += n;
    size -= n;
  }
  fgbi_receiver_end_stream(r);
  fgbi_receiver_free(r);
  return 0;
}
