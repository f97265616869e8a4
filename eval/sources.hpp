// The dirty sources every command replicates: the adapters' kinds
// (adapters/source.hpp) and the synthetic workloads of workload.hpp as one
// more kind, "synthetic:NAME[,KEY=VALUE...]" with NAME a preset of
// docs/workloads.md and, besides the options of every kind (epochs=K,
// interval=MS), overrides of the preset: pages=N dirty=N working-set=N seed=N.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "source.hpp"
#include "workload.hpp"

namespace fgbi::eval {

// A synthetic workload as a dirty source: epoch 1 carries every tracked
// page, each later epoch the pages the model dirtied; it never ends.
// The model must be valid (validate()).
std::unique_ptr<adapters::DirtySource> make_synthetic_source(const WorkloadModel& model);

struct OpenedSource {
  std::unique_ptr<adapters::DirtySource> source;  // nullptr when it could not be opened
  std::optional<WorkloadModel> model;             // for a synthetic source
};
// adapters::open_source() with the synthetic kind added; `error` says why
// when the source is nullptr.
OpenedSource open_source(std::string_view spec, std::string& error);
// The kinds open_source() accepts in this build.
std::string source_kinds();

}  // namespace fgbi::eval
