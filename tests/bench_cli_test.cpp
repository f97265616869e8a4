// `fgbi-engine bench` as a process: a list of link speeds, the figures per
// speed in JSON and text, and the HTML report's summary and time-to-ship
// chart.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "net_harness.hpp"
#include "support/engine_cli.hpp"

namespace fgbi::test {
namespace {

using Outcome = EngineRun;

// stdout only, so that --json output parses.
Outcome engine(const std::string& args) { return run_engine(args, false); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const nlohmann::json& scheme_named(const nlohmann::json& schemes, const std::string& name) {
  for (const nlohmann::json& s : schemes)
    if (s.at("name").get<std::string>() == name) return s;
  throw std::out_of_range("no scheme " + name);
}

constexpr const char* kSchemes[] = {"fgbi",   "fgbi-plain", "remus-full", "remus-xc",
                                    "xbzrle", "lz4",        "zstd-1"};
constexpr const char* kAlternatives[] = {"fgbi-plain", "remus-full", "xbzrle"};

class BenchCli : public testing::Test {
 protected:
  // One run at three speeds, given out of order, shared by the tests.
  static void SetUpTestSuite() {
    dir_ = std::make_unique<net::TempDir>();
    run_ = std::make_unique<Outcome>(engine(
        "bench --workload web --pages 2048 --epochs 4 --warmup 1 --link-gbps 10,0.1,1 --json "
        "--report " +
        dir_->file("report.html")));
    report_ = std::make_unique<std::string>(read_file(dir_->file("report.html")));
  }
  static void TearDownTestSuite() {
    report_.reset();
    run_.reset();
    dir_.reset();
  }
  static inline std::unique_ptr<net::TempDir> dir_;
  static inline std::unique_ptr<Outcome> run_;
  static inline std::unique_ptr<std::string> report_;
};

TEST_F(BenchCli, JsonHasEveryFigurePerLinkSpeedInAscendingOrder) {
  ASSERT_EQ(run_->status, 0) << run_->output;
  const nlohmann::json json = nlohmann::json::parse(run_->output);
  const nlohmann::json& links = json.at("config").at("link_gbps");
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links.at(0).get<double>(), 0.1);
  EXPECT_EQ(links[1].get<double>(), 1);
  EXPECT_EQ(links[2].get<double>(), 10);
  const nlohmann::json& per_link = json.at("workloads").at(0).at("links");
  ASSERT_EQ(per_link.size(), 3u);
  double remus_ms = 1e300;
  for (size_t i = 0; i < 3; ++i) {
    const nlohmann::json& at = per_link[i];
    EXPECT_EQ(at.at("link_gbps").get<double>(), links[i].get<double>());
    ASSERT_EQ(at.at("schemes").size(), std::size(kSchemes));
    for (size_t s = 0; s < std::size(kSchemes); ++s) {
      EXPECT_EQ(at.at("schemes")[s].at("name").get<std::string>(), kSchemes[s]);
      EXPECT_TRUE(at.at("schemes")[s].at("replica_matches_primary").get<bool>());
    }
    // fgbi ran once per speed, tuned for it; the peers once, for none.
    EXPECT_EQ(scheme_named(at.at("schemes"), "fgbi").at("tuned_link_gbps").get<double>(),
              links[i].get<double>());
    EXPECT_FALSE(scheme_named(at.at("schemes"), "xbzrle").contains("tuned_link_gbps"));
    EXPECT_EQ(scheme_named(at.at("schemes"), "xbzrle").at("steady").at("wire_bytes").get<double>(),
              scheme_named(per_link.at(0).at("schemes"), "xbzrle")
                  .at("steady")
                  .at("wire_bytes")
                  .get<double>());
    // The same full pages take less time on a faster link.
    const double ms = scheme_named(at.at("schemes"), "remus-full")
                          .at("steady")
                          .at("latency_ms_median")
                          .get<double>();
    EXPECT_LT(ms, remus_ms);
    remus_ms = ms;
  }
}

TEST_F(BenchCli, JsonComparesFgbiWithTheBestAlternativeAtEachSpeed) {
  ASSERT_EQ(run_->status, 0) << run_->output;
  const nlohmann::json json = nlohmann::json::parse(run_->output);
  for (const nlohmann::json& at : json.at("workloads").at(0).at("links")) {
    const nlohmann::json& schemes = at.at("schemes");
    ASSERT_EQ(at.at("fgbi_vs_best_alternative").size(), 1u);
    const nlohmann::json& v = at.at("fgbi_vs_best_alternative").at(0);
    EXPECT_EQ(v.at("scheme").get<std::string>(), "fgbi");
    std::string fastest, smallest;
    double fastest_ms = 1e300, smallest_bytes = 1e300;
    for (const char* name : kAlternatives) {
      const nlohmann::json& steady = scheme_named(schemes, name).at("steady");
      if (steady.at("latency_ms_median").get<double>() < fastest_ms) {
        fastest_ms = steady.at("latency_ms_median").get<double>();
        fastest = name;
      }
      if (steady.at("wire_bytes").get<double>() < smallest_bytes) {
        smallest_bytes = steady.at("wire_bytes").get<double>();
        smallest = name;
      }
    }
    const nlohmann::json& fgbi = scheme_named(schemes, "fgbi").at("steady");
    EXPECT_EQ(v.at("fastest_alternative").get<std::string>(), fastest);
    EXPECT_NEAR(v.at("fastest_alternative_time_to_ship_ms_median").get<double>(), fastest_ms,
                1e-5 * fastest_ms);
    EXPECT_NEAR(v.at("time_to_ship_ms_median").get<double>(),
                fgbi.at("latency_ms_median").get<double>(),
                1e-5 * fgbi.at("latency_ms_median").get<double>());
    EXPECT_NEAR(v.at("time_ratio").get<double>(),
                fgbi.at("latency_ms_median").get<double>() / fastest_ms,
                1e-4 * v.at("time_ratio").get<double>());
    EXPECT_EQ(v.at("smallest_alternative").get<std::string>(), smallest);
    EXPECT_EQ(v.at("smallest_alternative_wire_bytes").get<double>(), smallest_bytes);
    EXPECT_EQ(v.at("wire_bytes").get<double>(), fgbi.at("wire_bytes").get<double>());
    EXPECT_NEAR(v.at("bytes_ratio").get<double>(),
                fgbi.at("wire_bytes").get<double>() / smallest_bytes,
                1e-4 * v.at("bytes_ratio").get<double>());
  }
}

TEST_F(BenchCli, ReportOpensWithTheSummaryOfEveryLinkSpeed) {
  ASSERT_EQ(run_->status, 0) << run_->output;
  const std::string& html = *report_;
  const size_t summary = html.find("Summary: fgbi against the best alternative");
  ASSERT_NE(summary, std::string::npos);
  const size_t workload = html.find("<h2>Workload web</h2>");
  ASSERT_NE(workload, std::string::npos);
  EXPECT_LT(summary, workload);
  const std::string table = html.substr(summary, workload - summary);
  for (const char* row :
       {"<tr><td>web</td><td>0.1</td><td>fgbi</td>", "<tr><td>web</td><td>1</td><td>fgbi</td>",
        "<tr><td>web</td><td>10</td><td>fgbi</td>"})
    EXPECT_NE(table.find(row), std::string::npos) << row;
  EXPECT_NE(table.find("ships at most as many bytes in"), std::string::npos);
}

// Where each occurrence of `needle` starts in s.
std::vector<size_t> occurrences(const std::string& s, const std::string& needle) {
  std::vector<size_t> at;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1))
    at.push_back(p);
  return at;
}

// The value of attribute `name` of the tag that starts at `tag` ("" when
// the tag has none).
std::string attribute(const std::string& html, size_t tag, const std::string& name) {
  const size_t end = html.find('>', tag);
  const size_t p = html.find(" " + name + "=\"", tag);
  if (p == std::string::npos || p > end) return "";
  const size_t value = p + name.size() + 3;
  return html.substr(value, html.find('"', value) - value);
}

// The points of each series of the chart, by scheme, in pixels.
std::map<std::string, std::vector<std::pair<double, double>>> chart_series(
    const std::string& html) {
  std::map<std::string, std::vector<std::pair<double, double>>> out;
  for (const size_t tag : occurrences(html, "<polyline class=\"series\"")) {
    std::istringstream points(attribute(html, tag, "points"));
    auto& series = out[attribute(html, tag, "data-scheme")];
    for (std::string point; points >> point;) {
      const size_t comma = point.find(',');
      series.emplace_back(std::stod(point.substr(0, comma)), std::stod(point.substr(comma + 1)));
    }
  }
  return out;
}

TEST_F(BenchCli, ReportChartsEverySchemesTimeToShipAgainstLinkSpeed) {
  ASSERT_EQ(run_->status, 0) << run_->output;
  const std::string& html = *report_;
  ASSERT_NE(html.find("<svg class=\"time-to-ship\""), std::string::npos);
  // The axis spans 0.1 to 100 Gbit/s.
  EXPECT_NE(html.find(">0.1</text>"), std::string::npos);
  EXPECT_NE(html.find(">100</text>"), std::string::npos);
  const auto series = chart_series(html);
  ASSERT_EQ(series.size(), std::size(kSchemes));
  const size_t points = series.at("fgbi").size();
  EXPECT_GE(points, 100u);
  for (const char* name : kSchemes) {
    const auto& s = series.at(name);
    ASSERT_EQ(s.size(), points) << name;
    for (size_t p = 1; p < points; ++p) {
      EXPECT_GT(s[p].first, s[p - 1].first) << name;  // link speed rises to the right
      // A peer's time-to-ship falls or stays as the link speeds up (down
      // the page: y grows). fgbi's changes run at the handovers.
      if (std::string(name).starts_with("fgbi")) continue;
      EXPECT_GE(s[p].second, s[p - 1].second - 1e-9) << name << " point " << p;
    }
  }
  // A dot per speed on each fgbi curve: where its runs were measured.
  EXPECT_EQ(occurrences(html, "<circle ").size(), 6u);
  // The strip under the plot names the lowest curve (largest y) at each speed.
  size_t p = 0;
  for (const size_t tag : occurrences(html, "<rect class=\"fastest\"")) {
    ASSERT_LT(p, points);
    double lowest = -1;
    for (const auto& [name, s] : series) lowest = std::max(lowest, s[p].second);
    EXPECT_EQ(series.at(attribute(html, tag, "data-scheme"))[p].second, lowest) << "point " << p;
    ++p;
  }
  EXPECT_EQ(p, points);
}

TEST(BenchCliSingleLink, OneSpeedStillWorksInTextAndJson) {
  const std::string args =
      "bench --workload web --pages 1024 --epochs 2 --warmup 0 --schemes fgbi,xbzrle "
      "--link-gbps 2.5";
  const Outcome text = engine(args);
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("link 2.5 Gbit/s"), std::string::npos) << text.output;
  EXPECT_EQ(text.output.find("at 2.5 Gbit/s:"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("fgbi against the best of fgbi-plain, remus-full, xbzrle: "
                             "time-to-ship"),
            std::string::npos)
      << text.output;
  const Outcome json = engine(args + " --json");
  ASSERT_EQ(json.status, 0) << json.output;
  const nlohmann::json doc = nlohmann::json::parse(json.output);
  ASSERT_EQ(doc.at("config").at("link_gbps").size(), 1u);
  EXPECT_EQ(doc.at("config").at("link_gbps").at(0).get<double>(), 2.5);
  const nlohmann::json& at = doc.at("workloads").at(0).at("links");
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(scheme_named(at.at(0).at("schemes"), "fgbi").at("tuned_link_gbps").get<double>(), 2.5);
  EXPECT_EQ(
      at.at(0).at("fgbi_vs_best_alternative").at(0).at("fastest_alternative").get<std::string>(),
      "xbzrle");
}

// Every output names what its figures were measured on; with threads, how
// many CPUs' worth of work they could get at once.
TEST_F(BenchCli, JsonAndReportNameTheMachine) {
  ASSERT_EQ(run_->status, 0) << run_->output;
  const nlohmann::json machine = nlohmann::json::parse(run_->output).at("machine");
  const std::string model = machine.at("cpu_model").get<std::string>();
  EXPECT_FALSE(model.empty());
  EXPECT_GE(machine.at("cpus").get<int>(), 1);
  EXPECT_FALSE(machine.at("simd_target").get<std::string>().empty());
  EXPECT_EQ(machine.at("threads").get<int>(), 1);
  EXPECT_EQ(machine.at("parallel_capacity").get<double>(), 1.0);
  EXPECT_NE(report_->find("<p>Measured on "), std::string::npos);
  EXPECT_LT(report_->find("<p>Measured on "), report_->find("Summary: fgbi against"));
}

TEST(BenchCliSingleLink, TextNamesTheMachineAndWhatThreadsGetAtOnce) {
  const Outcome r =
      engine("bench --workload idle --pages 512 --epochs 2 --warmup 0 --schemes fgbi --threads 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const size_t line = r.output.find("machine: ");
  ASSERT_NE(line, std::string::npos) << r.output;
  EXPECT_LT(line, r.output.find("workload idle"));
  EXPECT_NE(r.output.find("; 2 busy threads ran as ", line), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" CPUs (2: no sharing)\n", line), std::string::npos) << r.output;
}

TEST(BenchCliSingleLink, ReportSaysWhenThereIsNothingToCompare) {
  net::TempDir dir;
  const Outcome r = engine(
      "bench --workload idle --pages 512 --epochs 2 --warmup 0 --schemes fgbi,lz4 --report " +
      dir.file("r.html"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(read_file(dir.file("r.html")).find("No summary: it needs fgbi and at least one of"),
            std::string::npos);
}

}  // namespace
}  // namespace fgbi::test
