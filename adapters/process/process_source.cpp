#include "process/process_source.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>

#include "process/maps.hpp"
#include "spec.hpp"

namespace fgbi::adapters::process {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kSoftDirtyBit = uint64_t{1} << 55;
// Pages compared (or pagemap entries read) per read call.
constexpr size_t kChunkPages = 256;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string proc_path(pid_t pid, const char* file) {
  return "/proc/" + std::to_string(pid) + "/" + file;
}

uint64_t pagemap_entry(int fd, const void* address) {
  uint64_t entry = 0;
  const uint64_t offset = reinterpret_cast<uintptr_t>(address) / kPageSize * sizeof entry;
  return posix::pread_full(fd, &entry, sizeof entry, offset) == sizeof entry ? entry : 0;
}

std::vector<VirtualRange> captured_ranges(const std::vector<Mapping>& maps) {
  std::vector<VirtualRange> ranges;
  for (const Mapping& m : maps)
    if (captured(m)) ranges.push_back({m.start, m.end});
  return ranges;
}

}  // namespace

const char* read_method_name(ReadMethod method) {
  switch (method) {
    case ReadMethod::kAuto: return "auto";
    case ReadMethod::kVm: return "vm";
    case ReadMethod::kMem: return "mem";
  }
  return "?";
}

const char* dirty_method_name(DirtyMethod method) {
  switch (method) {
    case DirtyMethod::kAuto: return "auto";
    case DirtyMethod::kSoftDirty: return "soft-dirty";
    case DirtyMethod::kCompare: return "compare";
  }
  return "?";
}

bool soft_dirty_works(std::string& why) {
  void* mem =
      ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    why = std::string("cannot map a probe page: ") + std::strerror(errno);
    return false;
  }
  auto* page = static_cast<volatile uint8_t*>(mem);
  page[0] = 1;
  const bool ok = [&] {
    posix::Fd clear(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
    posix::Fd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (!clear.valid() || !pagemap.valid()) {
      why = std::string("cannot open /proc/self/clear_refs or pagemap: ") + std::strerror(errno);
      return false;
    }
    if (!posix::write_full(clear.get(), "4", 1)) {
      why = std::string("clear_refs refuses \"4\": ") + std::strerror(errno);
      return false;
    }
    if (pagemap_entry(pagemap.get(), mem) & kSoftDirtyBit) {
      why = "soft-dirty bits are not cleared by clear_refs";
      return false;
    }
    page[0] = 2;
    if (!(pagemap_entry(pagemap.get(), mem) & kSoftDirtyBit)) {
      why = "the kernel does not set soft-dirty bits (CONFIG_MEM_SOFT_DIRTY off?)";
      return false;
    }
    return true;
  }();
  ::munmap(mem, kPageSize);
  return ok;
}

std::unique_ptr<ProcessSource> ProcessSource::open(const ProcessOptions& options,
                                                   std::string& error) {
  const pid_t pid = options.pid;
  if (pid <= 0) {
    error = "pid must be a positive process id";
    return nullptr;
  }
  auto maps = read_maps(pid, error);
  if (!maps) return nullptr;
  const auto ranges = captured_ranges(*maps);
  if (ranges.empty()) {
    error = "process " + std::to_string(pid) + " has no writable private memory (exited?)";
    return nullptr;
  }
  uint64_t pages = 0;
  for (const VirtualRange& r : ranges) pages += r.pages();
  uint64_t max_pages = options.max_pages;
  if (max_pages == 0) max_pages = std::min(kMaxTrackedPages, pages + pages / 4 + 16384);
  if (pages > max_pages) {
    error = "process " + std::to_string(pid) + " maps " + std::to_string(pages) +
            " writable pages, more than max-pages=" + std::to_string(max_pages);
    return nullptr;
  }

  std::unique_ptr<ProcessSource> s(new ProcessSource(options, max_pages));
  if (!s->choose_reader(options.read, ranges.front().start, error)) return nullptr;
  std::vector<uint64_t> fresh;
  if (!s->pfns_.update(ranges, fresh, error)) return nullptr;
  std::string note;
  s->freezer_ = make_freezer(pid, options.stop, note, error);
  if (!s->freezer_) return nullptr;
  if (!note.empty()) s->notes_ += "; " + note;

  if (options.dirty != DirtyMethod::kCompare) {
    std::string why;
    bool usable = soft_dirty_works(why);
    if (usable && s->freezer_->method() == StopMethod::kNone) {
      // Bits set between reading pagemap and clearing them would be lost.
      why = "soft-dirty tracking needs the process stopped during the copy (stop=none given)";
      usable = false;
    }
    if (usable) {
      s->pagemap_ = posix::Fd(::open(proc_path(pid, "pagemap").c_str(), O_RDONLY | O_CLOEXEC));
      s->clear_refs_ =
          posix::Fd(::open(proc_path(pid, "clear_refs").c_str(), O_WRONLY | O_CLOEXEC));
      if (!s->pagemap_.valid() || !s->clear_refs_.valid()) {
        why = posix::errno_message("cannot open", proc_path(pid, "pagemap/clear_refs"));
        usable = false;
      }
    }
    if (usable) {
      s->dirty_ = DirtyMethod::kSoftDirty;
    } else if (options.dirty == DirtyMethod::kSoftDirty) {
      error = "soft-dirty tracking unavailable: " + why;
      return nullptr;
    } else {
      s->notes_ += "; soft-dirty unavailable (" + why + ")";
    }
  }

  s->copies_bytes_ = max_pages * kPageSize;
  void* copies = ::mmap(nullptr, s->copies_bytes_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (copies == MAP_FAILED) {
    error = "cannot reserve " + std::to_string(s->copies_bytes_ >> 20) +
            " MiB for page copies: " + std::strerror(errno);
    return nullptr;
  }
  s->copies_ = static_cast<uint8_t*>(copies);
  std::ifstream comm(proc_path(pid, "comm"));
  std::getline(comm, s->comm_);
  return s;
}

ProcessSource::ProcessSource(const ProcessOptions& options, uint64_t max_pages)
    : pid_(options.pid), pfns_(max_pages), fresh_(max_pages), chunk_(kChunkPages * kPageSize) {}

ProcessSource::~ProcessSource() {
  if (copies_) ::munmap(copies_, copies_bytes_);
}

std::string ProcessSource::description() const {
  return "pid " + std::to_string(pid_) + " (" + comm_ + "), " +
         std::to_string(pfns_.mapped_pages()) + " writable pages in " +
         std::to_string(pfns_.range_count()) + " mappings, at most " +
         std::to_string(pfns_.max_pages()) + " tracked; dirty pages by " +
         (dirty_ == DirtyMethod::kSoftDirty ? "soft-dirty bits" : "content comparison") +
         "; stopped by " + stop_method_name(freezer_->method()) + " while copying; read with " +
         (read_ == ReadMethod::kVm ? "process_vm_readv" : "/proc/PID/mem") + notes_;
}

bool ProcessSource::choose_reader(ReadMethod method, uint64_t probe_address, std::string& error) {
  const std::string access_hint =
      " (reading another process's memory needs ptrace access: the same user with Yama "
      "ptrace_scope 0, or CAP_SYS_PTRACE)";
  if (method != ReadMethod::kMem) {
    uint8_t byte;
    iovec local{&byte, 1}, remote{reinterpret_cast<void*>(probe_address), 1};
    if (::process_vm_readv(pid_, &local, 1, &remote, 1, 0) == 1) {
      read_ = ReadMethod::kVm;
      return true;
    }
    if (method == ReadMethod::kVm) {
      error = "process_vm_readv on process " + std::to_string(pid_) + ": " + std::strerror(errno) +
              access_hint;
      return false;
    }
    notes_ += std::string("; process_vm_readv unavailable (") + std::strerror(errno) + ")";
  }
  mem_ = posix::Fd(::open(proc_path(pid_, "mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem_.valid()) {
    error = posix::errno_message("cannot open", proc_path(pid_, "mem")) + access_hint;
    return false;
  }
  read_ = ReadMethod::kMem;
  return true;
}

long long ProcessSource::read_remote(const iovec* local, size_t n, uint64_t address, size_t bytes) {
  ssize_t got;
  if (read_ == ReadMethod::kVm) {
    iovec remote{reinterpret_cast<void*>(address), bytes};
    got = ::process_vm_readv(pid_, local, n, &remote, 1, 0);
  } else {
    got = ::preadv(mem_.get(), local, static_cast<int>(n), static_cast<off_t>(address));
  }
  // EFAULT/EIO: the first page is unreadable (nothing read).
  if (got < 0 && (errno == EFAULT || errno == EIO)) return 0;
  return got;
}

bool ProcessSource::read_into_copies(const std::vector<PageRef>& pages, std::string& error) {
  // One read per run of consecutive addresses, straight into the copies.
  std::vector<iovec> iov;
  for (size_t i = 0; i < pages.size();) {
    size_t n = 1;
    while (i + n < pages.size() && n < IOV_MAX &&
           pages[i + n].address == pages[i].address + n * kPageSize)
      ++n;
    iov.resize(n);
    for (size_t k = 0; k < n; ++k) iov[k] = {copy_of(pages[i + k].pfn), kPageSize};
    const long long got = read_remote(iov.data(), n, pages[i].address, n * kPageSize);
    if (got < 0) {
      error = std::string("cannot read its memory: ") + std::strerror(errno);
      return false;
    }
    const size_t whole = static_cast<size_t>(got) / kPageSize;
    stats_.bytes_read += whole * kPageSize;
    // Pages after a failed one are retried alone; those that still fail (an
    // unreadable special mapping, or memory unmapped since maps was read)
    // are shipped as zeros.
    for (size_t k = whole; k < n; ++k) {
      const long long r = read_remote(&iov[k], 1, pages[i + k].address, kPageSize);
      if (r == static_cast<long long>(kPageSize)) {
        stats_.bytes_read += kPageSize;
      } else {
        std::memset(iov[k].iov_base, 0, kPageSize);
        ++unreadable_;
      }
    }
    i += n;
  }
  return true;
}

bool ProcessSource::compare_range(size_t range, std::string& error) {
  const VirtualRange& r = pfns_.range(range);
  const auto pfns = pfns_.pfns(range);
  for (size_t first = 0; first < pfns.size(); first += kChunkPages) {
    const size_t n = std::min(kChunkPages, pfns.size() - first);
    const uint64_t address = r.start + first * kPageSize;
    const iovec local{chunk_.data(), n * kPageSize};
    const long long got = read_remote(&local, 1, address, n * kPageSize);
    if (got < 0) {
      error = std::string("cannot read its memory: ") + std::strerror(errno);
      return false;
    }
    if (got != static_cast<long long>(n * kPageSize)) {
      // Part of the range is unreadable: fall back to page-by-page copies.
      std::vector<PageRef> pages;
      for (size_t p = 0; p < n; ++p) {
        pages.push_back({address + p * kPageSize, pfns[first + p]});
        dirty_pfns_.push_back(pfns[first + p]);
      }
      if (!read_into_copies(pages, error)) return false;
      continue;
    }
    stats_.bytes_read += n * kPageSize;
    for (size_t p = 0; p < n; ++p) {
      const uint64_t pfn = pfns[first + p];
      const uint8_t* now = chunk_.data() + p * kPageSize;
      if (!fresh_.contains(pfn) && std::memcmp(now, copy_of(pfn), kPageSize) == 0) continue;
      std::memcpy(copy_of(pfn), now, kPageSize);
      dirty_pfns_.push_back(pfn);
    }
  }
  return true;
}

bool ProcessSource::select_soft_dirty(size_t range, std::vector<PageRef>& out, std::string& error) {
  const VirtualRange& r = pfns_.range(range);
  const auto pfns = pfns_.pfns(range);
  uint64_t entries[kChunkPages];
  for (size_t first = 0; first < pfns.size(); first += kChunkPages) {
    const size_t n = std::min(kChunkPages, pfns.size() - first);
    const uint64_t address = r.start + first * kPageSize;
    const long long got =
        posix::pread_full(pagemap_.get(), entries, n * sizeof(uint64_t), address / kPageSize * 8);
    if (got != static_cast<long long>(n * sizeof(uint64_t))) {
      error = posix::errno_message("cannot read", proc_path(pid_, "pagemap"));
      return false;
    }
    for (size_t p = 0; p < n; ++p) {
      const uint64_t pfn = pfns[first + p];
      if ((entries[p] & kSoftDirtyBit) || fresh_.contains(pfn)) {
        out.push_back({address + p * kPageSize, pfn});
        dirty_pfns_.push_back(pfn);
      }
    }
  }
  return true;
}

// Runs while the process is stopped (if it is stopped at all).
bool ProcessSource::capture(std::string& message, bool& exited) {
  auto maps = read_maps(pid_, message);
  if (!maps) {
    exited = !process_alive(pid_);
    return false;
  }
  const auto ranges = captured_ranges(*maps);
  if (ranges.empty()) {
    exited = true;  // a zombie's maps are empty
    return false;
  }
  fresh_list_.clear();
  if (!pfns_.update(ranges, fresh_list_, message)) return false;
  for (uint64_t pfn : fresh_list_) fresh_.insert(pfn);
  dirty_pfns_.clear();

  bool ok = true;
  if (epoch_ == 0 || dirty_ == DirtyMethod::kSoftDirty) {
    std::vector<PageRef> pages;
    for (size_t i = 0; ok && i < pfns_.range_count(); ++i) {
      if (epoch_ == 0) {
        const auto pfns = pfns_.pfns(i);
        for (size_t p = 0; p < pfns.size(); ++p) {
          pages.push_back({pfns_.range(i).start + p * kPageSize, pfns[p]});
          dirty_pfns_.push_back(pfns[p]);
        }
      } else {
        ok = select_soft_dirty(i, pages, message);
      }
    }
    ok = ok && read_into_copies(pages, message);
    if (ok && dirty_ == DirtyMethod::kSoftDirty && !posix::write_full(clear_refs_.get(), "4", 1)) {
      message = posix::errno_message("cannot write", proc_path(pid_, "clear_refs"));
      ok = false;
    }
  } else {
    for (size_t i = 0; ok && i < pfns_.range_count(); ++i) ok = compare_range(i, message);
  }
  fresh_.erase(fresh_list_);
  return ok;
}

Next ProcessSource::next(Epoch& epoch, std::string& message) {
  const auto t0 = Clock::now();
  if (!freezer_->freeze(message)) {
    if (!process_alive(pid_)) {
      message =
          "process " + std::to_string(pid_) + " exited after " + std::to_string(epoch_) + " epochs";
      return Next::kEnd;
    }
    return Next::kError;
  }
  const auto stopped_at = Clock::now();
  bool exited = false;
  const bool ok = capture(message, exited);
  freezer_->thaw();
  stats_.stopped_seconds += freezer_->method() == StopMethod::kNone ? 0 : seconds_since(stopped_at);
  if (!ok) {
    if (exited || !process_alive(pid_)) {  // it may die even while stopped (SIGKILL)
      message =
          "process " + std::to_string(pid_) + " exited after " + std::to_string(epoch_) + " epochs";
      return Next::kEnd;
    }
    message = "process " + std::to_string(pid_) + ": " + message;
    return Next::kError;
  }
  ++epoch_;
  pointers_.resize(dirty_pfns_.size());
  for (size_t i = 0; i < dirty_pfns_.size(); ++i) pointers_[i] = copy_of(dirty_pfns_[i]);
  epoch.number = epoch_;
  epoch.pfns = dirty_pfns_;
  epoch.pages = pointers_;
  stats_.epochs++;
  stats_.dirty_pages += dirty_pfns_.size();
  stats_.capture_seconds += seconds_since(t0);
  return Next::kEpoch;
}

std::unique_ptr<DirtySource> open_process_source(const SourceSpec& spec, SpecOptions& options,
                                                 std::string& error) {
  ProcessOptions po;
  uint64_t pid = 0;
  const std::string& text = spec.values.front();
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (spec.values.size() != 1 || ec != std::errc() || ptr != text.data() + text.size() ||
      pid == 0 || pid > INT_MAX) {
    error = "pid: takes one process id, e.g. pid:1234";
    return nullptr;
  }
  po.pid = static_cast<pid_t>(pid);
  std::string stop, dirty, read;
  if (!options.get_choice("stop", "auto", {"auto", "ptrace", "signal", "none"}, stop, error) ||
      !options.get_choice("dirty", "auto", {"auto", "soft-dirty", "compare"}, dirty, error) ||
      !options.get_choice("read", "auto", {"auto", "vm", "mem"}, read, error) ||
      !options.get_uint("max-pages", 0, 0, kMaxTrackedPages, po.max_pages, error) ||
      !options.all_used(error))
    return nullptr;
  po.stop = stop == "ptrace"   ? StopMethod::kPtrace
            : stop == "signal" ? StopMethod::kSignal
            : stop == "none"   ? StopMethod::kNone
                               : StopMethod::kAuto;
  po.dirty = dirty == "soft-dirty" ? DirtyMethod::kSoftDirty
             : dirty == "compare"  ? DirtyMethod::kCompare
                                   : DirtyMethod::kAuto;
  po.read = read == "vm" ? ReadMethod::kVm : read == "mem" ? ReadMethod::kMem : ReadMethod::kAuto;
  return ProcessSource::open(po, error);
}

}  // namespace fgbi::adapters::process
