// Epochs from an adapter (adapters/source.hpp) for `bench --source`: a
// recorded trace, memory images, a live process or a Xen domain.
#pragma once

#include <memory>
#include <string>

#include "evaluation.hpp"

namespace fgbi::cli {

// Opens the source; nullptr with `error` set if it cannot be opened. The
// feed keeps a copy of every page it hands out, so the replicas can be
// checked against the primary as the epochs left it.
std::unique_ptr<bench::EpochFeed> open_source_feed(const std::string& spec, std::string& error);

}  // namespace fgbi::cli
