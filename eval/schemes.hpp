// The schemes `fgbi-engine bench` can compare, by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::eval {

struct SchemeConfig {
  FgbiSchemeOptions fgbi;        // tracked pages and fgbi's settings
  std::string backend = "auto";  // auto, scalar, simd, cuda or all
  size_t xbzrle_cache_bytes = size_t{64} << 20;
  size_t xc_cache_bytes = size_t{32} << 20;
};

// fgbi, fgbi-plain (sharing and codecs off), then the peers.
std::vector<std::string> all_scheme_names();

// Builds the named schemes. "fgbi" and "fgbi-plain" become one scheme per
// backend when the backend is "all" (those present on this machine).
// Throws SchemeError for a backend that is not available.
std::vector<std::unique_ptr<Scheme>> make_schemes(const std::vector<std::string>& names,
                                                  const SchemeConfig& config);

// Whether the named scheme chooses its encoding for the link speed (fgbi's
// cost model does), so that bench runs it once per speed of --link-gbps.
bool tuned_to_link(const std::string& name);

// Whether the name is fgbi with sharing and codecs (not fgbi-plain), on any
// backend.
bool is_full_fgbi(const std::string& name);

// Issue 13's never-lose target: a full fgbi scheme against the best of the
// alternatives it names, fgbi-plain, remus-full and xbzrle (those that ran),
// at one link speed. Time-to-ship is the median modelled commit latency.
struct Versus {
  const SchemeResult* fgbi = nullptr;
  const SchemeResult* fastest = nullptr;   // the lowest time-to-ship
  const SchemeResult* smallest = nullptr;  // the fewest wire bytes
  double fgbi_ms = 0, fastest_ms = 0;
  double time_ratio() const { return fgbi_ms / fastest_ms; }
  double bytes_ratio() const {
    return static_cast<double>(fgbi->steady.wire_bytes) /
           static_cast<double>(smallest->steady.wire_bytes);
  }
};

// One Versus per full fgbi scheme among `schemes` (one per backend with
// --backend all); none when no fgbi or no alternative ran.
std::vector<Versus> versus_alternatives(const std::vector<const SchemeResult*>& schemes,
                                        double link_gbps);
// "fgbi-plain, remus-full, xbzrle": the alternatives, for captions.
const char* alternatives_text();

}  // namespace fgbi::eval
