#include "xen/xen_source.hpp"

#include <bit>
#include <chrono>
#include <cstring>

namespace fgbi::adapters::xen {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

void dirty_pfns(const uint64_t* bitmap, uint64_t bits, std::vector<uint64_t>& out) {
  const uint64_t words = (bits + 63) / 64;
  for (uint64_t w = 0; w < words; ++w) {
    uint64_t word = bitmap[w];
    if (w == words - 1 && bits % 64 != 0) word &= (uint64_t{1} << (bits % 64)) - 1;
    while (word != 0) {
      out.push_back(w * 64 + static_cast<uint64_t>(std::countr_zero(word)));
      word &= word - 1;
    }
  }
}

std::unique_ptr<XenSource> XenSource::open(std::unique_ptr<Hypervisor> hypervisor,
                                           std::string& error) {
  if (hypervisor->p2m_pages() == 0) {
    error = hypervisor->describe() + " has no memory";
    return nullptr;
  }
  if (!hypervisor->enable_log_dirty(error)) {
    error = hypervisor->describe() + ": cannot enable log-dirty mode: " + error;
    return nullptr;
  }
  return std::unique_ptr<XenSource>(new XenSource(std::move(hypervisor)));
}

XenSource::XenSource(std::unique_ptr<Hypervisor> hypervisor) : hv_(std::move(hypervisor)) {}

XenSource::~XenSource() { hv_->disable_log_dirty(); }

std::string XenSource::description() const {
  return "xen " + hv_->describe() + ", " + std::to_string(hv_->p2m_pages()) +
         " pages, dirty pages from the log-dirty bitmap";
}

bool XenSource::copy_batch(const uint64_t* pfns, size_t n, std::string& error) {
  errs_.assign(n, 0);
  // Grown per batch, not for every candidate at once: an HVM guest's p2m
  // spans MMIO holes that Xen will not map.
  pages_.resize((pfns_.size() + n) * kPageSize);
  const uint8_t* base = hv_->map_pages(pfns, n, errs_.data(), error);
  if (base == nullptr) {
    error = "cannot map " + std::to_string(n) + " pages from pfn " + std::to_string(pfns[0]) +
            ": " + error;
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    if (errs_[i] != 0) {
      ++unmapped_;
      continue;
    }
    const size_t slot = pfns_.size();
    pfns_.push_back(pfns[i]);
    std::memcpy(pages_.data() + slot * kPageSize, base + i * kPageSize, kPageSize);
  }
  hv_->unmap_pages(base, n);
  stats_.bytes_read += n * kPageSize;
  return true;
}

// Runs while the guest is suspended.
bool XenSource::collect(std::string& error) {
  const uint64_t* bitmap = hv_->fetch_and_clean_dirty_bitmap(error);
  if (bitmap == nullptr) {
    error = "cannot fetch the dirty bitmap: " + error;
    return false;
  }
  candidates_.clear();
  if (epoch_ == 0) {
    // The first epoch copies everything; the clean above starts the log.
    candidates_.resize(hv_->p2m_pages());
    for (uint64_t pfn = 0; pfn < candidates_.size(); ++pfn) candidates_[pfn] = pfn;
  } else {
    dirty_pfns(bitmap, hv_->p2m_pages(), candidates_);
  }
  pfns_.clear();
  for (size_t first = 0; first < candidates_.size(); first += kMaxMapBatch) {
    const size_t n = std::min(kMaxMapBatch, candidates_.size() - first);
    if (!copy_batch(candidates_.data() + first, n, error)) return false;
  }
  return true;
}

Next XenSource::next(Epoch& epoch, std::string& message) {
  const auto t0 = Clock::now();
  if (!hv_->suspend(message)) {
    message = hv_->describe() + ": cannot suspend: " + message;
    return Next::kError;
  }
  const auto suspended_at = Clock::now();
  std::string failure;
  const bool ok = collect(failure);
  std::string resume_error;
  const bool resumed = hv_->resume(resume_error);
  stats_.stopped_seconds += seconds_since(suspended_at);
  if (!ok || !resumed) {
    message = hv_->describe() + ": " + (ok ? "" : failure) + (ok || resumed ? "" : "; ") +
              (resumed ? "" : "cannot resume: " + resume_error);
    return Next::kError;
  }
  ++epoch_;
  pointers_.resize(pfns_.size());
  for (size_t i = 0; i < pfns_.size(); ++i) pointers_[i] = pages_.data() + i * kPageSize;
  epoch.number = epoch_;
  epoch.pfns = pfns_;
  epoch.pages = pointers_;
  stats_.epochs++;
  stats_.dirty_pages += pfns_.size();
  stats_.capture_seconds += seconds_since(t0);
  return Next::kEpoch;
}

}  // namespace fgbi::adapters::xen
