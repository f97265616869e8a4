// libFuzzer: arbitrary bytes as a trace file (docs/trace-format.md), opened
// with TraceReader and every epoch read and verified, as `trace info
// --verify` and `--source trace:` do (fgbi::fuzz::read_trace). It must never
// crash, hang, leak or allocate beyond the format's bounds; a bad file is an
// error message.
#include "fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!fgbi::fuzz::read_trace(data, size).invariants_held) __builtin_trap();
  return 0;
}
