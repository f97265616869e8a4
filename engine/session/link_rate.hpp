// The link's real speed, as the socket sees it: bytes that left the
// kernel's send queue (written minus still queued) over time, counted only
// between two looks that both found the queue non-empty, so the link never
// idled in between. An idle link does not read as a slow one, and a large
// socket buffer does not read as a fast one, since what is merely queued
// does not count as sent.
#pragma once

#include <cstdint>

namespace fgbi::session {

class LinkRateMeter {
 public:
  // One look at the socket at time now_ns: bytes that have left it so far
  // (written - queued), and whether some are still queued.
  void sample(uint64_t now_ns, uint64_t left_bytes, bool busy) {
    if (busy_ && busy && now_ns > last_ns_ && left_bytes >= last_left_) {
      window_bytes_ += left_bytes - last_left_;
      window_ns_ += now_ns - last_ns_;
      if (window_bytes_ >= kWindowBytes) {
        const double mbps =
            8e3 * static_cast<double>(window_bytes_) / static_cast<double>(window_ns_);
        mbps_ = mbps_ == 0 ? mbps : mbps_ + kWeight * (mbps - mbps_);
        window_bytes_ = window_ns_ = 0;
      }
    }
    busy_ = busy;
    last_ns_ = now_ns;
    last_left_ = left_bytes;
  }
  // Mbit/s, 0 until a window's worth of bytes was measured.
  uint64_t mbps() const { return static_cast<uint64_t>(mbps_ + 0.5); }

 private:
  static constexpr uint64_t kWindowBytes = 1 << 20;
  static constexpr double kWeight = 0.5;
  bool busy_ = false;
  uint64_t last_ns_ = 0, last_left_ = 0;
  uint64_t window_bytes_ = 0, window_ns_ = 0;
  double mbps_ = 0;
};

}  // namespace fgbi::session
