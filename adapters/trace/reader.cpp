#include "trace/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi::adapters::trace {
namespace {

// Epoch page buffers may not exceed this share of physical memory: a trace
// that claims more is refused rather than driving the machine into swap.
uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return uint64_t{1} << 40;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(size);
}

std::string at(uint64_t offset) { return " (at byte " + std::to_string(offset) + ")"; }

}  // namespace

std::unique_ptr<TraceReader> TraceReader::open(const std::string& path, std::string& error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; load() refuses
  // anything but a regular file (on which O_NONBLOCK changes nothing).
  posix::Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    error = posix::errno_message("cannot open trace", path);
    return nullptr;
  }
  std::unique_ptr<TraceReader> r(new TraceReader(std::move(fd), path));
  if (!r->load(error)) {
    error = path + ": " + error;
    return nullptr;
  }
  return r;
}

bool TraceReader::read_at(uint64_t offset, void* buf, size_t size, const char* what,
                          std::string& error) {
  if (offset > file_bytes_ || size > file_bytes_ - offset) {
    error =
        std::string("trace is truncated: ") + what + " runs past the end of the file" + at(offset);
    return false;
  }
  const long long n = posix::pread_full(fd_.get(), buf, size, offset);
  if (n < 0) {
    error = posix::errno_message("cannot read", path_);
    return false;
  }
  if (static_cast<size_t>(n) != size) {
    error = std::string("trace is truncated: ") + what + " cut short" + at(offset);
    return false;
  }
  return true;
}

bool TraceReader::load(std::string& error) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) {
    error = std::string("cannot stat: ") + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "not a regular file";
    return false;
  }
  file_bytes_ = static_cast<uint64_t>(st.st_size);

  uint8_t head[kFileHeaderBytes];
  if (!read_at(0, head, sizeof head, "file header", error) ||
      !decode_file_header(head, header_, error))
    return false;
  description_.resize(header_.description_bytes);
  if (!read_at(kFileHeaderBytes, description_.data(), description_.size(), "description", error))
    return false;
  if (!file_header_checksum_ok(head, description_)) {
    error = "file header checksum mismatch";
    return false;
  }
  const uint64_t data_start = kFileHeaderBytes + header_.description_bytes;

  if (file_bytes_ < data_start + kIndexHeaderBytes + kIndexChecksumBytes + kFooterBytes) {
    error =
        "no trace footer: the recording did not finish (interrupted or still running) or "
        "the file was cut";
    return false;
  }
  uint8_t foot[kFooterBytes];
  Footer footer;
  if (!read_at(file_bytes_ - kFooterBytes, foot, sizeof foot, "footer", error) ||
      !decode_footer(foot, footer, error))
    return false;
  // The index sits between the last epoch and the footer, exactly filling it.
  const uint64_t index_space = file_bytes_ - kFooterBytes;
  const uint64_t max_epochs = (index_space - data_start) / (kIndexEntryBytes + kEpochHeaderBytes);
  if (footer.index_offset < data_start || footer.epoch_count > max_epochs ||
      footer.index_offset + kIndexHeaderBytes + footer.epoch_count * kIndexEntryBytes +
              kIndexChecksumBytes !=
          index_space) {
    error = "footer points to an index that does not fit the file";
    return false;
  }
  std::vector<uint8_t> index(static_cast<size_t>(index_space - footer.index_offset));
  uint64_t count = 0;
  if (!read_at(footer.index_offset, index.data(), index.size(), "index", error) ||
      !decode_index_header(index.data(), count, error))
    return false;
  const size_t checked = index.size() - kIndexChecksumBytes;
  if (count != footer.epoch_count ||
      load_le<uint64_t>(index.data() + checked) != xxh3(index.data(), checked)) {
    error = "index checksum mismatch";
    return false;
  }
  data_end_ = footer.index_offset;
  memory_limit_ = physical_memory_bytes();
  index_.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    const IndexEntry e =
        decode_index_entry(index.data() + kIndexHeaderBytes + i * kIndexEntryBytes);
    const uint64_t prev_end = i == 0 ? data_start : index_[i - 1].offset + kEpochHeaderBytes;
    if (e.number != i + 1 || e.offset < prev_end || e.offset > data_end_ - kEpochHeaderBytes ||
        e.page_count > header_.tracked_pages) {
      error = "index entry " + std::to_string(i + 1) + " is inconsistent";
      return false;
    }
    index_[i] = e;
  }
  seen_ = PfnSet(header_.tracked_pages);
  return true;
}

bool TraceReader::grow_pages(size_t pages, std::string& error) {
  if (pages <= pages_capacity_) return true;
  if (pages > memory_limit_ / kPageSize) {
    error = "epoch needs " + std::to_string(pages * kPageSize >> 20) +
            " MiB of pages, more than this machine's memory";
    return false;
  }
  size_t cap = pages_capacity_ ? pages_capacity_ : kMaxChunkPages;
  while (cap < pages) cap *= 2;
  auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap * kPageSize);
  if (pages_capacity_ != 0) std::memcpy(fresh.get(), pages_.get(), pages_capacity_ * kPageSize);
  pages_ = std::move(fresh);
  pages_capacity_ = cap;
  return true;
}

bool TraceReader::read_epoch(size_t i, Epoch& epoch, EpochFigures* figures, std::string& error) {
  const bool ok = [&] {
    if (i >= index_.size()) {
      error = "no epoch " + std::to_string(i + 1) + " (the trace has " +
              std::to_string(index_.size()) + ")";
      return false;
    }
    const IndexEntry& entry = index_[i];
    const uint64_t end = i + 1 < index_.size() ? index_[i + 1].offset : data_end_;
    const std::string where = "epoch " + std::to_string(entry.number) + ": ";
    uint8_t head[kEpochHeaderBytes];
    EpochHeader eh;
    if (!read_at(entry.offset, head, sizeof head, "epoch header", error) ||
        !decode_epoch_header(head, eh, error)) {
      error = where + error + at(entry.offset);
      return false;
    }
    if (eh.number != entry.number || eh.page_count != entry.page_count ||
        eh.chunk_count != (eh.page_count + kMaxChunkPages - 1) / kMaxChunkPages) {
      error = where + "header disagrees with the index" + at(entry.offset);
      return false;
    }
    EpochFigures f;
    pfns_.clear();
    uint64_t offset = entry.offset + kEpochHeaderBytes;
    for (uint32_t c = 0; c < eh.chunk_count; ++c) {
      uint8_t chunk_head[kChunkHeaderBytes];
      ChunkHeader ch;
      if (offset + kChunkHeaderBytes > end) {
        error = where + "chunk " + std::to_string(c) + " runs past the epoch" + at(offset);
        return false;
      }
      if (!read_at(offset, chunk_head, sizeof chunk_head, "chunk header", error) ||
          !decode_chunk_header(chunk_head, ch, error)) {
        error = where + error + at(offset);
        return false;
      }
      offset += kChunkHeaderBytes;
      const uint64_t expected = std::min<uint64_t>(kMaxChunkPages, eh.page_count - pfns_.size());
      if (ch.page_count != expected || offset + ch.stored_bytes > end) {
        error = where + "chunk " + std::to_string(c) + " does not fit the epoch" + at(offset);
        return false;
      }
      stored_.resize(ch.stored_bytes);
      raw_.resize(raw_chunk_bytes(ch.page_count));
      if (!read_at(offset, stored_.data(), stored_.size(), "chunk", error) ||
          !decompress(ch.codec, stored_.data(), stored_.size(), raw_.data(), raw_.size(), error)) {
        error = where + error + at(offset);
        return false;
      }
      if (xxh3(raw_.data(), raw_.size()) != ch.raw_checksum) {
        error = where + "chunk " + std::to_string(c) + " content checksum mismatch" + at(offset);
        return false;
      }
      const size_t first = pfns_.size();
      if (!grow_pages(first + ch.page_count, error)) {
        error = where + error;
        return false;
      }
      for (uint32_t p = 0; p < ch.page_count; ++p) {
        const uint64_t pfn = load_le<uint64_t>(raw_.data() + 8 * size_t{p});
        if (pfn >= header_.tracked_pages || !seen_.insert(pfn)) {
          error = where + "pfn " + std::to_string(pfn) +
                  (pfn >= header_.tracked_pages ? " beyond the tracked pages" : " twice");
          return false;
        }
        pfns_.push_back(pfn);
      }
      std::memcpy(pages_.get() + first * kPageSize, raw_.data() + 8 * size_t{ch.page_count},
                  size_t{ch.page_count} * kPageSize);
      offset += ch.stored_bytes;
      ++f.chunks;
      f.stored_bytes += kChunkHeaderBytes + ch.stored_bytes;
      f.raw_bytes += raw_.size();
      f.codecs |= 1u << static_cast<unsigned>(ch.codec);
    }
    pointers_.resize(pfns_.size());
    for (size_t p = 0; p < pfns_.size(); ++p) pointers_[p] = pages_.get() + p * kPageSize;
    epoch.number = entry.number;
    epoch.pfns = pfns_;
    epoch.pages = pointers_;
    if (figures) *figures = f;
    return true;
  }();
  seen_.erase(pfns_);
  if (!ok) pfns_.clear();
  return ok;
}

std::string TraceSource::description() const {
  const auto& r = *reader_;
  std::string d = "trace, " + std::to_string(r.index().size()) + " epochs over " +
                  std::to_string(r.header().tracked_pages) + " pages";
  if (!r.description().empty()) d += ", recorded from " + r.description();
  return d;
}

Next TraceSource::next(Epoch& epoch, std::string& message) {
  if (next_ >= reader_->index().size()) {
    message = "end of trace after " + std::to_string(next_) + " epochs";
    return Next::kEnd;
  }
  const auto t0 = std::chrono::steady_clock::now();
  EpochFigures f;
  if (!reader_->read_epoch(next_, epoch, &f, message)) return Next::kError;
  ++next_;
  stats_.epochs++;
  stats_.dirty_pages += epoch.size();
  stats_.bytes_read += f.stored_bytes + kEpochHeaderBytes;
  stats_.capture_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Next::kEpoch;
}

}  // namespace fgbi::adapters::trace
