// A live Linux process as a dirty source.
//
// Every epoch the source (optionally) stops the process (freezer.hpp),
// reads /proc/PID/maps, maps the captured virtual pages into a stable pfn
// space (pfn_map.hpp), finds the dirty pages and copies them out of the
// process (process_vm_readv, or /proc/PID/mem), then lets it run. Dirty
// pages are found with the kernel's soft-dirty bits (/proc/PID/clear_refs "4" and bit 55 of
// /proc/PID/pagemap) where they work, else by comparing every page with the
// copy taken at the previous epoch. Epoch 1 carries every captured page.
//
// A source must be driven from one thread (ptrace ties a tracee to the
// thread that seized it).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pfn_set.hpp"
#include "posix/fd.hpp"
#include "process/freezer.hpp"
#include "process/pfn_map.hpp"
#include "source.hpp"

namespace fgbi::adapters {
struct SourceSpec;
class SpecOptions;
}  // namespace fgbi::adapters

namespace fgbi::adapters::process {

enum class DirtyMethod { kAuto, kSoftDirty, kCompare };
const char* dirty_method_name(DirtyMethod method);
// How memory is copied: process_vm_readv (one copy, faster) or pread on
// /proc/PID/mem (a bounce through a kernel page). Same permission for both.
enum class ReadMethod { kAuto, kVm, kMem };
const char* read_method_name(ReadMethod method);

struct ProcessOptions {
  pid_t pid = 0;
  StopMethod stop = StopMethod::kAuto;
  DirtyMethod dirty = DirtyMethod::kAuto;
  ReadMethod read = ReadMethod::kAuto;
  uint64_t max_pages = 0;  // 0: the pages mapped at open, plus a quarter, plus 64 MiB
};

// Whether this kernel keeps soft-dirty bits: clears them for a page of this
// process, writes the page and reads the bit back. False with `why` set.
bool soft_dirty_works(std::string& why);

class ProcessSource final : public DirtySource {
 public:
  static std::unique_ptr<ProcessSource> open(const ProcessOptions& options, std::string& error);
  ~ProcessSource() override;

  uint64_t tracked_pages() const override { return pfns_.max_pages(); }
  std::string description() const override;
  Next next(Epoch& epoch, std::string& message) override;

  DirtyMethod dirty_method() const { return dirty_; }
  StopMethod stop_method() const { return freezer_->method(); }
  ReadMethod read_method() const { return read_; }
  // The pfn now holding the page at this virtual address of the process.
  std::optional<uint64_t> pfn_of(uint64_t address) const { return pfns_.pfn_of(address); }
  // Pages that could not be read (shipped as zeros), over all epochs.
  uint64_t unreadable_pages() const { return unreadable_; }

 private:
  struct PageRef {
    uint64_t address;
    uint64_t pfn;
  };
  ProcessSource(const ProcessOptions& options, uint64_t max_pages);
  bool choose_reader(ReadMethod method, uint64_t probe_address, std::string& error);
  // Reads `bytes` at `address` of the process into `local`: the bytes read
  // (fewer when a page is unreadable), or -1 with errno on a hard failure.
  long long read_remote(const iovec* local, size_t n, uint64_t address, size_t bytes);
  bool capture(std::string& message, bool& exited);
  bool read_into_copies(const std::vector<PageRef>& pages, std::string& error);
  bool compare_range(size_t range, std::string& error);
  bool select_soft_dirty(size_t range, std::vector<PageRef>& out, std::string& error);
  uint8_t* copy_of(uint64_t pfn) { return copies_ + pfn * kPageSize; }

  pid_t pid_;
  std::string comm_;
  posix::Fd mem_, pagemap_, clear_refs_;
  std::unique_ptr<Freezer> freezer_;
  DirtyMethod dirty_ = DirtyMethod::kCompare;
  ReadMethod read_ = ReadMethod::kMem;
  std::string notes_;
  PfnMap pfns_;
  PfnSet fresh_;
  // The last copy of every tracked page, by pfn: reserved address space,
  // backed only where pages were written.
  uint8_t* copies_ = nullptr;
  size_t copies_bytes_ = 0;
  std::vector<uint8_t> chunk_;
  std::vector<uint64_t> fresh_list_;
  std::vector<uint64_t> dirty_pfns_;
  std::vector<const void*> pointers_;
  uint64_t epoch_ = 0;
  uint64_t unreadable_ = 0;
};

// open_source() support: reads the pid spec's options (stop, dirty,
// max-pages), then opens the source.
std::unique_ptr<DirtySource> open_process_source(const SourceSpec& spec, SpecOptions& options,
                                                 std::string& error);

}  // namespace fgbi::adapters::process
