#include "session/connection.hpp"

#include <poll.h>

namespace fgbi::session {
namespace {
constexpr size_t kReadBytes = 256 * 1024;
}  // namespace

Connection::Connection(Fd fd) : fd_(std::move(fd)), rx_(kReadBytes) {}

void Connection::key(SessionKeys keys, bool primary_side) {
  keys_ = std::move(keys);
  reader_.set_key(primary_side ? &keys_.backup_to_primary : &keys_.primary_to_backup);
  writer_.set_key(primary_side ? &keys_.primary_to_backup : &keys_.backup_to_primary);
}

fgbi_status Connection::read_frame(bool* complete) {
  *complete = false;
  for (;;) {
    if (rx_pos_ < rx_end_) {
      const uint8_t* p = rx_.data() + rx_pos_;
      size_t left = rx_end_ - rx_pos_;
      const fgbi_status st = reader_.take(&p, &left, complete);
      rx_pos_ = rx_end_ - left;
      if (st != FGBI_OK || *complete) return st;
    }
    size_t got = 0;
    if (fgbi_status st = recv_some(fd_.get(), rx_.data(), rx_.size(), &got); st != FGBI_OK)
      return st;
    if (got == 0) return FGBI_OK;
    bytes_read_ += got;
    rx_pos_ = 0;
    rx_end_ = got;
  }
}

fgbi_status Connection::receive(Deadline deadline, const StopSignal* stop) {
  for (;;) {
    bool complete = false;
    if (fgbi_status st = read_frame(&complete); st != FGBI_OK || complete) return st;
    if (fgbi_status st = wait_ready(fd_.get(), POLLIN, deadline, stop); st != FGBI_OK) return st;
  }
}

int frame_iov(OutFrame& frame, iovec iov[3]) {
  iov[0] = {frame.header, kFrameHeaderBytes};
  iov[1] = {const_cast<uint8_t*>(frame.payload.data()), frame.payload.size()};
  iov[2] = {frame.mac.data(), frame.has_mac ? kMacBytes : 0};
  return 3;
}

fgbi_status Connection::send(FrameType type, std::span<const uint8_t> payload, Deadline deadline,
                             const StopSignal* stop) {
  std::lock_guard lock(send_mutex_);
  OutFrame frame;
  writer_.build(type, payload, &frame);
  iovec iov[3];
  const int n = frame_iov(frame, iov);
  const fgbi_status st = send_all(fd_.get(), iov, n, deadline, stop);
  if (st == FGBI_OK) bytes_written_ += frame.size();
  return st;
}

}  // namespace fgbi::session
