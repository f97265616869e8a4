#include "source.hpp"

#include <chrono>
#include <thread>

#include "images/image_source.hpp"
#include "process/process_source.hpp"
#include "spec.hpp"
#include "trace/reader.hpp"
#include "xen/xen_source.hpp"

namespace fgbi::adapters {
namespace {

using Clock = std::chrono::steady_clock;

// Applies the options every kind shares: at most `max_epochs` epochs (0 = no
// limit), started at least `interval` apart.
class PacedSource final : public DirtySource {
 public:
  PacedSource(std::unique_ptr<DirtySource> inner, uint64_t max_epochs,
              std::chrono::milliseconds interval)
      : inner_(std::move(inner)), max_epochs_(max_epochs), interval_(interval) {}

  uint64_t tracked_pages() const override { return inner_->tracked_pages(); }
  std::string description() const override {
    std::string d = inner_->description();
    if (interval_.count() > 0) d += ", an epoch every " + std::to_string(interval_.count()) + " ms";
    if (max_epochs_ > 0) d += ", at most " + std::to_string(max_epochs_) + " epochs";
    return d;
  }
  Next next(Epoch& epoch, std::string& message) override {
    if (max_epochs_ > 0 && produced_ >= max_epochs_) {
      message = "epoch limit of " + std::to_string(max_epochs_) + " reached";
      return Next::kEnd;
    }
    if (produced_ > 0 && interval_.count() > 0) {
      // Starts at least `interval` apart: an epoch that overran is followed
      // at once, not by a burst of catch-up epochs.
      const auto due = last_start_ + interval_;
      if (Clock::now() < due) std::this_thread::sleep_until(due);
    }
    last_start_ = Clock::now();
    const Next result = inner_->next(epoch, message);
    if (result == Next::kEpoch) ++produced_;
    stats_ = inner_->stats();
    return result;
  }

 private:
  std::unique_ptr<DirtySource> inner_;
  uint64_t max_epochs_;
  std::chrono::milliseconds interval_;
  uint64_t produced_ = 0;
  Clock::time_point last_start_;
};

std::unique_ptr<DirtySource> open_kind(const SourceSpec& spec, SpecOptions& options,
                                       std::span<const SourceKind> more, std::string& error) {
  // Each kind reads its own options and rejects unknown ones before it
  // touches the file, process or domain.
  if (spec.kind == "trace") {
    if (!options.all_used(error)) return nullptr;
    if (spec.values.size() != 1) {
      error = "trace: takes one file";
      return nullptr;
    }
    auto reader = trace::TraceReader::open(spec.values[0], error);
    if (!reader) return nullptr;
    return std::make_unique<trace::TraceSource>(std::move(reader));
  }
  if (spec.kind == "images") {
    if (!options.all_used(error)) return nullptr;
    std::vector<std::string> files;
    if (!images::expand_image_list(spec.values, files, error)) return nullptr;
    return images::ImageSource::open(std::move(files), error);
  }
  if (spec.kind == "pid") return process::open_process_source(spec, options, error);
  if (spec.kind == "xen") return xen::open_xen_source(spec, options, error);
  for (const SourceKind& kind : more)
    if (spec.kind == kind.name) return kind.open(spec, options, error);
  error = "unknown source kind \"" + spec.kind + "\" (known: " + source_kinds(more) + ")";
  return nullptr;
}

}  // namespace

std::string source_kinds(std::span<const SourceKind> more) {
  std::string kinds = std::string("trace, images, pid") + (xen::kAvailable ? ", xen" : "");
  for (const SourceKind& kind : more) kinds += ", " + kind.name;
  return kinds;
}

std::unique_ptr<DirtySource> open_source(std::string_view text, std::string& error,
                                         std::span<const SourceKind> more) {
  SourceSpec spec;
  if (!parse_spec(text, spec, error)) return nullptr;
  SpecOptions options(spec);
  const bool live = spec.kind == "pid" || spec.kind == "xen";
  uint64_t epochs = 0, interval_ms = 0;
  if (!options.get_uint("epochs", 0, 0, UINT64_MAX, epochs, error) ||
      !options.get_uint("interval", live ? 100 : 0, 0, 3'600'000, interval_ms, error))
    return nullptr;
  auto source = open_kind(spec, options, more, error);
  if (!source) return nullptr;
  return std::make_unique<PacedSource>(std::move(source), epochs,
                                       std::chrono::milliseconds(interval_ms));
}

}  // namespace fgbi::adapters
