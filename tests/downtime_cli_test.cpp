// `fgbi-engine downtime` as a process: every scheme modelled on one run, as
// text, JSON and an HTML report, the paper's testbed preset, and clear
// refusals of settings it cannot model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "net_harness.hpp"
#include "support/engine_cli.hpp"

namespace fgbi::test {
namespace {

using Outcome = EngineRun;

// stderr into stdout, unless only stdout is asked for (--json).
Outcome engine(const std::string& args, bool with_stderr = true) {
  return run_engine(args, with_stderr);
}

// The object of `scheme` in the first workload of downtime's --json output.
const nlohmann::json& scheme_of(const nlohmann::json& doc, const std::string& scheme) {
  for (const nlohmann::json& s : doc.at("workloads").at(0).at("schemes"))
    if (s.at("name") == scheme) return s;
  throw std::out_of_range("no scheme " + scheme);
}

double scheme_field(const nlohmann::json& doc, const std::string& scheme, const std::string& key) {
  return scheme_of(doc, scheme).at(key).get<double>();
}

double median_of(const nlohmann::json& doc, const std::string& scheme, const std::string& key) {
  return scheme_of(doc, scheme).at(key).at("median").get<double>();
}

TEST(DowntimeCli, ModelsEverySchemeAsJsonAndHtml) {
  net::TempDir dir;
  const std::string report = dir.file("downtime.html");
  const Outcome r = engine(
      "downtime --workload specweb --pages 4096 --epochs 40 --llm-memory-ms 500 --detect-ms 200 "
      "--json --report " +
          report,
      false);
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json doc = nlohmann::json::parse(r.output);
  for (const char* scheme : {"remus", "llm", "fgbi-paper", "fgbi", "xbzrle"})
    EXPECT_NO_THROW(scheme_of(doc, scheme)) << scheme;
  // LLM checkpoints memory every 10 epochs: 4 checkpoints.
  EXPECT_EQ(scheme_field(doc, "llm", "epochs_per_checkpoint"), 10);
  EXPECT_EQ(scheme_field(doc, "llm", "checkpoints"), 4);
  EXPECT_EQ(scheme_field(doc, "remus", "checkpoints"), 40);
  // Ten epochs of dirty pages in one pause cost LLM more than Remus's one.
  EXPECT_GT(median_of(doc, "llm", "type2_ms"), median_of(doc, "remus", "type2_ms"));
  // Changed blocks instead of whole pages.
  EXPECT_LT(scheme_field(doc, "fgbi-paper", "wire_bytes_per_epoch"),
            scheme_field(doc, "remus", "wire_bytes_per_epoch") / 2);
  // Type I is at least the detection time.
  for (const char* scheme : {"remus", "llm", "fgbi-paper", "fgbi", "xbzrle"})
    EXPECT_GE(median_of(doc, scheme, "type1_ms"), 200) << scheme;
  std::ifstream in(report);
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_NE(html.str().find("Type I downtime, median"), std::string::npos);
  EXPECT_NE(html.str().find("<svg"), std::string::npos);
  EXPECT_NE(html.str().find(">fgbi-paper<"), std::string::npos);
}

TEST(DowntimeCli, PaperTestbedCarries25000PagesPerSecond) {
  const Outcome r = engine(
      "downtime --testbed paper --workload apache --schemes remus,fgbi-paper --pages 4096 "
      "--epochs 10");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(102.4 MB/s, 25000 pages/s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("workload apache: Apache"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fgbi-paper (medians): vs remus: type I"), std::string::npos) << r.output;

  // What the modelled link does with it: Remus ships each epoch's dirty
  // pages as records of a pfn and the page, after a 4-byte count, and the
  // backup acknowledges once the last one has arrived, so an epoch's
  // latency is the pages at 25,000 a second plus the round trip (0.1 ms) and
  // the small work around it (the pause, the backup's copy: well under a ms).
  const Outcome j = engine(
      "downtime --testbed paper --workload apache --schemes remus --pages 4096 --epochs 10 "
      "--json",
      false);
  ASSERT_EQ(j.status, 0) << j.output;
  const nlohmann::json doc = nlohmann::json::parse(j.output);
  const double pages = (scheme_field(doc, "remus", "wire_bytes_per_epoch") - 4) / (4096 + 8);
  EXPECT_EQ(pages, 100);  // the apache preset dirties 100 pages an epoch
  const double transfer_ms = pages / 25000 * 1e3;
  const double latency_ms = median_of(doc, "remus", "latency_ms");
  EXPECT_GE(latency_ms, transfer_ms + 0.1) << j.output;
  EXPECT_LT(latency_ms, transfer_ms + 0.1 + 1.5) << j.output;
}

TEST(DowntimeCli, RefusesTooFewEpochsForLlm) {
  const Outcome r = engine("downtime --pages 1024 --epochs 10");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("LLM checkpoints memory every 20 epochs; --epochs must be at least 40"),
            std::string::npos)
      << r.output;
}

TEST(DowntimeCli, RefusesUnknownSchemesAndWorkloads) {
  EXPECT_NE(engine("downtime --schemes remus,colo").status, 0);
  EXPECT_NE(engine("downtime --workload nosuch").status, 0);
  EXPECT_NE(engine("downtime --link-gbps 0").status, 0);
}

}  // namespace
}  // namespace fgbi::test
