// libFuzzer: arbitrary bytes as xl's migration stream into remus-tx's
// rewriter, or as an fgbi link into remus-rx's (compat/xl-stream/,
// fgbi::fuzz::run_proxy). It must never crash, hang, leak or allocate beyond
// its bounds; what remus-rx rebuilds from remus-tx's link is always a
// prefix of the stream remus-tx read.
#include "fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!fgbi::fuzz::run_proxy(data, size).invariants_held) __builtin_trap();
  return 0;
}
