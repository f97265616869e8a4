#include "report_html.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "fgbi.h"
#include "schemes.hpp"

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

// An axis label: 1000, not number()'s 1e+03.
std::string tick(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
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

// The same, of one steady-state figure of every run of a bench workload:
// a scheme tuned to the link has one bar per speed when there are several.
std::string bar_chart(const std::string& title, const std::string& unit,
                      const eval::WorkloadResult& r, const std::vector<double>& links,
                      const std::function<double(const eval::PhaseFigures&)>& value) {
  std::vector<Bar> bars;
  for (const eval::SchemeResult* first : eval::schemes_at_link(r, links.front()))
    for (const auto& s : r.schemes) {
      if (s.name != first->name) continue;
      const bool per_link = s.tuned_link_gbps && links.size() > 1;
      bars.emplace_back(per_link ? s.name + " @" + number(*s.tuned_link_gbps) : s.name,
                        value(s.steady));
    }
  return bar_chart(title, unit, bars);
}

// The link speeds the time-to-ship chart spans at least (Gbit/s).
constexpr double kSweepFrom = 0.1, kSweepTo = 100;
constexpr size_t kSweepPoints = 121;  // 40 a decade over 0.1-100
// Series colours, in the order the schemes ran (fgbi, fgbi-plain, then the
// peers by default), so that fgbi's two are the blues of the bar charts.
constexpr const char* kColours[] = {"#2b6cb0", "#63b3ed", "#c53030", "#dd6b20",
                                    "#38a169", "#805ad5", "#d53f8c", "#4a5568"};

const char* colour(size_t series) { return kColours[series % std::size(kColours)]; }

// Where v falls on a logarithmic axis from lo to hi, as a share of its length.
double log_share(double v, double lo, double hi) { return std::log(v / lo) / std::log(hi / lo); }

// A line chart of each scheme's median time-to-ship against the link speed,
// both axes logarithmic, over 0.1-100 Gbit/s and every speed of the run.
// fgbi's curve comes from its run tuned for the nearest --link-gbps speed
// (eval::run_for_link), marked with dots. Under the plot, a strip coloured
// by the fastest scheme at each speed shows where each one wins.
std::string time_to_ship_chart(const eval::WorkloadResult& r, const std::vector<double>& links) {
  const double lo = std::min(kSweepFrom, links.front()), hi = std::max(kSweepTo, links.back());
  const eval::LatencySweep sweep = eval::sweep_latency(r, lo, hi, kSweepPoints);
  double ymin = INFINITY, ymax = 0;
  for (const auto& series : sweep.series)
    for (double ms : series.latency_ms)
      if (ms > 0) {
        ymin = std::min(ymin, ms);
        ymax = std::max(ymax, ms);
      }
  if (ymax <= 0) return {};
  const double ylo = std::pow(10, std::floor(std::log10(ymin)));
  const double yhi = std::max(std::pow(10, std::ceil(std::log10(ymax))), ylo * 10);
  constexpr int kLeft = 64, kTop = 12, kWidth = 720, kHeight = 320, kLegend = 150;
  constexpr int kStripY = kTop + kHeight + 40, kStripH = 12;
  auto px = [&](double gbps) { return kLeft + kWidth * log_share(gbps, lo, hi); };
  auto py = [&](double ms) {
    return kTop + kHeight * (1 - log_share(std::max(ms, ylo), ylo, yhi));
  };
  std::ostringstream svg;
  svg.precision(4);
  svg << "<figure class=\"wide\"><figcaption>Time-to-ship (modelled commit latency, median) "
         "against link speed</figcaption><svg class=\"time-to-ship\" width=\""
      << kLeft + kWidth + kLegend << "\" height=\"" << kStripY + kStripH + 8 << "\" role=\"img\">";
  // Grid: decades of link speed; 1, 2 and 5 of each decade of time.
  for (double x = std::pow(10, std::ceil(std::log10(lo))); x <= hi * 1.0001; x *= 10)
    svg << "<line x1=\"" << px(x) << "\" x2=\"" << px(x) << "\" y1=\"" << kTop << "\" y2=\""
        << kTop + kHeight << "\" stroke=\"#e2e8f0\"/><text x=\"" << px(x) << "\" y=\""
        << kTop + kHeight + 16 << "\" text-anchor=\"middle\">" << tick(x) << "</text>";
  for (double decade = ylo; decade < yhi * 0.999; decade *= 10)
    for (double m : {1.0, 2.0, 5.0})
      svg << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + kWidth << "\" y1=\"" << py(m * decade)
          << "\" y2=\"" << py(m * decade) << "\" stroke=\"" << (m == 1 ? "#cbd5e0" : "#edf2f7")
          << "\"/><text x=\"" << kLeft - 6 << "\" y=\"" << py(m * decade) + 4
          << "\" text-anchor=\"end\">" << tick(m * decade) << "</text>";
  svg << "<text x=\"" << kLeft - 6 << "\" y=\"" << py(yhi) + 4 << "\" text-anchor=\"end\">"
      << tick(yhi) << "</text>";
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kWidth << "\" height=\""
      << kHeight << "\" fill=\"none\" stroke=\"#718096\"/>";
  svg << "<text x=\"" << kLeft + kWidth / 2 << "\" y=\"" << kTop + kHeight + 32
      << "\" text-anchor=\"middle\">link speed, Gbit/s (log scale)</text>";
  svg << "<text transform=\"translate(14," << kTop + kHeight / 2
      << ") rotate(-90)\" text-anchor=\"middle\">time-to-ship, ms (log scale)</text>";
  // The speeds of the run: fgbi's encodings were chosen for these.
  for (double link : links)
    svg << "<line class=\"link\" x1=\"" << px(link) << "\" x2=\"" << px(link) << "\" y1=\"" << kTop
        << "\" y2=\"" << kTop + kHeight << "\" stroke=\"#a0aec0\" "
        << "stroke-dasharray=\"4 3\"/>";
  for (size_t i = 0; i < sweep.series.size(); ++i) {
    const auto& series = sweep.series[i];
    svg << "<polyline class=\"series\" data-scheme=\"" << escape(series.name)
        << "\" fill=\"none\" stroke=\"" << colour(i) << "\" stroke-width=\""
        << (eval::is_full_fgbi(series.name) ? 3 : 1.75) << "\" points=\"";
    for (size_t p = 0; p < sweep.link_gbps.size(); ++p)
      svg << (p ? " " : "") << px(sweep.link_gbps[p]) << "," << py(series.latency_ms[p]);
    svg << "\"/>";
    if (eval::run_for_link(r, series.name, links.front())->tuned_link_gbps)
      for (double link : links)
        svg << "<circle cx=\"" << px(link) << "\" cy=\""
            << py(eval::run_for_link(r, series.name, link)->steady.latency_ms_percentile(50, link))
            << "\" r=\"3.5\" fill=\"" << colour(i) << "\"/>";
    svg << "<rect x=\"" << kLeft + kWidth + 14 << "\" y=\"" << kTop + 6 + 20 * i
        << "\" width=\"14\" height=\"4\" fill=\"" << colour(i) << "\"/><text x=\""
        << kLeft + kWidth + 34 << "\" y=\"" << kTop + 12 + 20 * i << "\">" << escape(series.name)
        << "</text>";
  }
  // Fastest scheme per speed, each band reaching halfway to its neighbours.
  svg << "<text x=\"" << kLeft - 6 << "\" y=\"" << kStripY + 10
      << "\" text-anchor=\"end\">fastest</text>";
  const auto& speeds = sweep.link_gbps;
  for (size_t p = 0; p < speeds.size(); ++p) {
    size_t best = 0;
    for (size_t i = 1; i < sweep.series.size(); ++i)
      if (sweep.series[i].latency_ms[p] < sweep.series[best].latency_ms[p]) best = i;
    const double left = p ? std::sqrt(speeds[p - 1] * speeds[p]) : speeds[p];
    const double right = p + 1 < speeds.size() ? std::sqrt(speeds[p] * speeds[p + 1]) : speeds[p];
    svg << "<rect class=\"fastest\" data-scheme=\"" << escape(sweep.series[best].name) << "\" x=\""
        << px(left) << "\" y=\"" << kStripY << "\" width=\"" << px(right) - px(left)
        << "\" height=\"" << kStripH << "\" fill=\"" << colour(best) << "\"/>";
  }
  svg << "</svg></figure>";
  return svg.str();
}

// "fgbi", "xbzrle" or "even": who is ahead by a ratio of fgbi to another.
std::string winner_cell(double ratio, const std::string& fgbi, const std::string& other) {
  if (ratio < 1) return "<td class=\"win\">" + escape(fgbi) + "</td>";
  if (ratio > 1) return "<td class=\"lose\">" + escape(other) + "</td>";
  return "<td>even</td>";
}

// The report's opening: per workload and link speed, each full fgbi scheme
// against the best alternative in time-to-ship and in bytes.
std::string summary(const std::vector<eval::WorkloadResult>& results,
                    const std::vector<double>& links) {
  std::ostringstream html;
  size_t cases = 0, time_wins = 0, byte_wins = 0;
  std::ostringstream rows;
  for (const auto& r : results)
    for (double link : links)
      for (const eval::Versus& v :
           eval::versus_alternatives(eval::schemes_at_link(r, link), link)) {
        ++cases;
        time_wins += v.time_ratio() <= 1;
        byte_wins += v.bytes_ratio() <= 1;
        const double epochs = std::max<double>(1, v.fgbi->steady.epochs);
        rows << "<tr><td>" << escape(r.name) << "</td><td>" << number(link) << "</td><td>"
             << escape(v.fgbi->name) << "</td><td>" << number(v.fgbi_ms) << "</td><td>"
             << escape(v.fastest->name) << " " << number(v.fastest_ms) << "</td><td>"
             << number(v.time_ratio()) << "</td>"
             << winner_cell(v.time_ratio(), v.fgbi->name, v.fastest->name) << "<td>"
             << number(v.fgbi->steady.wire_bytes / epochs / 1024, 4) << "</td><td>"
             << escape(v.smallest->name) << " "
             << number(v.smallest->steady.wire_bytes / epochs / 1024, 4) << "</td><td>"
             << number(v.bytes_ratio()) << "</td>"
             << winner_cell(v.bytes_ratio(), v.fgbi->name, v.smallest->name) << "</tr>";
      }
  html << "<h2 id=\"summary\">Summary: fgbi against the best alternative</h2>";
  if (cases == 0)
    return html.str() + "<p>No summary: it needs fgbi and at least one of " +
           eval::alternatives_text() + " in --schemes.</p>";
  html << "<p>Per workload and link speed, fgbi against the best of " << eval::alternatives_text()
       << " (issue 13's never-lose target), once by time-to-ship (median per epoch) and once by "
          "wire bytes. Ratio: fgbi's figure over the alternative's, below 1 when fgbi is ahead. "
          "fgbi is at least as fast in "
       << time_wins << " of " << cases << " cases and ships at most as many bytes in " << byte_wins
       << " of " << cases << ".</p>";
  html << "<table class=\"summary\"><tr><th>workload</th><th>link Gbit/s</th><th>scheme</th>"
          "<th>time-to-ship ms</th><th>fastest alternative, ms</th><th>ratio</th><th>faster</th>"
          "<th>KiB per epoch</th><th>smallest alternative, KiB</th><th>ratio</th>"
          "<th>smaller</th></tr>"
       << rows.str() << "</table>";
  return html.str();
}

// The same, of one figure of each scheme of a downtime run.
std::string bar_chart(const std::string& title, const std::string& unit,
                      const std::vector<eval::downtime::SchemeDowntime>& schemes,
                      const std::function<double(const eval::downtime::SchemeDowntime&)>& value) {
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
    "padding:3px 8px;text-align:right}td{white-space:nowrap}"
    "th:first-child,td:first-child{text-align:left}"
    "figure{display:inline-block;margin:0 2em 1em 0;vertical-align:top}"
    "figcaption{font-weight:600;margin-bottom:4px}svg text{font-size:12px}"
    "figure.wide{display:block}.bad,.lose{color:#c53030;font-weight:600}"
    ".win{color:#276749;font-weight:600}</style>";

}  // namespace

bool write_html_report(const std::string& path, const std::vector<eval::WorkloadResult>& results,
                       const std::vector<double>& links, const eval::MachineInfo& machine,
                       std::string* error) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fgbi-engine "
          "bench</title>"
       << kStyle << "</head><body>";
  html << "<h1>fgbi-engine bench</h1><p>fgbi " << fgbi_version_string()
       << ". Steady-state figures (after the initial synchronisation) at " <<
      [&] {
        std::string text;
        for (double l : links) text += (text.empty() ? "" : ", ") + number(l);
        return text;
      }()
       << " Gbit/s. Time-to-ship: the modelled commit latency of an epoch, the pause, then "
          "encode and send overlapped segment by segment at the link speed, then the backup's "
          "apply (docs/workloads.md). Pause: what the guest waits per epoch while its pages "
          "are captured (type II downtime).</p>";
  html << "<p>Measured on " << escape(eval::machine_summary(machine)) << ".</p>";
  html << summary(results, links);
  for (const auto& r : results) {
    html << "<h2>Workload " << escape(r.name) << "</h2><p>" << escape(r.description) << "; "
         << r.tracked_pages << " tracked pages, "
         << (r.schemes.empty() ? 0 : r.schemes.front().steady.epochs)
         << " epochs. fgbi's cost model chooses its encoding for the link speed, so fgbi ran "
            "once per speed (the dots; its curves follow the run for the nearest speed), the "
            "peers once.</p>";
    html << time_to_ship_chart(r, links);
    for (double link : links) {
      html << "<h3>At " << number(link) << " Gbit/s</h3>";
      html << "<table><tr><th>scheme</th><th>encode GB/s</th><th>GB/s per core</th><th>decode "
              "GB/s</th><th>CPU s per GB</th><th>wire MiB</th><th>of raw</th><th>pause ms "
              "p50</th><th>p99</th><th>time-to-ship ms p50</th><th>p99</th><th>CPU ms per "
              "epoch</th><th>replica</th></tr>";
      for (const eval::SchemeResult* s : eval::schemes_at_link(r, link)) {
        const auto& f = s->steady;
        html << "<tr><td>" << escape(s->name) << "</td><td>" << number(f.encode_gbps())
             << "</td><td>" << number(f.encode_gbps_per_core()) << "</td><td>"
             << number(f.decode_gbps()) << "</td><td>" << number(f.cpu_s_per_gb()) << "</td><td>"
             << number(f.wire_bytes / 1048576.0, 4) << "</td><td>" << number(f.wire_ratio())
             << "</td><td>" << number(f.pause_ms_percentile(50), 4) << "</td><td>"
             << number(f.pause_ms_percentile(99), 4) << "</td><td>"
             << number(f.latency_ms_percentile(50, link)) << "</td><td>"
             << number(f.latency_ms_percentile(99, link)) << "</td><td>"
             << number(f.cpu_ms_per_epoch()) << "</td><td"
             << (s->replica_matches ? ">ok" : " class=\"bad\">DIFFERS") << "</td></tr>";
      }
      html << "</table>";
    }
    html << bar_chart("Wire bytes (share of raw dirty bytes)", "", r, links,
                      [](const eval::PhaseFigures& f) { return f.wire_ratio(); });
    html << bar_chart("Pause (type II downtime), median", "ms", r, links,
                      [](const eval::PhaseFigures& f) { return f.pause_ms_percentile(50); });
    html << bar_chart("Encode throughput per core", "GB/s", r, links,
                      [](const eval::PhaseFigures& f) { return f.encode_gbps_per_core(); });
    html << bar_chart("Decode / apply throughput", "GB/s", r, links,
                      [](const eval::PhaseFigures& f) { return f.decode_gbps(); });
  }
  html << "</body></html>\n";
  return write_file(path, html.str(), error);
}

bool write_downtime_report(const std::string& path,
                           const std::vector<eval::downtime::WorkloadDowntime>& results,
                           const std::string& setup, std::string* error) {
  using eval::downtime::SchemeDowntime;
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
