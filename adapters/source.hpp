// Dirty sources: where the memory a replicated workload dirties comes from.
//
// Every adapter (a recorded trace, a sequence of memory images, a live Linux
// process, a Xen domain) is a DirtySource: it yields epochs of dirty pages,
// each a list of (pfn, pointer to the page's content), over a fixed space of
// tracked pages. Adapters know nothing of encodings; feed an epoch to the
// engine through the public C ABI like this:
//
//   std::string error;
//   auto source = fgbi::adapters::open_source("trace:run.fgbt", error);
//   if (!source) { fprintf(stderr, "%s\n", error.c_str()); return 1; }
//   fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, source->tracked_pages());
//   fgbi::adapters::Epoch epoch;
//   while (source->next(epoch, error) == fgbi::adapters::Next::kEpoch) {
//     fgbi_sender_begin_epoch(s, nullptr);
//     fgbi_sender_add_pages(s, epoch.pfns.data(), epoch.pages.data(), epoch.size(), nullptr);
//     ... fgbi_sender_end_epoch(...) ...
//   }
//   // kEnd: `error` says why the source ended; kError: what went wrong.
//
// Source specs (docs/adapters.md has the details):
//   trace:FILE                       a trace recorded by `fgbi-engine trace record`
//   images:GLOB  or  images:A,B,...  consecutive raw memory images of equal size
//   pid:N                            a live Linux process (reads /proc/N/mem)
//   xen:DOMID                        a Xen domain (only when built with libxen)
//   and kinds defined outside adapters/ and passed to open_source(), such as
//   synthetic:NAME, eval/'s synthetic workloads (docs/workloads.md)
// followed by options, comma-separated KEY=VALUE:
//   epochs=K        stop after K epochs (all kinds; 0 = until the source ends)
//   interval=MS     start an epoch every MS milliseconds (all kinds; default
//                   0 for trace/images, 100 for pid and xen)
//   pid:  stop=auto|ptrace|signal|none   dirty=auto|soft-dirty|compare
//         read=auto|vm|mem   max-pages=N
//   xen:  suspend=pause (the only way; suspend=shutdown is refused)
// e.g. "pid:4242,interval=50,epochs=100,stop=signal".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace fgbi::adapters {

inline constexpr size_t kPageSize = 4096;
// The engine's bound on tracked pages (FGBI_P_TRACKED_PAGES).
inline constexpr uint64_t kMaxTrackedPages = uint64_t{1} << 32;

// One epoch of dirty pages. pages[i] holds the kPageSize bytes of pfns[i];
// both stay valid until the next call to next() or the source is destroyed.
// A pfn appears at most once per epoch and is below tracked_pages().
struct Epoch {
  uint64_t number = 0;  // 1, 2, ... ; epoch 1 carries every page the source holds
  std::span<const uint64_t> pfns;
  std::span<const void* const> pages;
  size_t size() const { return pfns.size(); }
};

enum class Next {
  kEpoch,  // `epoch` holds the next epoch
  kEnd,    // no more epochs; the message says why (e.g. "process 42 exited")
  kError   // the message says what failed; the source cannot continue
};

// Counters every source keeps, for capture-rate figures.
struct SourceStats {
  uint64_t epochs = 0;
  uint64_t dirty_pages = 0;    // pages handed out, over all epochs
  uint64_t bytes_read = 0;     // bytes read from the medium (file, process, domain)
  double capture_seconds = 0;  // time spent inside next(), not counting interval waits
  double stopped_seconds = 0;  // time the workload was stopped or suspended
};

class DirtySource {
 public:
  virtual ~DirtySource() = default;
  DirtySource() = default;
  DirtySource(const DirtySource&) = delete;
  DirtySource& operator=(const DirtySource&) = delete;

  // Pfns are below this; fixed for the life of the source.
  virtual uint64_t tracked_pages() const = 0;
  // One line: what the source reads and how (e.g. the dirty-tracking method).
  virtual std::string description() const = 0;
  // Produces the next epoch into `epoch` or says why there is none in `message`.
  virtual Next next(Epoch& epoch, std::string& message) = 0;

  const SourceStats& stats() const { return stats_; }

 protected:
  SourceStats stats_;
};

struct SourceSpec;
class SpecOptions;

// A kind of source defined outside adapters/: its name and how to open it
// from a parsed spec (spec.hpp), reading its own options and rejecting
// unknown ones; nullptr with `error` set when it cannot be opened.
struct SourceKind {
  std::string name;
  std::function<std::unique_ptr<DirtySource>(const SourceSpec&, SpecOptions&, std::string&)> open;
};

// Opens a source from a spec (see above), of the built-in kinds or those in
// `more`. Returns nullptr with `error` set when the spec is malformed or the
// source cannot be opened.
std::unique_ptr<DirtySource> open_source(std::string_view spec, std::string& error,
                                         std::span<const SourceKind> more = {});

// The kinds open_source() accepts in this build ("trace", "images", "pid",
// "xen"), then those in `more`.
std::string source_kinds(std::span<const SourceKind> more = {});

}  // namespace fgbi::adapters
