#include "shadow_copy.hpp"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace fgbi::eval {
namespace {

// Address space for a copy of every tracked page; only pages ever copied
// take memory. MAP_NORESERVE: a Xen PVH guest's p2m spans 4 GiB whatever
// its size (special pages sit under 4 GiB), more than a small dom0's RAM,
// and heuristic overcommit refuses a plain allocation that large.
uint8_t* reserve(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

}  // namespace

void ShadowCopy::Unmap::operator()(uint8_t* p) const { munmap(p, bytes); }

ShadowCopy::ShadowCopy(std::unique_ptr<adapters::DirtySource> source)
    : source_(std::move(source)),
      bytes_(source_->tracked_pages() * adapters::kPageSize),
      memory_(reserve(bytes_), Unmap{bytes_}) {}

adapters::Next ShadowCopy::next(adapters::Epoch& epoch, std::string& message) {
  const adapters::Next n = source_->next(epoch, message);
  if (n != adapters::Next::kEpoch) return n;
  pages_.resize(epoch.size());
  for (size_t i = 0; i < epoch.size(); ++i) {
    uint8_t* copy = memory_.get() + epoch.pfns[i] * adapters::kPageSize;
    std::memcpy(copy, epoch.pages[i], adapters::kPageSize);
    pages_[i] = copy;
  }
  epoch.pages = pages_;
  return n;
}

}  // namespace fgbi::eval
