// Runs the fgbi-engine binary for the CLI tests. Header-only: the including
// test target defines FGBI_ENGINE_PATH (tests/CMakeLists.txt).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace fgbi::test {

struct EngineRun {
  int status = -1;  // exit status; 128 + N when killed by signal N
  std::string output;
};

// Runs `fgbi-engine args` (shell words) with stdin closed, under a guard
// that kills a hung command (status 137). With merge_stderr false, stderr
// is dropped so that --json output parses.
inline EngineRun run_engine(const std::string& args, bool merge_stderr = true,
                            int timeout_s = 300) {
  const std::string command = "timeout -s KILL " + std::to_string(timeout_s) + " " +
                              std::string(FGBI_ENGINE_PATH) + " " + args +
                              (merge_stderr ? " 2>&1" : " 2>/dev/null") + " </dev/null";
  EngineRun r;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace fgbi::test
