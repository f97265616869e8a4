#include "sources.hpp"

#include <vector>

#include "spec.hpp"

namespace fgbi::eval {
namespace {

class SyntheticSource final : public adapters::DirtySource {
 public:
  explicit SyntheticSource(const WorkloadModel& model) : workload_(model) {}

  uint64_t tracked_pages() const override { return workload_.model().tracked_pages; }
  std::string description() const override {
    const WorkloadModel& m = workload_.model();
    return "synthetic workload " + m.name + ": " + std::to_string(m.dirty_pages) +
           " dirty pages per epoch from a working set of " + std::to_string(m.working_set_pages);
  }
  adapters::Next next(adapters::Epoch& epoch, std::string&) override {
    if (stats_.epochs == 0) {
      pfns_.resize(tracked_pages());
      for (uint64_t i = 0; i < pfns_.size(); ++i) pfns_[i] = i;
    } else {
      pfns_ = workload_.next_epoch();
    }
    pages_.resize(pfns_.size());
    for (size_t i = 0; i < pfns_.size(); ++i) pages_[i] = workload_.page(pfns_[i]);
    epoch.number = ++stats_.epochs;
    epoch.pfns = pfns_;
    epoch.pages = pages_;
    stats_.dirty_pages += pfns_.size();
    return adapters::Next::kEpoch;
  }

 private:
  SyntheticWorkload workload_;
  std::vector<uint64_t> pfns_;
  std::vector<const void*> pages_;
};

// The preset a "synthetic:NAME,..." spec names, with its overrides.
bool synthetic_model(const adapters::SourceSpec& spec, adapters::SpecOptions& options,
                     WorkloadModel& model, std::string& error) {
  if (spec.values.size() != 1 || !find_preset(spec.values[0])) {
    std::string names;
    for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
    error = "synthetic: takes one workload of " + names;
    return false;
  }
  constexpr uint64_t kMaxPages = uint64_t{1} << 26;
  WorkloadOverrides o;
  if (!options.get_uint("pages", 1, kMaxPages, o.pages, error) ||
      !options.get_uint("working-set", 1, kMaxPages, o.working_set, error) ||
      !options.get_uint("dirty", 0, kMaxPages, o.dirty, error) ||
      !options.get_uint("seed", 0, UINT64_MAX, o.seed, error) || !options.all_used(error))
    return false;
  model = o.preset(spec.values[0]);
  error = validate(model);
  return error.empty();
}

}  // namespace

std::unique_ptr<adapters::DirtySource> make_synthetic_source(const WorkloadModel& model) {
  return std::make_unique<SyntheticSource>(model);
}

OpenedSource open_source(std::string_view spec, std::string& error) {
  OpenedSource opened;
  const adapters::SourceKind synthetic{
      "synthetic",
      [&opened](const adapters::SourceSpec& s, adapters::SpecOptions& options,
                std::string& why) -> std::unique_ptr<adapters::DirtySource> {
        WorkloadModel model;
        if (!synthetic_model(s, options, model, why)) return nullptr;
        opened.model = model;
        return make_synthetic_source(model);
      }};
  opened.source = adapters::open_source(spec, error, {&synthetic, 1});
  if (!opened.source) opened.model.reset();
  return opened;
}

std::string source_kinds() { return adapters::source_kinds({}) + ", synthetic"; }

}  // namespace fgbi::eval
