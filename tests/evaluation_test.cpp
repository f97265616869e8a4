// The bench's time-to-ship arithmetic over measured epochs: the modelled
// commit latency at any link speed, which run of a link-tuned scheme stands
// for it at a speed, and the sweep the HTML report's chart draws.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::eval {
namespace {

// A scheme's result whose every steady epoch costs the same.
SchemeResult scheme(const std::string& name, std::optional<double> tuned, double encode_s,
                    uint64_t wire_bytes, int epochs = 5) {
  SchemeResult s;
  s.name = name;
  s.tuned_link_gbps = tuned;
  for (int i = 0; i < epochs; ++i)
    s.steady.epoch_samples.push_back({1024, wire_bytes, 0.5e-3, encode_s, encode_s, 0.3e-3});
  s.steady.epochs = static_cast<uint64_t>(epochs);
  return s;
}

TEST(TimeToShip, IsThePauseThenEncodeAndSendOverlappedThenTheDecode) {
  const SchemeResult s = scheme("x", std::nullopt, 2e-3, 1'000'000);
  // 8 Gbit/s: 1 ms to send, under the 2 ms encode; a quarter of the send (one
  // 256-page segment of 1024) is not overlapped: 0.5 + 2 + 0.25 + 0.3 ms.
  EXPECT_NEAR(s.steady.latency_ms_percentile(50, 8), 3.05, 1e-9);
  // 0.8 Gbit/s: the 10 ms send sets the pace: 0.5 + 10 + 0.25 * 2 + 0.3 ms.
  EXPECT_NEAR(s.steady.latency_ms_percentile(50, 0.8), 11.3, 1e-9);
  EXPECT_NEAR(s.steady.latency_ms_percentile(99, 0.8),
              1e3 * commit_latency_s(s.steady.epoch_samples[0], 0.8e9 / 8), 1e-9);
}

TEST(TimeToShip, TheRunTunedForTheNearestSpeedStandsForALinkTunedScheme) {
  WorkloadResult r;
  r.schemes = {scheme("fgbi", 1, 1e-3, 1000), scheme("xbzrle", std::nullopt, 1e-3, 1000),
               scheme("fgbi", 10, 1e-3, 1000)};
  EXPECT_EQ(run_for_link(r, "fgbi", 0.1), &r.schemes[0]);
  EXPECT_EQ(run_for_link(r, "fgbi", 3), &r.schemes[0]);  // 3 / 1 < 10 / 3
  EXPECT_EQ(run_for_link(r, "fgbi", 3.3), &r.schemes[2]);
  EXPECT_EQ(run_for_link(r, "fgbi", 1000), &r.schemes[2]);
  EXPECT_EQ(run_for_link(r, "xbzrle", 1000), &r.schemes[1]);
  EXPECT_EQ(run_for_link(r, "lz4", 1), nullptr);
  // Each scheme once, in the order they first ran.
  const auto at10 = schemes_at_link(r, 10);
  ASSERT_EQ(at10.size(), 2u);
  EXPECT_EQ(at10[0], &r.schemes[2]);
  EXPECT_EQ(at10[1], &r.schemes[1]);
}

TEST(TimeToShip, SweepSpansTheRangeOnALogScaleWithASeriesPerScheme) {
  WorkloadResult r;
  // fgbi tuned for 1 Gbit/s encodes slowly into few bytes; for 10 Gbit/s
  // quickly into more.
  r.schemes = {scheme("fgbi", 1, 20e-3, 100'000),
               scheme("remus-full", std::nullopt, 1e-3, 4'000'000),
               scheme("fgbi", 10, 2e-3, 1'000'000)};
  const LatencySweep coarse = sweep_latency(r, 0.1, 100, 4);
  ASSERT_EQ(coarse.link_gbps.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(coarse.link_gbps[i], 0.1 * std::pow(10, i), 1e-9);

  const LatencySweep sweep = sweep_latency(r, 0.1, 100, 121);
  ASSERT_EQ(sweep.series.size(), 2u);
  EXPECT_EQ(sweep.series[0].name, "fgbi");
  EXPECT_EQ(sweep.series[1].name, "remus-full");
  for (const auto& series : sweep.series) ASSERT_EQ(series.latency_ms.size(), 121u);
  // Each end of fgbi's curve comes from the run tuned nearest to it.
  EXPECT_DOUBLE_EQ(sweep.series[0].latency_ms.front(),
                   r.schemes[0].steady.latency_ms_percentile(50, 0.1));
  EXPECT_DOUBLE_EQ(sweep.series[0].latency_ms.back(),
                   r.schemes[2].steady.latency_ms_percentile(50, 100));
  // A scheme's own time-to-ship never grows with the link speed.
  const auto& remus = sweep.series[1].latency_ms;
  for (size_t i = 1; i < remus.size(); ++i) EXPECT_LE(remus[i], remus[i - 1]) << i;
  EXPECT_GT(remus.front(), 10 * remus.back());
}

}  // namespace
}  // namespace fgbi::eval
