// `fgbi-engine remus-tx` and `fgbi-engine remus-rx`: the stream proxy pair
// for `xl remus` (docs/adapters.md, "fgbi under unmodified xl remus"). Each
// rewrites its stdin into its stdout, or into the stdin of a command it runs
// (`-- CMD...`), whose stdout it then copies to its own stdout unchanged:
// that is the back channel from `xl migrate-receive` to `xl remus`.
#include "remus_proxy_command.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "json.hpp"
#include "option_checks.hpp"
#include "posix/fd.hpp"
#include "proxy.hpp"

namespace fgbi::cli {
namespace {

struct ProxyCommandOptions {
  uint64_t max_pages = 262144;
  uint64_t threads = 1;
  bool json = false;
  bool verbose = false;
  std::vector<std::string> command;
};

// The command after `--`, with its stdin and stdout as pipes.
struct Child {
  pid_t pid = -1;
  posix::Fd to;    // its stdin
  posix::Fd from;  // its stdout
};

bool start_child(const char* name, const std::vector<std::string>& command, Child* child) {
  int in[2], out[2];
  if (::pipe(in) != 0) return false;
  if (::pipe(out) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return false;
  }
  std::vector<char*> argv;
  for (const std::string& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);  // the proxy ignores it; the command gets the default
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "fgbi-engine %s: cannot run %s: %s\n", name, argv[0],
                 posix::errno_text(errno).c_str());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  child->to.reset(in[1]);
  child->from.reset(out[0]);
  if (pid < 0) return false;
  child->pid = pid;
  return true;
}

// Copies from -> to until end of file; once `to` fails, reads on and drops
// what comes, so that the command never blocks on a full pipe.
void copy_back(int from, int to) {
  std::vector<uint8_t> buf(64 << 10);
  bool writing = true;
  for (;;) {
    const ssize_t n = ::read(from, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (writing) writing = posix::write_full(to, buf.data(), static_cast<size_t>(n));
  }
}

Json bytes_json(const xlstream::CheckpointBytes& c) {
  return Json{{"stream_in", c.stream_in},
              {"stream_out", c.stream_out},
              {"pages", c.pages},
              {"page_data_xl", c.page_data_xl},
              {"page_data_link", c.page_data_link}};
}

// One line for checkpoint i (-v prints each as it is forwarded).
void print_checkpoint(const char* name, const xlstream::CheckpointBytes& c, size_t i) {
  std::fprintf(stderr,
               "fgbi-engine %s: checkpoint %zu: %llu bytes in, %llu out; %llu pages: PAGE_DATA "
               "%llu bytes from xl, %llu on the link\n",
               name, i, static_cast<unsigned long long>(c.stream_in),
               static_cast<unsigned long long>(c.stream_out),
               static_cast<unsigned long long>(c.pages),
               static_cast<unsigned long long>(c.page_data_xl),
               static_cast<unsigned long long>(c.page_data_link));
}

void report(const char* name, const ProxyCommandOptions& opt, const xlstream::Rewriter& rw,
            bool ok) {
  const auto& cps = rw.checkpoints();
  xlstream::CheckpointBytes total;
  for (const auto& c : cps) {
    total.stream_in += c.stream_in;
    total.stream_out += c.stream_out;
    total.pages += c.pages;
    total.page_data_xl += c.page_data_xl;
    total.page_data_link += c.page_data_link;
  }
  if (opt.json) {
    Json j{{"command", name},
           {"ok", ok},
           {"error", rw.error()},
           {"checkpoints_forwarded", rw.committed_checkpoints()},
           {"total", bytes_json(total)}};
    // The last entry is the checkpoint in progress when the stream ended:
    // empty after END or a cut between checkpoints, else not forwarded.
    Json list = Json::array();
    for (size_t i = 0; i < cps.size(); ++i) {
      Json c{{"checkpoint", i}, {"forwarded", i < rw.committed_checkpoints()}};
      c.update(bytes_json(cps[i]));
      list.push_back(c);
    }
    j["checkpoints"] = list;
    std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    return;
  }
  std::fprintf(stderr,
               "fgbi-engine %s: %llu checkpoints forwarded whole; %llu bytes in, %llu out; "
               "PAGE_DATA %llu bytes from xl, %llu on the link\n",
               name, static_cast<unsigned long long>(rw.committed_checkpoints()),
               static_cast<unsigned long long>(total.stream_in),
               static_cast<unsigned long long>(total.stream_out),
               static_cast<unsigned long long>(total.page_data_xl),
               static_cast<unsigned long long>(total.page_data_link));
}

int run_proxy(const char* name, const ProxyCommandOptions& opt, xlstream::Rewriter& rw) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed output is a write error, reported
  Child child;
  std::thread back;
  int out = 1;
  if (!opt.command.empty()) {
    if (!start_child(name, opt.command, &child)) {
      std::fprintf(stderr, "fgbi-engine %s: cannot start %s: %s\n", name, opt.command[0].c_str(),
                   posix::errno_text(errno).c_str());
      return kExitFailure;
    }
    out = child.to.get();
    back = std::thread(copy_back, child.from.get(), 1);
  }
  bool ok = rw.error().empty();
  std::string io_error;
  std::vector<uint8_t> buf(1 << 20);
  size_t printed = 0;
  while (ok) {
    const ssize_t n = ::read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      io_error = "reading the stream: " + posix::errno_text(errno);
      break;
    }
    ok = n == 0 ? rw.finish() : rw.feed({buf.data(), static_cast<size_t>(n)});
    auto& ready = rw.ready();
    if (!ready.empty() && !posix::write_full(out, ready.data(), ready.size())) {
      io_error = "writing the stream: " + posix::errno_text(errno);
      break;
    }
    ready.clear();
    for (; opt.verbose && printed < rw.committed_checkpoints(); ++printed)
      print_checkpoint(name, rw.checkpoints()[printed], printed);
    if (n == 0) break;
  }
  int status = ok && io_error.empty() ? kExitOk : kExitFailure;
  if (!rw.error().empty())
    std::fprintf(stderr, "fgbi-engine %s: error: %s\n", name, rw.error().c_str());
  if (!io_error.empty())
    std::fprintf(stderr, "fgbi-engine %s: error: %s\n", name, io_error.c_str());
  if (child.pid > 0) {
    child.to.close();  // the command sees the end of its stream
    back.join();
    int st = 0;
    while (::waitpid(child.pid, &st, 0) < 0 && errno == EINTR) {
    }
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0) {
      std::fprintf(stderr, "fgbi-engine %s: %s exited with status %d\n", name,
                   opt.command[0].c_str(), code);
      if (status == kExitOk) status = kExitFailure;
    }
  }
  report(name, opt, rw, status == kExitOk);
  return status;
}

void add_common_options(CLI::App* cmd, ProxyCommandOptions& opt, const char* pages_help) {
  cmd->add_option("--max-pages", opt.max_pages, pages_help)
      ->capture_default_str()
      ->check(whole_number(1, uint64_t{1} << 28));
  cmd->add_flag("-v,--verbose", opt.verbose,
                "Report the bytes of every checkpoint on stderr as it is forwarded");
  cmd->add_flag("--json", opt.json,
                "Report as one JSON object on stderr (stdout carries the stream): totals and "
                "the bytes of every checkpoint");
  cmd->add_option("command", opt.command,
                  "Command to run after `--`: the proxy writes the stream into its stdin and "
                  "copies its stdout to the proxy's stdout unchanged (the back channel). "
                  "Without one, the proxy writes to stdout.");
  cmd->footer(
      "Exit status: 0 the stream ended whole (END, or cut between checkpoints, as when the "
      "primary fails); 1 a malformed stream, a cut inside a checkpoint (nothing of it is "
      "forwarded), an I/O error or a command that failed; 2 bad arguments.");
}

}  // namespace

void add_remus_proxy_commands(CLI::App& app, int& exit_code) {
  auto tx = std::make_shared<ProxyCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "remus-tx",
      "Sending half of the proxy pair for an unmodified `xl remus`: reads xl's migration stream "
      "on stdin (xl's header, the libxl and libxc streams), passes every record through but "
      "PAGE_DATA, whose pages it sends as fgbi epochs against the pages remus-rx holds, and "
      "writes this link to stdout or to a command. Use it as xl's transport: xl remus -s '' DOM "
      "\"fgbi-engine remus-tx -- ssh BACKUP fgbi-engine remus-rx -- xl migrate-receive -r\". "
      "Once the first CHECKPOINT is past it forwards each checkpoint whole or not at all.");
  add_common_options(cmd, *tx,
                     "Guest pages the proxy can track (the guest's RAM pages and its special "
                     "pages); remus-rx must allow at least as many");
  cmd->add_option("--threads", tx->threads, "Threads that encode an epoch")
      ->capture_default_str()
      ->check(whole_number(1, 256));
  cmd->callback([tx, &exit_code] {
    xlstream::ProxyOptions options;
    options.max_pages = tx->max_pages;
    options.threads = static_cast<int>(tx->threads);
    xlstream::RemusTx rewriter(options);
    exit_code = run_proxy("remus-tx", *tx, rewriter);
  });

  auto rx = std::make_shared<ProxyCommandOptions>();
  cmd = app.add_subcommand(
      "remus-rx",
      "Receiving half of the proxy pair: reads what remus-tx writes on stdin, keeps its own copy "
      "of the guest's pages, rebuilds xl's stream byte for byte and writes it to stdout or to a "
      "command, normally `xl migrate-receive -r`, whose output goes back to stdout. Each "
      "checkpoint after the first CHECKPOINT reaches the command whole or not at all.");
  add_common_options(cmd, *rx,
                     "Most guest pages a link may announce (it reserves that much memory, "
                     "touched only where pages arrive)");
  cmd->callback([rx, &exit_code] {
    xlstream::RemusRx rewriter(rx->max_pages);
    exit_code = run_proxy("remus-rx", *rx, rewriter);
  });
}

}  // namespace fgbi::cli
