#include "report_html.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "fgbi.h"

namespace fgbi::cli {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v, int precision = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

using Bar = std::pair<std::string, double>;

// A horizontal bar chart of one figure per scheme; fgbi's bars are blue.
std::string bar_chart(const std::string& title, const std::string& unit,
                      const std::vector<Bar>& bars) {
  constexpr int kLabel = 110, kWidth = 360, kRow = 22;
  double max = 0;
  for (const auto& [name, v] : bars) max = std::max(max, v);
  std::ostringstream svg;
  const int height = kRow * static_cast<int>(bars.size()) + 28;
  svg << "<figure><figcaption>" << escape(title) << "</figcaption><svg width=\""
      << kLabel + kWidth + 90 << "\" height=\"" << height << "\" role=\"img\">";
  int y = 4;
  for (const auto& [name, v] : bars) {
    const int w = max > 0 ? static_cast<int>(kWidth * v / max) : 0;
    const bool ours = name.rfind("fgbi", 0) == 0;
    svg << "<text x=\"" << kLabel - 6 << "\" y=\"" << y + 15 << "\" text-anchor=\"end\">"
        << escape(name) << "</text><rect x=\"" << kLabel << "\" y=\"" << y << "\" width=\""
        << std::max(w, 1) << "\" height=\"" << kRow - 6 << "\" fill=\""
        << (ours ? "#2b6cb0" : "#a0aec0") << "\"/><text x=\"" << kLabel + w + 6 << "\" y=\""
        << y + 15 << "\">" << number(v) << " " << escape(unit) << "</text>";
    y += kRow;
  }
  svg << "</svg></figure>";
  return svg.str();
}

// The same, of one steady-state figure of each scheme of a bench run.
std::string bar_chart(const std::string& title, const std::string& unit,
                      const std::vector<bench::SchemeResult>& schemes,
                      const std::function<double(const bench::PhaseFigures&)>& value) {
  std::vector<Bar> bars;
  for (const auto& s : schemes) bars.emplace_back(s.name, value(s.steady));
  return bar_chart(title, unit, bars);
}

// The same, of one figure of each scheme of a downtime run.
std::string bar_chart(const std::string& title, const std::string& unit,
                      const std::vector<bench::downtime::SchemeDowntime>& schemes,
                      const std::function<double(const bench::downtime::SchemeDowntime&)>& value) {
  std::vector<Bar> bars;
  for (const auto& s : schemes) bars.emplace_back(s.name, value(s));
  return bar_chart(title, unit, bars);
}

bool write_file(const std::string& path, const std::string& text, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    *error = std::strerror(errno);
    return false;
  }
  out << text;
  out.close();
  if (!out) {
    *error = "write failed";
    return false;
  }
  return true;
}

constexpr const char* kStyle =
    "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e0;"
    "padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}"
    "figure{display:inline-block;margin:0 2em 1em 0;vertical-align:top}"
    "figcaption{font-weight:600;margin-bottom:4px}svg text{font-size:12px}"
    ".bad{color:#c53030;font-weight:600}</style>";

}  // namespace

bool write_html_report(const std::string& path, const std::vector<bench::WorkloadResult>& results,
                       double link_gbps, std::string* error) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fgbi-engine "
          "bench</title>"
       << kStyle << "</head><body>";
  html << "<h1>fgbi-engine bench</h1><p>fgbi " << fgbi_version_string()
       << ". Steady-state figures (after the initial synchronisation). Pause: what the guest "
          "waits per epoch while its pages are captured (type II downtime). Latency: modelled "
          "commit latency, the pause, then encode and send overlapped at "
       << number(link_gbps)
       << " Gbit/s, then the backup's apply (docs/workloads.md). Blue: fgbi; grey: peers.</p>";
  for (const auto& r : results) {
    html << "<h2>Workload " << escape(r.name) << "</h2><p>" << escape(r.description) << "; "
         << r.tracked_pages << " tracked pages, "
         << (r.schemes.empty() ? 0 : r.schemes.front().steady.epochs) << " epochs.</p>";
    html << "<table><tr><th>scheme</th><th>encode GB/s</th><th>GB/s per core</th><th>decode "
            "GB/s</th><th>CPU s per GB</th><th>wire MiB</th><th>of raw</th><th>pause ms "
            "p50</th><th>p99</th><th>latency ms p50</th><th>p99</th><th>CPU ms per "
            "epoch</th><th>replica</th></tr>";
    for (const auto& s : r.schemes) {
      const auto& f = s.steady;
      html << "<tr><td>" << escape(s.name) << "</td><td>" << number(f.encode_gbps()) << "</td><td>"
           << number(f.encode_gbps_per_core()) << "</td><td>" << number(f.decode_gbps())
           << "</td><td>" << number(f.cpu_s_per_gb()) << "</td><td>"
           << number(f.wire_bytes / 1048576.0, 4) << "</td><td>" << number(f.wire_ratio())
           << "</td><td>" << number(f.pause_ms_percentile(50), 4) << "</td><td>"
           << number(f.pause_ms_percentile(99), 4) << "</td><td>"
           << number(f.latency_ms_percentile(50)) << "</td><td>"
           << number(f.latency_ms_percentile(99)) << "</td><td>" << number(f.cpu_ms_per_epoch())
           << "</td><td"
           << (s.replica_matches ? ">ok" : " class=\"bad\">DIFFERS") << "</td></tr>";
    }
    html << "</table>";
    html << bar_chart("Wire bytes (share of raw dirty bytes)", "", r.schemes,
                      [](const bench::PhaseFigures& f) { return f.wire_ratio(); });
    html << bar_chart("Pause (type II downtime), median", "ms", r.schemes,
                      [](const bench::PhaseFigures& f) { return f.pause_ms_percentile(50); });
    html << bar_chart("Modelled commit latency, median", "ms", r.schemes,
                      [](const bench::PhaseFigures& f) { return f.latency_ms_percentile(50); });
    html << bar_chart("Encode throughput per core", "GB/s", r.schemes,
                      [](const bench::PhaseFigures& f) { return f.encode_gbps_per_core(); });
    html << bar_chart("Decode / apply throughput", "GB/s", r.schemes,
                      [](const bench::PhaseFigures& f) { return f.decode_gbps(); });
  }
  html << "</body></html>\n";
  return write_file(path, html.str(), error);
}

bool write_downtime_report(const std::string& path,
                           const std::vector<bench::downtime::WorkloadDowntime>& results,
                           const std::string& setup, std::string* error) {
  using bench::downtime::SchemeDowntime;
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fgbi-engine "
          "downtime</title>"
       << kStyle << "</head><body>";
  html << "<h1>fgbi-engine downtime</h1><p>fgbi " << fgbi_version_string() << ". " << escape(setup)
       << " Type II: the guest's pause per checkpoint; type I: a primary failure at a uniformly "
          "random instant until the backup serves again; latency: capture to acknowledgement "
          "(docs/downtime-model.md). Blue: fgbi; grey: the schemes it is compared with.</p>";
  for (const auto& r : results) {
    html << "<h2>Workload " << escape(r.name) << "</h2><p>" << escape(r.description) << "</p>";
    html << "<table><tr><th>scheme</th><th>type II ms p50</th><th>p99</th><th>type I ms "
            "p50</th><th>p99</th><th>latency ms p50</th><th>p99</th><th>KiB per epoch</th><th>CPU "
            "ms per epoch</th><th>paused</th><th>late</th></tr>";
    for (const SchemeDowntime& s : r.schemes)
      html << "<tr><td>" << escape(s.name) << "</td><td>" << number(s.type2_ms(50)) << "</td><td>"
           << number(s.type2_ms(99)) << "</td><td>" << number(s.type1_ms(50), 4) << "</td><td>"
           << number(s.type1_ms(99), 4) << "</td><td>" << number(s.latency_ms(50)) << "</td><td>"
           << number(s.latency_ms(99)) << "</td><td>" << number(s.wire_bytes_per_epoch() / 1024, 4)
           << "</td><td>" << number(s.cpu_ms_per_epoch()) << "</td><td>"
           << number(100 * s.paused_share()) << " %</td><td>" << number(100 * s.waited_share())
           << " %</td></tr>";
    html << "</table>";
    html << bar_chart("Type II downtime, median", "ms", r.schemes,
                      [](const SchemeDowntime& s) { return s.type2_ms(50); });
    html << bar_chart("Type I downtime, median", "ms", r.schemes,
                      [](const SchemeDowntime& s) { return s.type1_ms(50); });
    html << bar_chart("Epoch latency, median", "ms", r.schemes,
                      [](const SchemeDowntime& s) { return s.latency_ms(50); });
    html << bar_chart("Bytes per epoch", "KiB", r.schemes,
                      [](const SchemeDowntime& s) { return s.wire_bytes_per_epoch() / 1024; });
  }
  html << "</body></html>\n";
  return write_file(path, html.str(), error);
}

}  // namespace fgbi::cli
