#include "common/buffers.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace fgbi {
namespace {
constexpr size_t kMapThreshold = size_t{2} << 20;  // one huge page
}

void* allocate_zeroed(size_t bytes) {
  if (bytes < kMapThreshold) return std::calloc(1, bytes);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: fine if the kernel declines
  return p;
}

void release_zeroed(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kMapThreshold)
    std::free(p);
  else
    munmap(p, bytes);
}

}  // namespace fgbi
