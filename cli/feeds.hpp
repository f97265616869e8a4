// What `bench` and `downtime` replicate: an adapter's feed (--source) or the
// synthetic workloads, with the same errors and exit statuses for both.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::cli {

using ModelFor = std::function<eval::WorkloadModel(const std::string& name, std::string* about)>;
using RunFeed = std::function<void(eval::EpochFeed& feed, const std::string& about)>;

// Runs `run` on the feed of `source` when it is not empty, else on each named
// workload (built by model_for, then validated). Problems are printed as
// "fgbi-engine COMMAND: ..." and give the exit status: 2 for a source or
// workload that cannot be used, 1 for a failure while running, else 0.
int for_each_feed(const char* command, const std::string& source,
                  const std::vector<std::string>& workloads, const ModelFor& model_for,
                  const RunFeed& run);

}  // namespace fgbi::cli
