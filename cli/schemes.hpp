// The schemes `fgbi-engine bench` can compare, by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::cli {

struct SchemeConfig {
  bench::FgbiSchemeOptions fgbi;  // tracked pages and fgbi's settings
  std::string backend = "auto";   // auto, scalar, simd, cuda or all
  size_t xbzrle_cache_bytes = size_t{64} << 20;
  size_t xc_cache_bytes = size_t{32} << 20;
};

// fgbi, fgbi-plain (sharing and codecs off), then the peers.
std::vector<std::string> all_scheme_names();

// Builds the named schemes. "fgbi" and "fgbi-plain" become one scheme per
// backend when the backend is "all" (those present on this machine).
// Throws bench::SchemeError for a backend that is not available.
std::vector<std::unique_ptr<bench::Scheme>> make_schemes(const std::vector<std::string>& names,
                                                         const SchemeConfig& config);

}  // namespace fgbi::cli
