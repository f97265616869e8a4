// libFuzzer: arbitrary bytes as a trace file (docs/trace-format.md), opened
// with TraceReader and every epoch read and verified, as `trace info
// --verify` and `--source trace:` do. It must never crash, hang, leak or
// allocate beyond the format's bounds; a bad file is an error message.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "trace/reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader takes a path: an anonymous in-memory file behind /proc.
  const int fd = memfd_create("trace", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::string error;
  auto reader =
      fgbi::adapters::trace::TraceReader::open("/proc/self/fd/" + std::to_string(fd), error);
  if (reader) {
    fgbi::adapters::Epoch epoch;
    for (size_t i = 0; i < reader->index().size(); ++i) {
      error.clear();
      if (!reader->read_epoch(i, epoch, nullptr, error)) {
        if (error.empty()) __builtin_trap();  // a failure always says why
        break;
      }
      if (epoch.pfns.size() != epoch.pages.size()) __builtin_trap();
      for (uint64_t pfn : epoch.pfns)
        if (pfn >= reader->header().tracked_pages) __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();
  }
  close(fd);
  return 0;
}
