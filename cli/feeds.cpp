#include "feeds.hpp"

#include <cstdio>
#include <new>

#include "option_checks.hpp"
#include "sources.hpp"

namespace fgbi::cli {

int for_each_feed(const char* command, const std::string& source,
                  const std::vector<std::string>& workloads, const ModelFor& model_for,
                  const RunFeed& run) {
  try {
    if (!source.empty()) {
      std::string error;
      eval::OpenedSource opened = eval::open_source(source, error);
      if (!opened.source) {
        std::fprintf(stderr, "fgbi-engine %s: --source %s: %s\n", command, source.c_str(),
                     error.c_str());
        return kExitUsage;
      }
      eval::EpochFeed feed(source, std::move(opened.source), std::move(opened.model));
      run(feed, "");
      return 0;
    }
    for (const auto& name : workloads) {
      std::string about;
      const eval::WorkloadModel model = model_for(name, &about);
      if (std::string why = eval::validate(model); !why.empty()) {
        std::fprintf(stderr, "fgbi-engine %s: workload %s: %s\n", command, name.c_str(),
                     why.c_str());
        return kExitUsage;
      }
      eval::EpochFeed feed(model.name, eval::make_synthetic_source(model), model);
      run(feed, about);
    }
  } catch (const eval::SchemeError& e) {
    std::fprintf(stderr, "fgbi-engine %s: %s\n", command, e.what.c_str());
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    // The pages of the workload and every cache of every scheme share the
    // machine's memory: name all of them, not only the pages.
    std::fprintf(stderr,
                 "fgbi-engine %s: out of memory: the tracked pages and the schemes' caches do "
                 "not fit in this machine's memory (try fewer --pages, or a smaller "
                 "--cache-mib, --index-mib or --xc-cache-mib where the command has them)\n",
                 command);
    return kExitFailure;
  }
  return 0;
}

}  // namespace fgbi::cli
