// Records epochs into a trace file (docs/trace-format.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pfn_set.hpp"
#include "posix/fd.hpp"
#include "trace/format.hpp"

namespace fgbi::adapters::trace {

struct WriterOptions {
  Codec codec = Codec::kZstd;
  int level = 1;  // zstd level, 1..19
};

class TraceWriter {
 public:
  // Creates (or truncates) `path` and writes the file header. nullptr with
  // `error` set on failure.
  static std::unique_ptr<TraceWriter> create(const std::string& path, uint64_t tracked_pages,
                                             const std::string& description,
                                             const WriterOptions& options, std::string& error);
  // Appends the next epoch (numbered 1, 2, ...). Every pfn must be below the
  // tracked page count and appear once. After a failure the writer refuses
  // further epochs.
  bool append(std::span<const uint64_t> pfns, std::span<const void* const> pages,
              std::string& error);
  // Writes the index and footer and closes the file; the trace is readable
  // only after this.
  bool finish(std::string& error);

  uint64_t epochs() const { return index_.size(); }
  uint64_t pages() const { return pages_; }
  uint64_t file_bytes() const { return offset_; }

 private:
  TraceWriter(posix::Fd fd, std::string path, uint64_t tracked_pages, const WriterOptions& options);
  bool write(const void* data, size_t size, std::string& error);

  posix::Fd fd_;
  std::string path_;
  uint64_t tracked_pages_;
  WriterOptions options_;
  PfnSet seen_;
  std::vector<IndexEntry> index_;
  uint64_t offset_ = 0;
  uint64_t pages_ = 0;
  bool failed_ = false;
  std::vector<uint8_t> raw_;
  std::vector<uint8_t> stored_;
};

}  // namespace fgbi::adapters::trace
