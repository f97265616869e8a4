// `fgbi-engine capture`: record a live Linux process into a trace file and
// report the capture rate.
#include "capture_command.hpp"

#include <memory>
#include <optional>
#include <string>

#include "option_checks.hpp"
#include "option_groups.hpp"
#include "source.hpp"
#include "trace_command.hpp"

namespace fgbi::cli {
namespace {

struct CaptureOptions {
  uint64_t pid = 0;
  uint64_t interval_ms = 100;
  uint64_t epochs = 10;
  std::optional<uint64_t> max_pages;  // absent: the adapter sizes it
  std::string stop = "auto";
  std::string dirty = "auto";
  std::string read = "auto";
  RecordOptions record;
};

int run_capture(CaptureOptions& opt) {
  RecordOptions& r = opt.record;
  r.tool = "capture";
  r.source = "pid:" + std::to_string(opt.pid);
  r.source += ",interval=" + std::to_string(opt.interval_ms);
  r.source += ",epochs=" + std::to_string(opt.epochs);
  r.source += ",stop=" + opt.stop;
  r.source += ",dirty=" + opt.dirty;
  r.source += ",read=" + opt.read;
  if (opt.max_pages) r.source += ",max-pages=" + std::to_string(*opt.max_pages);
  r.expected_epochs = opt.epochs;
  return record_trace(r);
}

}  // namespace

void add_capture_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<CaptureOptions>();
  CLI::App* cmd = app.add_subcommand(
      "capture",
      "Capture a live Linux process into a trace: every interval, stop it (ptrace or SIGSTOP), "
      "copy the writable private pages that changed (soft-dirty bits where the kernel keeps "
      "them, else content comparison; it says which) from /proc/PID/mem, and let it run. Epoch 1 "
      "holds every page. Reports the capture rate. Needs ptrace access to the process (same "
      "user and Yama ptrace_scope 0, or CAP_SYS_PTRACE). Ctrl-C stops after the current epoch.");
  cmd->add_option("--pid", opt->pid, "Process to capture")
      ->required()
      ->check(whole_number(1, uint64_t{1} << 22));  // Linux pid_max at most
  cmd->add_option("--interval", opt->interval_ms,
                  "Milliseconds between epoch starts (0: back to back)")
      ->capture_default_str()
      ->check(whole_number(0, 3600000));
  cmd->add_option("--epochs", opt->epochs, "Epochs to capture (0: until the process exits)")
      ->capture_default_str()
      ->check(whole_number(0, 1000000000));
  cmd->add_option("-o,--output", opt->record.output, "Trace file to write")
      ->required()
      ->check(non_empty());
  cmd->add_option("--stop", opt->stop, "How to stop the process during a copy")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "ptrace", "signal", "none"}));
  cmd->add_option("--dirty", opt->dirty, "How to find dirty pages")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "soft-dirty", "compare"}));
  cmd->add_option("--read", opt->read,
                  "How to copy memory: process_vm_readv (vm), /proc/PID/mem (mem), or auto")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "vm", "mem"}));
  cmd->add_option("--max-pages", opt->max_pages,
                  "Tracked pages, bounding the pfn space (default: mapped pages + 25% + 16384)")
      ->check(whole_number(1, adapters::kMaxTrackedPages));
  cmd->add_option("--codec", opt->record.codec, "Chunk compression: zstd, lz4 or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"zstd", "lz4", "none"}));
  cmd->add_option("--level", opt->record.level, "zstd level")
      ->capture_default_str()
      ->check(whole_number(1, 19));
  add_output_options(cmd, opt->record.json);
  cmd->callback([opt, &exit_code] { exit_code = run_capture(*opt); });
}

}  // namespace fgbi::cli
