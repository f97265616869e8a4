#include "shadow_copy.hpp"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "common/xxh3.hpp"

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
      memory_(reserve(bytes_), Unmap{bytes_}),
      held_((source_->tracked_pages() + 63) / 64, 0) {}

adapters::Next ShadowCopy::next(adapters::Epoch& epoch, std::string& message) {
  const double stopped = source_->stats().stopped_seconds;
  const adapters::Next n = source_->next(epoch, message);
  if (n != adapters::Next::kEpoch) return n;
  last_stopped_ns_ =
      static_cast<uint64_t>((source_->stats().stopped_seconds - stopped) * 1e9 + 0.5);
  pages_.resize(epoch.size());
  for (size_t i = 0; i < epoch.size(); ++i) {
    uint8_t* copy = memory_.get() + epoch.pfns[i] * adapters::kPageSize;
    std::memcpy(copy, epoch.pages[i], adapters::kPageSize);
    pages_[i] = copy;
    held_[epoch.pfns[i] / 64] |= uint64_t{1} << (epoch.pfns[i] % 64);
  }
  epoch.pages = pages_;
  return n;
}

uint64_t ShadowCopy::memory_digest() const {
  Xxh3Stream sum;
  const uint64_t pages = tracked_pages();
  for (uint64_t first = 0; first < pages;) {
    const bool data = held(first);
    uint64_t end = first + 1;
    while (end < pages && held(end) == data) ++end;
    const uint64_t bytes = (end - first) * adapters::kPageSize;
    if (data)
      sum.update(page(first), static_cast<size_t>(bytes));
    else
      sum.update_zeros(bytes);
    first = end;
  }
  return sum.digest();
}

std::optional<uint64_t> ShadowCopy::last_pause_ns() const {
  if (source_->stats().stopped_seconds == 0) return std::nullopt;  // it stops nothing
  return last_stopped_ns_;
}

}  // namespace fgbi::eval
