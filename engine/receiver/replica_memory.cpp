#include "receiver/replica_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fgbi {

ReplicaMemory::~ReplicaMemory() { release(); }

void ReplicaMemory::release() {
  if (mapped_ && data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
}

fgbi_status ReplicaMemory::attach(void* memory, size_t size, size_t needed) {
  if (memory == nullptr) return FGBI_E_NULL_ARGUMENT;
  if (size < needed) return FGBI_E_BAD_ARGUMENT;
  release();
  data_ = static_cast<uint8_t*>(memory);
  size_ = needed;
  return FGBI_OK;
}

fgbi_status ReplicaMemory::map_file(const char* path, size_t needed) {
  if (path == nullptr) return FGBI_E_NULL_ARGUMENT;
  const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return FGBI_E_IO;
  struct stat st {};
  fgbi_status status = FGBI_OK;
  void* mem = MAP_FAILED;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = FGBI_E_IO;
  } else if (static_cast<uint64_t>(st.st_size) < needed &&
             ftruncate(fd, static_cast<off_t>(needed)) != 0) {
    status = FGBI_E_IO;
  } else {
    mem = mmap(nullptr, needed, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) status = FGBI_E_IO;
  }
  close(fd);  // the mapping keeps the file
  if (status != FGBI_OK) return status;
  release();
  data_ = static_cast<uint8_t*>(mem);
  size_ = needed;
  mapped_ = true;
  return FGBI_OK;
}

}  // namespace fgbi
