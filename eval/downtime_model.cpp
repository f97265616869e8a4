#include "downtime_model.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

namespace fgbi::eval::downtime {

Link line_rate(double gbps, double efficiency) {
  Link link;
  link.payload_bytes_per_s = gbps * 1e9 / 8 * efficiency;
  return link;
}

namespace {

// The link as a token bucket of depth burst_bytes refilled at the payload
// rate: bytes beyond the tokens leave at the rate, one transfer at a time.
class LinkClock {
 public:
  explicit LinkClock(const Link& link) : link_(link), tokens_(link.burst_bytes) {}
  // Sends `bytes` starting no earlier than `start`; returns when the last leaves.
  double send(double start, uint64_t bytes) {
    start = std::max(start, free_at_);
    tokens_ = std::min(link_.burst_bytes, tokens_ + (start - free_at_) * link_.payload_bytes_per_s);
    const double instant = std::min(tokens_, static_cast<double>(bytes));
    tokens_ -= instant;
    free_at_ = start + (static_cast<double>(bytes) - instant) / link_.payload_bytes_per_s;
    return free_at_;
  }

 private:
  Link link_;
  double tokens_;
  double free_at_ = 0;
};

}  // namespace

std::vector<EpochTimes> simulate(std::span<const EpochCost> costs, const Pipeline& pipeline,
                                 const Link& link) {
  std::vector<EpochTimes> out;
  out.reserve(costs.size());
  LinkClock clock(link);
  const double one_way = link.rtt_s / 2;
  for (const EpochCost& c : costs) {
    EpochTimes t;
    if (!out.empty()) {
      const EpochTimes& last = out.back();
      const double due = last.capture + pipeline.interval_s;
      t.capture = std::max(due, last.acked);
      t.waited = last.acked > due;
    }
    const double work_done = t.capture + pipeline.pause_s + c.paused_work_s;
    if (pipeline.resume_after_commit) {
      t.arrived = clock.send(work_done, c.wire_bytes) + one_way;
      t.committed = t.arrived + c.commit_s;
      t.acked = t.committed + one_way;
      t.resume = t.acked;
    } else {
      const uint64_t overflow =
          c.held_bytes > pipeline.held_limit_bytes ? c.held_bytes - pipeline.held_limit_bytes : 0;
      const uint64_t paused_bytes = std::min(c.wire_bytes, overflow);
      t.resume = paused_bytes ? clock.send(work_done, paused_bytes) : work_done;
      const double first = c.first_bytes_s < 0 ? c.deferred_work_s : c.first_bytes_s;
      // Streamed: the last byte leaves no earlier than the encode ends.
      t.arrived = std::max(clock.send(t.resume + first, c.wire_bytes - paused_bytes),
                           t.resume + c.deferred_work_s) +
                  one_way;
      t.committed = t.arrived + c.commit_s;
      t.acked = t.committed + one_way;
    }
    out.push_back(t);
  }
  return out;
}

std::vector<double> type1_downtimes(std::span<const EpochTimes> timeline,
                                    const Failover& failover) {
  std::vector<double> out;
  if (timeline.empty() || failover.samples == 0) return out;
  const double from = timeline.front().committed, to = timeline.back().capture;
  if (!(to > from)) return out;
  std::vector<double> committed(timeline.size());
  for (size_t i = 0; i < timeline.size(); ++i) committed[i] = timeline[i].committed;
  out.reserve(failover.samples);
  for (uint32_t k = 0; k < failover.samples; ++k) {
    const double t = from + (k + 0.5) * (to - from) / failover.samples;
    // The last checkpoint committed by t (committed times never decrease).
    size_t state = static_cast<size_t>(std::upper_bound(committed.begin(), committed.end(), t) -
                                       committed.begin()) -
                   1;
    double finish = 0;
    if (state + 1 < timeline.size() && timeline[state + 1].arrived <= t) {
      // The next one had fully arrived: the backup completes its commit,
      // partly while it is still waiting to detect the failure.
      ++state;
      finish = std::max(0.0, timeline[state].committed - t - failover.detect_s);
    }
    out.push_back(failover.detect_s + finish + failover.resume_s +
                  failover.redo_share * (t - timeline[state].capture));
  }
  return out;
}

CheckpointUnion::CheckpointUnion(uint64_t tracked_pages, uint32_t group)
    : group_(std::max<uint32_t>(group, 1)), seen_(tracked_pages, 0) {}

void CheckpointUnion::add_epoch(std::span<const uint64_t> pfns) {
  for (uint64_t pfn : pfns) {
    if (pfn >= seen_.size() || seen_[pfn]) continue;
    seen_[pfn] = 1;
    members_.push_back(pfn);
  }
  if (++epochs_ < group_) return;
  checkpoints_.push_back(members_.size());
  for (uint64_t pfn : members_) seen_[pfn] = 0;
  members_.clear();
  epochs_ = 0;
}

std::vector<EpochCost> remus_costs(std::span<const EpochSample> remus_full) {
  std::vector<EpochCost> out;
  for (const EpochSample& s : remus_full)
    out.push_back({s.pause_wall_s + s.encode_wall_s, 0, s.wire_bytes, s.wire_bytes, s.decode_wall_s,
                   s.encode_cpu_s});
  return out;
}

std::vector<EpochCost> llm_costs(std::span<const uint64_t> checkpoint_pages,
                                 std::span<const EpochSample> remus_full) {
  double pages = 0, copy_s = 0, apply_s = 0, cpu_s = 0;
  for (const EpochSample& s : remus_full) {
    pages += static_cast<double>(s.pages);
    copy_s += s.pause_wall_s + s.encode_wall_s;
    apply_s += s.decode_wall_s;
    cpu_s += s.encode_cpu_s;
  }
  const double per_page = pages > 0 ? 1 / pages : 0;
  std::vector<EpochCost> out;
  for (uint64_t n : checkpoint_pages) {
    const uint64_t bytes = 4 + n * kPageRecordBytes;
    const auto u = static_cast<double>(n);
    out.push_back(
        {u * copy_s * per_page, 0, bytes, bytes, u * apply_s * per_page, u * cpu_s * per_page});
  }
  return out;
}

std::vector<EpochCost> fgbi_paper_costs(std::span<const EpochSample> paper,
                                        std::span<const EpochSample> identify) {
  std::vector<EpochCost> out;
  for (size_t i = 0; i < std::min(paper.size(), identify.size()); ++i) {
    const EpochSample &p = paper[i], &id = identify[i];
    const double identify_s = id.pause_wall_s + id.encode_wall_s;
    out.push_back({identify_s, std::max(0.0, p.pause_wall_s + p.encode_wall_s - identify_s),
                   id.wire_bytes, p.wire_bytes, p.decode_wall_s, p.encode_cpu_s});
  }
  return out;
}

std::vector<EpochCost> fgbi_costs(std::span<const EpochSample> fgbi, double copy_s_per_byte) {
  std::vector<EpochCost> out;
  for (const EpochSample& s : fgbi) {
    const double journal_s = static_cast<double>(s.pages) * 4096 * copy_s_per_byte;
    // The capture holds only the changed blocks; the first segment is on
    // the wire once it is encoded.
    const double segment_share =
        s.pages > kStreamSegmentPages ? static_cast<double>(kStreamSegmentPages) / s.pages : 1.0;
    out.push_back({s.pause_wall_s, s.encode_wall_s, 0, s.wire_bytes, s.decode_wall_s + journal_s,
                   s.encode_cpu_s, s.encode_wall_s * segment_share});
  }
  return out;
}

std::vector<EpochCost> xbzrle_costs(std::span<const EpochSample> xbzrle) {
  return remus_costs(xbzrle);  // copy and encode paused; the pipeline differs
}

double measure_copy_s_per_byte() {
  constexpr size_t kBytes = size_t{64} << 20;
  auto src = std::make_unique<uint8_t[]>(kBytes);  // value-initialised: pages touched
  auto dst = std::make_unique<uint8_t[]>(kBytes);
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    src[static_cast<size_t>(run) * 4096] = static_cast<uint8_t>(run + 1);
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(dst.get(), src.get(), kBytes);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  // Keeps the copies observable.
  volatile uint8_t sink = dst[kBytes / 2];
  (void)sink;
  return best / kBytes;
}

namespace {

std::vector<double> milliseconds(const std::vector<EpochTimes>& timeline,
                                 double (EpochTimes::*value)() const) {
  std::vector<double> ms;
  ms.reserve(timeline.size());
  for (const EpochTimes& t : timeline) ms.push_back((t.*value)() * 1e3);
  return ms;
}

}  // namespace

double SchemeDowntime::type2_ms(double p) const {
  return percentile(milliseconds(timeline, &EpochTimes::type2_s), p);
}

double SchemeDowntime::latency_ms(double p) const {
  return percentile(milliseconds(timeline, &EpochTimes::latency_s), p);
}

double SchemeDowntime::type1_ms(double p) const { return percentile(type1_s, p) * 1e3; }

double SchemeDowntime::wire_bytes_per_epoch() const {
  double bytes = 0;
  for (const EpochCost& c : costs) bytes += static_cast<double>(c.wire_bytes);
  return costs.empty() ? 0 : bytes / (costs.size() * epochs_per_checkpoint);
}

double SchemeDowntime::cpu_ms_per_epoch() const {
  double s = 0;
  for (const EpochCost& c : costs) s += c.cpu_s;
  return costs.empty() ? 0 : s * 1e3 / (costs.size() * epochs_per_checkpoint);
}

double SchemeDowntime::paused_share() const {
  if (timeline.size() < 2) return 0;
  double paused = 0;
  for (size_t i = 0; i + 1 < timeline.size(); ++i) paused += timeline[i].type2_s();
  const double span = timeline.back().capture - timeline.front().capture;
  return span > 0 ? paused / span : 0;
}

double SchemeDowntime::waited_share() const {
  if (timeline.size() < 2) return 0;
  const auto late =
      std::count_if(timeline.begin(), timeline.end(), [](const EpochTimes& t) { return t.waited; });
  return static_cast<double>(late) / static_cast<double>(timeline.size() - 1);
}

SchemeDowntime evaluate(std::string name, std::vector<EpochCost> costs, const Pipeline& pipeline,
                        const Link& link, const Failover& failover, double epochs_per_checkpoint) {
  SchemeDowntime d;
  d.name = std::move(name);
  d.pipeline = pipeline;
  d.epochs_per_checkpoint = epochs_per_checkpoint;
  d.costs = std::move(costs);
  d.timeline = simulate(d.costs, pipeline, link);
  d.type1_s = type1_downtimes(d.timeline, failover);
  return d;
}

}  // namespace fgbi::eval::downtime
