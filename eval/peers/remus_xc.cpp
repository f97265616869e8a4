#include "remus_xc.hpp"

#include <algorithm>
#include <cstring>

namespace fgbi::peers::xc {

size_t encode_full(const uint8_t* fresh, uint8_t* out) {
  out[0] = kFullPage;
  std::memcpy(out + 1, fresh, kPeerPageSize);
  return kFullPageBytes;
}

size_t encode_delta(const WordDiff& diff, const uint8_t* fresh, uint8_t* out) {
  constexpr size_t kMaskWords = kWordsPerPage / 64;
  if (!diff.any) {
    out[0] = kEmptyPage;
    return 1;
  }
  size_t d = 0;
  for (size_t word = 0; word < kWordsPerPage;) {
    const bool copy = (diff.changed[word / 64] >> (word % 64)) & 1;
    const size_t end = copy ? next_clear_bit(diff.changed, kMaskWords, word)
                            : next_set_bit(diff.changed, kMaskWords, word);
    while (word < end) {
      const size_t len = std::min(end - word, kMaxRunWords);
      out[d++] = static_cast<uint8_t>(len | (copy ? 0 : kSkipFlag));
      if (copy) {
        std::memcpy(out + d, fresh + word * 4, len * 4);
        d += len * 4;
      }
      word += len;
    }
  }
  return d;
}

size_t decode_page(std::span<const uint8_t> in, uint8_t* page) {
  if (in.empty()) return 0;
  if (in[0] == kEmptyPage) return 1;
  if (in[0] == kFullPage) {
    if (in.size() < kFullPageBytes) return 0;
    std::memcpy(page, in.data() + 1, kPeerPageSize);
    return kFullPageBytes;
  }
  size_t i = 0, at = 0;
  while (at < kPeerPageSize) {
    if (i == in.size()) return 0;
    const uint8_t header = in[i++];
    const size_t len = (header & 0x7Fu) * size_t{4};
    // Zero-length runs exist only as the empty and full page markers.
    if (len == 0 || len > kPeerPageSize - at) return 0;
    if ((header & kSkipFlag) == 0) {
      if (len > in.size() - i) return 0;
      std::memcpy(page + at, in.data() + i, len);
      i += len;
    }
    at += len;
  }
  return i;
}

}  // namespace fgbi::peers::xc
