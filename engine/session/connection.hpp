// One TCP connection carrying protocol frames: buffered reads through a
// FrameReader, framed (and, once keyed, authenticated) writes.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "fgbi.h"
#include "session/protocol.hpp"
#include "session/socket.hpp"

namespace fgbi::session {

class Connection {
 public:
  explicit Connection(Fd fd);
  int fd() const { return fd_.get(); }

  // Switches both directions to per-frame MACs under the session keys.
  void key(SessionKeys keys, bool primary_side);

  // The next frame from what has arrived, reading without blocking;
  // *complete is false when it would block. Errors are final.
  fgbi_status read_frame(bool* complete);
  // Waits for the next frame until the deadline.
  fgbi_status receive(Deadline deadline, const StopSignal* stop);
  uint8_t type() const { return reader_.type(); }
  std::span<const uint8_t> payload() const { return reader_.payload(); }
  // True while part of a frame has arrived.
  bool mid_frame() const { return reader_.mid_frame(); }
  // True when bytes already read wait to be parsed (poll() would not see them).
  bool has_buffered() const { return rx_pos_ < rx_end_; }

  void build(FrameType type, std::span<const uint8_t> payload, OutFrame* out) {
    writer_.build(type, payload, out);
  }
  // Builds and writes a whole frame before the deadline; safe to call from
  // two threads (frames are never interleaved).
  fgbi_status send(FrameType type, std::span<const uint8_t> payload, Deadline deadline,
                   const StopSignal* stop);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }
  void count_written(size_t n) { bytes_written_ += n; }

 private:
  Fd fd_;
  SessionKeys keys_;
  FrameReader reader_;
  FrameWriter writer_;
  std::mutex send_mutex_;
  std::vector<uint8_t> rx_;
  size_t rx_pos_ = 0, rx_end_ = 0;
  uint64_t bytes_read_ = 0, bytes_written_ = 0;
};

// The iovec of a built frame: header, payload, MAC.
int frame_iov(OutFrame& frame, iovec iov[3]);

}  // namespace fgbi::session
