// The replica's memory: a caller's buffer, or a file mapped shared so that
// a failover can restore from it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fgbi.h"

namespace fgbi {

class ReplicaMemory {
 public:
  ReplicaMemory() = default;
  ~ReplicaMemory();
  ReplicaMemory(const ReplicaMemory&) = delete;
  ReplicaMemory& operator=(const ReplicaMemory&) = delete;

  // Uses the caller's memory, which must hold at least `needed` bytes.
  fgbi_status attach(void* memory, size_t size, size_t needed);
  // Opens (creating if needed) the file at path, grows it to `needed` bytes
  // if shorter, and maps its first `needed` bytes shared.
  fgbi_status map_file(const char* path, size_t needed);

  bool ready() const { return data_ != nullptr; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace fgbi
