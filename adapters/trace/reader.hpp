// Reads a trace file (docs/trace-format.md) with every length checked
// against the file and the format's bounds: a corrupt or cut trace gives a
// clear error, never a crash or an unbounded allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pfn_set.hpp"
#include "posix/fd.hpp"
#include "source.hpp"
#include "trace/format.hpp"

namespace fgbi::adapters::trace {

// Figures about one epoch's stored form, filled by read_epoch().
struct EpochFigures {
  uint64_t chunks = 0;
  uint64_t stored_bytes = 0;  // chunk headers and stored payloads
  uint64_t raw_bytes = 0;     // raw payloads (pfns and pages)
  uint32_t codecs = 0;        // bit (1 << codec) for each codec used
};

class TraceReader {
 public:
  // Opens and validates the header, index and footer. Epoch contents are
  // checked as they are read. nullptr with `error` set on failure.
  static std::unique_ptr<TraceReader> open(const std::string& path, std::string& error);

  const FileHeader& header() const { return header_; }
  const std::string& description() const { return description_; }
  const std::vector<IndexEntry>& index() const { return index_; }
  uint64_t file_bytes() const { return file_bytes_; }

  // Reads epoch i (0-based) and verifies its checksums, pfns and sizes. The
  // epoch's spans stay valid until the next read. `figures` may be null.
  bool read_epoch(size_t i, Epoch& epoch, EpochFigures* figures, std::string& error);

 private:
  TraceReader(posix::Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  bool load(std::string& error);
  bool read_at(uint64_t offset, void* buf, size_t size, const char* what, std::string& error);
  bool grow_pages(size_t pages, std::string& error);

  posix::Fd fd_;
  std::string path_;
  FileHeader header_;
  std::string description_;
  std::vector<IndexEntry> index_;
  uint64_t file_bytes_ = 0;
  uint64_t data_end_ = 0;  // where the index starts
  uint64_t memory_limit_ = 0;

  PfnSet seen_;
  std::vector<uint64_t> pfns_;
  std::vector<const void*> pointers_;
  std::unique_ptr<uint8_t[]> pages_;
  size_t pages_capacity_ = 0;
  std::vector<uint8_t> stored_;
  std::vector<uint8_t> raw_;
};

// A trace as a dirty source: its epochs in order.
class TraceSource final : public DirtySource {
 public:
  explicit TraceSource(std::unique_ptr<TraceReader> reader) : reader_(std::move(reader)) {}
  uint64_t tracked_pages() const override { return reader_->header().tracked_pages; }
  std::string description() const override;
  Next next(Epoch& epoch, std::string& message) override;

 private:
  std::unique_ptr<TraceReader> reader_;
  size_t next_ = 0;
};

}  // namespace fgbi::adapters::trace
