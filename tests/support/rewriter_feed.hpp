// Feeds a remus-tx/remus-rx rewriter its input in pieces (0: whole) and
// collects what it releases; shared by the proxy's tests and fuzz harness.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proxy.hpp"

namespace fgbi::test {

// Returns false once the rewriter refuses its input; the bytes it released
// before that are in *out. finish: end the stream after the last piece.
inline bool feed_rewriter(xlstream::Rewriter& rw, const uint8_t* data, size_t size, size_t piece,
                          std::vector<uint8_t>* out, bool finish = true) {
  bool ok = true;
  for (size_t at = 0; ok && at < size;) {
    const size_t n = piece == 0 ? size - at : std::min(piece, size - at);
    ok = rw.feed({data + at, n});
    at += n;
    out->insert(out->end(), rw.ready().begin(), rw.ready().end());
    rw.ready().clear();
  }
  if (ok && finish) ok = rw.finish();
  out->insert(out->end(), rw.ready().begin(), rw.ready().end());
  rw.ready().clear();
  return ok;
}

}  // namespace fgbi::test
