#include "xen/xen_source.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
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

PageData page_data(uint64_t type) {
  if (type == kPfinfoNotab) return PageData::kPresent;
  if (type == kPfinfoXtab || type == kPfinfoXalloc || type == kPfinfoBroken) return PageData::kNone;
  const uint64_t table = type & ~kPfinfoLpintab;  // a PV page table, pinned or not
  if (table % kPfinfoL1tab == 0 && table >= kPfinfoL1tab && table <= kPfinfoL4tab)
    return PageData::kPresent;
  return PageData::kUnknown;
}

namespace {

constexpr const char* kNoLogDirty =
    " (this hypervisor cannot track dirty pages for this guest: Xen built without shadow "
    "paging, such as Debian 12's 4.17.7 security update, has no log-dirty mode for PV "
    "guests or for guests without hardware-assisted paging)";

// As xg_sr_save.c's enable_logdirty: when enabling fails, most often because
// log-dirty mode is already on (EINVAL: left on by a killed xl remus or fgbi,
// or on for an HVM guest's video RAM), turn it off and on again. A
// hypervisor that cannot do log-dirty for the guest at all (EOPNOTSUPP)
// gets a clear error and no off/on.
bool enable_log_dirty(Hypervisor& hv, std::string& error) {
  std::string on1;
  const int first = hv.enable_log_dirty(on1);
  if (first == 0) return true;
  if (first == EOPNOTSUPP) {
    error = on1 + kNoLogDirty;
    return false;
  }
  std::string off;
  if (hv.disable_log_dirty(off) != 0) {
    error = on1 + "; turning it off to enable it again: " + off;
    return false;
  }
  std::string on2;
  const int second = hv.enable_log_dirty(on2);
  if (second == 0) return true;
  error = on1 + "; after turning it off, again: " + on2 + (second == EOPNOTSUPP ? kNoLogDirty : "");
  return false;
}

}  // namespace

std::unique_ptr<XenSource> XenSource::open(std::unique_ptr<Hypervisor> hypervisor,
                                           std::string& error) {
  const std::string who = hypervisor->describe();
  switch (hypervisor->guest_type()) {
    case GuestType::kPv:
      error = who +
              " is a PV guest, which the xen source does not replicate: foreign mappings of a "
              "PV guest take machine frames, and fgbi does not translate the guest's pfns "
              "through its p2m as Xen's xg_sr_save_x86_pv.c does (Xen builds without shadow "
              "paging, such as Debian 12's 4.17.7, give PV guests no log-dirty mode either); "
              "use a PVH guest";
      return nullptr;
    case GuestType::kHvm:
      error = who +
              " is an HVM guest, which the xen source does not replicate: writes by its device "
              "model (QEMU's emulated devices) to guest memory are logged only while QEMU's own "
              "dirty tracking is on (libxl turns it on for a save, QMP "
              "xen-set-global-dirty-log), and fgbi does not turn it on, so the replica would "
              "miss them; use a PVH guest";
      return nullptr;
    case GuestType::kPvh: break;
  }
  if (hypervisor->p2m_pages() == 0) {
    error = who + " has no memory";
    return nullptr;
  }
  if (!enable_log_dirty(*hypervisor, error)) {
    error = who + ": cannot enable log-dirty mode: " + error;
    return nullptr;
  }
  return std::unique_ptr<XenSource>(new XenSource(std::move(hypervisor)));
}

XenSource::XenSource(std::unique_ptr<Hypervisor> hypervisor) : hv_(std::move(hypervisor)) {}

XenSource::~XenSource() {
  std::string ignored;
  hv_->disable_log_dirty(ignored);
}

std::string XenSource::description() const {
  return "xen " + hv_->describe() + " (PVH, stopped by pause), " +
         std::to_string(hv_->p2m_pages()) +
         " pages in the p2m, holes skipped, dirty pages from the log-dirty bitmap";
}

bool XenSource::copy_batch(const uint64_t* pfns, size_t n, std::string& error) {
  // Holes (an HVM container's p2m spans the gap below the special pages
  // under 4 GiB) are skipped by type, as Xen's save code does, never mapped.
  types_.resize(n);
  if (!hv_->page_types(pfns, n, types_.data(), error)) {
    error = "cannot get the types of " + std::to_string(n) + " pages from pfn " +
            std::to_string(pfns[0]) + ": " + error;
    return false;
  }
  present_.clear();
  for (size_t i = 0; i < n; ++i) {
    switch (page_data(types_[i])) {
      case PageData::kPresent: present_.push_back(pfns[i]); break;
      case PageData::kNone: ++holes_; break;
      case PageData::kUnknown: {
        char hex[24];
        std::snprintf(hex, sizeof hex, "%#llx", static_cast<unsigned long long>(types_[i]));
        error = "pfn " + std::to_string(pfns[i]) + " has an unknown page type " + hex;
        return false;
      }
    }
  }
  const size_t m = present_.size();
  if (m == 0) return true;
  errs_.assign(m, 0);
  pages_.resize((pfns_.size() + m) * kPageSize);
  const uint8_t* base = hv_->map_pages(present_.data(), m, errs_.data(), error);
  if (base == nullptr) {
    error = "cannot map " + std::to_string(m) + " pages from pfn " + std::to_string(present_[0]) +
            ": " + error;
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < m && ok; ++i) {
    if (errs_[i] != 0) {
      // Not a hole, yet Xen will not map it (paged out, or a p2m that
      // changed under a paused guest): the replica would silently keep a
      // stale page, so the epoch fails, as Xen's own save does.
      error = "cannot map pfn " + std::to_string(present_[i]) +
              ", which is not a hole: " + std::strerror(errs_[i] < 0 ? -errs_[i] : errs_[i]);
      ok = false;
      break;
    }
    const size_t slot = pfns_.size();
    pfns_.push_back(present_[i]);
    std::memcpy(pages_.data() + slot * kPageSize, base + i * kPageSize, kPageSize);
  }
  hv_->unmap_pages(base, m);
  stats_.bytes_read += m * kPageSize;
  return ok;
}

// Runs while the guest is paused.
bool XenSource::collect(std::string& error) {
  const uint64_t* bitmap = hv_->fetch_and_clean_dirty_bitmap(error);
  if (bitmap == nullptr) {
    error = "cannot fetch the dirty bitmap: " + error;
    return false;
  }
  candidates_.clear();
  if (epoch_ == 0 || resend_all_) {
    // The first epoch copies everything; the clean above starts the log.
    // After a failed epoch the cleaned bitmap is lost, so the next one
    // copies everything again.
    candidates_.resize(hv_->p2m_pages());
    for (uint64_t pfn = 0; pfn < candidates_.size(); ++pfn) candidates_[pfn] = pfn;
  } else {
    dirty_pfns(bitmap, hv_->p2m_pages(), candidates_);
  }
  resend_all_ = true;
  pfns_.clear();
  for (size_t first = 0; first < candidates_.size(); first += kMaxMapBatch) {
    const size_t n = std::min(kMaxMapBatch, candidates_.size() - first);
    if (!copy_batch(candidates_.data() + first, n, error)) return false;
  }
  resend_all_ = false;
  return true;
}

Next XenSource::next(Epoch& epoch, std::string& message) {
  const auto t0 = Clock::now();
  if (!hv_->pause(message)) {
    message = hv_->describe() + ": cannot pause: " + message;
    return Next::kError;
  }
  const auto paused_at = Clock::now();
  std::string failure;
  const bool ok = collect(failure);
  std::string unpause_error;
  const bool unpaused = hv_->unpause(unpause_error);
  stats_.stopped_seconds += seconds_since(paused_at);
  if (!ok || !unpaused) {
    message = hv_->describe() + ": " + (ok ? "" : failure) + (ok || unpaused ? "" : "; ") +
              (unpaused ? "" : "cannot unpause: " + unpause_error);
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
