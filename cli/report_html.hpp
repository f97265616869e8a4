// A self-contained HTML report of a bench run: tables and inline SVG bar
// charts, no scripts and nothing fetched from the network.
#pragma once

#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::cli {

// Writes the report; false with *error set when the file cannot be written.
bool write_html_report(const std::string& path, const std::vector<bench::WorkloadResult>& results,
                       double link_gbps, std::string* error);

}  // namespace fgbi::cli
