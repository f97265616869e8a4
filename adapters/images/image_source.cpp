#include "images/image_source.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "posix/fd.hpp"

namespace fgbi::adapters::images {
namespace {

// Images are compared this many pages at a time.
constexpr size_t kChunkPages = 1024;
// Dirty pages are staged in blocks of this many pages, so that staging grows
// without moving what is already staged.
constexpr size_t kStageBlockPages = 4096;

bool stat_size(int fd, const std::string& path, uint64_t& size, std::string& error) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = posix::errno_message("cannot stat image", path);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "image " + path + " is not a regular file";
    return false;
  }
  size = static_cast<uint64_t>(st.st_size);
  return true;
}

}  // namespace

bool expand_image_list(const std::vector<std::string>& items, std::vector<std::string>& files,
                       std::string& error) {
  for (const std::string& item : items) {
    if (item.find_first_of("*?[") == std::string::npos) {
      files.push_back(item);
      continue;
    }
    glob_t g{};
    const int rc = ::glob(item.c_str(), 0, nullptr, &g);
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    if (rc != 0) {
      error = "no image matches " + item;
      return false;
    }
  }
  if (files.empty()) {
    error = "no images given";
    return false;
  }
  return true;
}

std::unique_ptr<ImageSource> ImageSource::open(std::vector<std::string> files, std::string& error) {
  if (files.empty()) {
    error = "no images given";
    return nullptr;
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    // O_NONBLOCK: a FIFO must not block the open; stat_size() refuses it.
    posix::Fd fd(::open(files[i].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    uint64_t size = 0;
    if (!fd.valid()) {
      error = posix::errno_message("cannot open image", files[i]);
      return nullptr;
    }
    if (!stat_size(fd.get(), files[i], size, error)) return nullptr;
    if (i == 0) bytes = size;
    if (size == 0 || size != bytes) {
      error =
          "image " + files[i] + " has " + std::to_string(size) + " bytes; " +
          (size == 0 ? "images must not be empty" : "the first image has " + std::to_string(bytes));
      return nullptr;
    }
  }
  return std::unique_ptr<ImageSource>(new ImageSource(std::move(files), bytes));
}

ImageSource::ImageSource(std::vector<std::string> files, uint64_t bytes)
    : files_(std::move(files)),
      image_bytes_(bytes),
      pages_((bytes + kPageSize - 1) / kPageSize),
      current_(kChunkPages * kPageSize),
      previous_(kChunkPages * kPageSize) {}

std::string ImageSource::description() const {
  return "images, " + std::to_string(files_.size()) + " dumps of " + std::to_string(image_bytes_) +
         " bytes from " + files_.front() + " to " + files_.back() +
         ", dirty pages found by comparison";
}

bool ImageSource::read_chunk(int fd, const std::string& path, uint64_t first_page, size_t pages,
                             uint8_t* out, std::string& error) {
  const uint64_t offset = first_page * kPageSize;
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(pages * kPageSize, image_bytes_ - offset));
  const long long n = posix::pread_full(fd, out, want, offset);
  if (n < 0) {
    error = posix::errno_message("cannot read image", path);
    return false;
  }
  if (static_cast<size_t>(n) != want) {
    error = "image " + path + " shrank while it was read";
    return false;
  }
  std::memset(out + want, 0, pages * kPageSize - want);  // pad the last page
  stats_.bytes_read += want;
  return true;
}

uint8_t* ImageSource::stage(uint64_t pfn) {
  const size_t slot = pfns_.size();
  if (slot / kStageBlockPages >= staged_.size())
    staged_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kStageBlockPages * kPageSize));
  pfns_.push_back(pfn);
  return staged_[slot / kStageBlockPages].get() + (slot % kStageBlockPages) * kPageSize;
}

Next ImageSource::next(Epoch& epoch, std::string& message) {
  if (next_ >= files_.size()) {
    message = "end of images after " + std::to_string(next_) + " epochs";
    return Next::kEnd;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string& path = files_[next_];
  posix::Fd cur(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  posix::Fd prev;
  if (!cur.valid()) {
    message = posix::errno_message("cannot open image", path);
    return Next::kError;
  }
  if (next_ > 0) {
    prev = posix::Fd(::open(files_[next_ - 1].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!prev.valid()) {
      message = posix::errno_message("cannot open image", files_[next_ - 1]);
      return Next::kError;
    }
  }
  uint64_t size = 0;
  if (!stat_size(cur.get(), path, size, message)) return Next::kError;
  if (size != image_bytes_) {
    message = "image " + path + " changed size to " + std::to_string(size) + " bytes";
    return Next::kError;
  }

  pfns_.clear();
  for (uint64_t first = 0; first < pages_; first += kChunkPages) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkPages, pages_ - first));
    if (!read_chunk(cur.get(), path, first, n, current_.data(), message)) return Next::kError;
    if (prev.valid() &&
        !read_chunk(prev.get(), files_[next_ - 1], first, n, previous_.data(), message))
      return Next::kError;
    for (size_t p = 0; p < n; ++p) {
      const uint8_t* page = current_.data() + p * kPageSize;
      if (prev.valid() && std::memcmp(page, previous_.data() + p * kPageSize, kPageSize) == 0)
        continue;
      std::memcpy(stage(first + p), page, kPageSize);
    }
  }
  pointers_.resize(pfns_.size());
  for (size_t i = 0; i < pfns_.size(); ++i)
    pointers_[i] = staged_[i / kStageBlockPages].get() + (i % kStageBlockPages) * kPageSize;
  ++next_;
  epoch.number = next_;
  epoch.pfns = pfns_;
  epoch.pages = pointers_;
  stats_.epochs++;
  stats_.dirty_pages += pfns_.size();
  stats_.capture_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Next::kEpoch;
}

}  // namespace fgbi::adapters::images
