// Self-contained HTML reports of a bench or downtime run: tables and inline
// SVG charts, no scripts and nothing fetched from the network.
#pragma once

#include <string>
#include <vector>

#include "downtime_model.hpp"
#include "evaluation.hpp"
#include "machine.hpp"

namespace fgbi::cli {

// Writes the bench report: a summary of fgbi against the best alternative,
// then per workload a chart of time-to-ship against link speed and the
// figures at each of `links` (ascending, the run's --link-gbps), on
// `machine`. False with *error set when the file cannot be written.
bool write_html_report(const std::string& path, const std::vector<eval::WorkloadResult>& results,
                       const std::vector<double>& links, const eval::MachineInfo& machine,
                       std::string* error);

// The same for `fgbi-engine downtime`; `setup` is a sentence on the model's
// parameters. False with *error set when the file cannot be written.
bool write_downtime_report(const std::string& path,
                           const std::vector<eval::downtime::WorkloadDowntime>& results,
                           const std::string& setup, std::string* error);

}  // namespace fgbi::cli
