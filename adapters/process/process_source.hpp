// A live Linux process as a dirty source.
//
// Every epoch the source (optionally) stops the process (freezer.hpp),
// reads /proc/PID/maps, maps the captured virtual pages into a stable pfn
// space (pfn_map.hpp), finds the dirty pages and copies them from
// /proc/PID/mem, then lets the process run. Dirty pages are found with the
// kernel's soft-dirty bits (/proc/PID/clear_refs "4" and bit 55 of
// /proc/PID/pagemap) where they work, else by comparing every page with the
// copy taken at the previous epoch. Epoch 1 carries every captured page.
//
// A source must be driven from one thread (ptrace ties a tracee to the
// thread that seized it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "common/pfn_set.hpp"
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

struct ProcessOptions {
  pid_t pid = 0;
  StopMethod stop = StopMethod::kAuto;
  DirtyMethod dirty = DirtyMethod::kAuto;
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
  bool capture(std::string& message, bool& exited);
  bool read_into_copies(const std::vector<PageRef>& pages, std::string& error);
  bool compare_range(size_t range, std::string& error);
  bool select_soft_dirty(size_t range, std::vector<PageRef>& out, std::string& error);
  uint8_t* copy_of(uint64_t pfn) { return copies_ + pfn * kPageSize; }

  pid_t pid_;
  std::string comm_;
  UniqueFd mem_, pagemap_, clear_refs_;
  std::unique_ptr<Freezer> freezer_;
  DirtyMethod dirty_ = DirtyMethod::kCompare;
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
