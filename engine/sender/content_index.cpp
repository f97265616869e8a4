#include "sender/content_index.hpp"

#include <bit>

namespace fgbi {

bool ContentIndex::configure(size_t bytes) {
  const size_t entries = bytes / sizeof(Entry);
  if (entries == 0) {
    slots_ = ZeroedArray<Entry>();
    mask_ = 0;
    return true;
  }
  const size_t count = std::bit_floor(entries);
  mask_ = count - 1;
  return slots_.allocate(count);
}

}  // namespace fgbi
