#include "trace/writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi::adapters::trace {

std::unique_ptr<TraceWriter> TraceWriter::create(const std::string& path, uint64_t tracked_pages,
                                                 const std::string& description,
                                                 const WriterOptions& options, std::string& error) {
  if (tracked_pages == 0 || tracked_pages > kMaxTrackedPages) {
    error = "tracked page count " + std::to_string(tracked_pages) + " out of range";
    return nullptr;
  }
  if (options.codec == Codec::kZstd && (options.level < 1 || options.level > 19)) {
    error = "zstd level must be 1..19";
    return nullptr;
  }
  posix::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    error = posix::errno_message("cannot create trace", path);
    return nullptr;
  }
  std::unique_ptr<TraceWriter> w(new TraceWriter(std::move(fd), path, tracked_pages, options));
  const std::string desc = description.substr(0, kMaxDescriptionBytes);
  FileHeader h;
  h.tracked_pages = tracked_pages;
  h.created_unix_seconds =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  uint8_t header[kFileHeaderBytes];
  encode_file_header(h, desc, header);
  if (!w->write(header, sizeof header, error) || !w->write(desc.data(), desc.size(), error))
    return nullptr;
  return w;
}

TraceWriter::TraceWriter(posix::Fd fd, std::string path, uint64_t tracked_pages,
                         const WriterOptions& options)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      tracked_pages_(tracked_pages),
      options_(options),
      seen_(tracked_pages) {}

bool TraceWriter::write(const void* data, size_t size, std::string& error) {
  if (!posix::write_full(fd_.get(), data, size)) {
    error = posix::errno_message("cannot write trace", path_);
    failed_ = true;
    return false;
  }
  offset_ += size;
  return true;
}

bool TraceWriter::append(std::span<const uint64_t> pfns, std::span<const void* const> pages,
                         std::string& error) {
  if (failed_ || !fd_.valid()) {
    error = "trace writer is closed or failed earlier";
    return false;
  }
  if (pfns.size() != pages.size()) {
    error = "pfn and page counts differ";
    return false;
  }
  for (size_t i = 0; i < pfns.size(); ++i) {
    if (pfns[i] >= tracked_pages_ || pages[i] == nullptr || !seen_.insert(pfns[i])) {
      seen_.erase(pfns.first(i));  // a repeated pfn is among these
      error = "epoch has pfn " + std::to_string(pfns[i]) +
              (pfns[i] >= tracked_pages_ ? " beyond the tracked pages"
               : pages[i] == nullptr     ? " without content"
                                         : " twice");
      return false;
    }
  }
  seen_.erase(pfns);

  const IndexEntry entry{index_.size() + 1, offset_, pfns.size()};
  EpochHeader eh;
  eh.number = entry.number;
  eh.page_count = pfns.size();
  eh.chunk_count = static_cast<uint32_t>((pfns.size() + kMaxChunkPages - 1) / kMaxChunkPages);
  uint8_t head[kEpochHeaderBytes];
  encode_epoch_header(eh, head);
  if (!write(head, sizeof head, error)) return false;

  for (size_t first = 0; first < pfns.size(); first += kMaxChunkPages) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kMaxChunkPages, pfns.size() - first));
    raw_.resize(raw_chunk_bytes(n));
    uint8_t* out = raw_.data();
    for (uint32_t i = 0; i < n; ++i) store_le<uint64_t>(out + 8 * i, pfns[first + i]);
    out += size_t{8} * n;
    for (uint32_t i = 0; i < n; ++i)
      std::memcpy(out + size_t{kPageSize} * i, pages[first + i], kPageSize);
    ChunkHeader ch;
    ch.codec = options_.codec;
    ch.page_count = n;
    ch.raw_checksum = xxh3(raw_.data(), raw_.size());
    if (!compress(options_.codec, options_.level, raw_.data(), raw_.size(), stored_, error)) {
      failed_ = true;
      return false;
    }
    ch.stored_bytes = static_cast<uint32_t>(stored_.size());
    uint8_t chunk_head[kChunkHeaderBytes];
    encode_chunk_header(ch, chunk_head);
    if (!write(chunk_head, sizeof chunk_head, error) ||
        !write(stored_.data(), stored_.size(), error))
      return false;
  }
  index_.push_back(entry);
  pages_ += pfns.size();
  return true;
}

bool TraceWriter::finish(std::string& error) {
  if (failed_ || !fd_.valid()) {
    error = "trace writer is closed or failed earlier";
    return false;
  }
  std::vector<uint8_t> tail(kIndexHeaderBytes + index_.size() * kIndexEntryBytes +
                            kIndexChecksumBytes + kFooterBytes);
  uint8_t* p = tail.data();
  encode_index_header(index_.size(), p);
  p += kIndexHeaderBytes;
  for (const IndexEntry& e : index_) {
    encode_index_entry(e, p);
    p += kIndexEntryBytes;
  }
  store_le<uint64_t>(p, xxh3(tail.data(), static_cast<size_t>(p - tail.data())));
  p += kIndexChecksumBytes;
  encode_footer({offset_, index_.size()}, p);
  if (!write(tail.data(), tail.size(), error)) return false;
  if (::fdatasync(fd_.get()) != 0 && errno != EINVAL) {
    error = posix::errno_message("cannot flush trace", path_);
    failed_ = true;
    return false;
  }
  if (!fd_.close()) {
    error = posix::errno_message("cannot close trace", path_);
    failed_ = true;
    return false;
  }
  return true;
}

}  // namespace fgbi::adapters::trace
