#include "option_groups.hpp"

#include <algorithm>
#include <sstream>

#include "option_checks.hpp"
#include "sources.hpp"

namespace fgbi::cli {

CLI::Validator name_list(std::vector<std::string> names, bool allow_none) {
  std::string allowed = allow_none ? "all, none" : "all";
  for (const auto& n : names) allowed += ", " + n;
  return CLI::Validator(
      [names, allowed, allow_none](std::string& text) -> std::string {
        if (text == "all" || (allow_none && text == "none")) return {};
        std::stringstream list(text);
        for (std::string item; std::getline(list, item, ',');)
          if (std::find(names.begin(), names.end(), item) == names.end())
            return "'" + item + "' is not one of: " + allowed;
        return {};
      },
      "LIST");
}

CLI::Option* add_name_list(CLI::App* cmd, const std::string& option, std::vector<std::string>& into,
                           const std::vector<std::string>& names, const std::string& help) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
  return cmd->add_option(option, into, help + ": all or a comma list of " + list)
      ->delimiter(',')
      ->check(name_list(names, false));
}

std::vector<std::string> expand_names(const std::vector<std::string>& asked,
                                      const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& item : asked)
    for (const auto& name : item == "all" ? names : std::vector<std::string>{item})
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  return out;
}

void add_source_option(CLI::App* cmd, std::string& source, const std::string& instead) {
  cmd->add_option("--source", source,
                  "Replicate a dirty source instead of " + instead +
                      ": synthetic:NAME (docs/workloads.md), trace:FILE, images:GLOB, pid:N or "
                      "xen:DOMID, each with comma-separated options (docs/adapters.md); kinds in "
                      "this build: " +
                      eval::source_kinds())
      ->check(non_empty());
}

void add_workload_overrides(CLI::App* cmd, eval::WorkloadOverrides& o, Overrides which,
                            uint64_t min_pages) {
  constexpr uint64_t kMaxPages = uint64_t{1} << 26;
  cmd->add_option("--pages", o.pages, "Override: tracked memory in 4 KiB pages")
      ->check(whole_number(min_pages, kMaxPages));
  if (which == Overrides::kSizesAndEdits) {
    cmd->add_option("--dirty", o.dirty, "Override: pages dirtied per epoch")
        ->check(whole_number(0, kMaxPages));
    cmd->add_option("--working-set", o.working_set, "Override: pages the dirty pages come from")
        ->check(whole_number(1, kMaxPages));
    // More than 256 edits of a 4 KiB page (4 per 64-byte block) is a
    // rewritten page; the unbounded geometric draw would also run for hours.
    cmd->add_option("--edits", o.edits, "Override: mean edits per edited page (1-256)")
        ->check(real_number(1, 256));
    cmd->add_option("--edit-bytes", o.edit_bytes, "Override: mean bytes per edit (1-2048)")
        ->check(whole_number(1, 2048));
    cmd->add_option("--zero-share", o.zero_share, "Override: share of edits zeroing a block")
        ->check(real_number(0, 1));
    cmd->add_option("--unchanged-share", o.unchanged_share,
                    "Override: share of dirty pages rewritten identically")
        ->check(real_number(0, 1));
  }
  cmd->add_option("--seed", o.seed, "Override: workload random seed")
      ->check(whole_number(0, UINT64_MAX));
}

void add_output_options(CLI::App* cmd, bool& json, std::string* report,
                        const std::string& report_help) {
  cmd->add_flag("--json", json, "Print the figures as one JSON object on stdout");
  if (report) cmd->add_option("--report", *report, report_help);
}

}  // namespace fgbi::cli
