// Self-contained HTML reports of a bench or downtime run: tables and inline
// SVG bar charts, no scripts and nothing fetched from the network.
#pragma once

#include <string>
#include <vector>

#include "downtime_model.hpp"
#include "evaluation.hpp"

namespace fgbi::cli {

// Writes the report; false with *error set when the file cannot be written.
bool write_html_report(const std::string& path, const std::vector<bench::WorkloadResult>& results,
                       double link_gbps, std::string* error);

// The same for `fgbi-engine downtime`; `setup` is a sentence on the model's
// parameters. False with *error set when the file cannot be written.
bool write_downtime_report(const std::string& path,
                           const std::vector<bench::downtime::WorkloadDowntime>& results,
                           const std::string& setup, std::string* error);

}  // namespace fgbi::cli
