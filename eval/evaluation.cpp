#include "evaluation.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "fgbi.h"

namespace fgbi::eval {
namespace {

void check(fgbi_status st, const char* call) {
  if (st != FGBI_OK)
    throw SchemeError{std::string(call) + ": " + fgbi_error_name(st) + " (" +
                      fgbi_error_message(st) + ")"};
}

// fgbi through its public C ABI: a sender and a receiver in this process.
class FgbiScheme : public Scheme {
 public:
  explicit FgbiScheme(const FgbiSchemeOptions& o)
      : name_(o.name),
        link_mbps_(o.link_mbps),
        replica_bytes_(o.tracked_pages * SyntheticWorkload::kPageSize),
        replica_(static_cast<uint8_t*>(
            std::aligned_alloc(SyntheticWorkload::kPageSize, replica_bytes_))) {
    if (!replica_) throw std::bad_alloc();
    std::memset(replica_.get(), 0, replica_bytes_);
    fgbi_sender* s = nullptr;
    fgbi_receiver* r = nullptr;
    check(fgbi_sender_create(&s), "fgbi_sender_create");
    sender_.reset(s);
    check(fgbi_receiver_create(&r), "fgbi_receiver_create");
    receiver_.reset(r);
    const auto pages = static_cast<int64_t>(o.tracked_pages);
    for (auto [param, value] : {std::pair{FGBI_P_TRACKED_PAGES, pages},
                                {FGBI_P_BLOCK_SIZE, o.block_size},
                                {FGBI_P_THREADS, o.threads},
                                {FGBI_P_BACKEND, o.backend},
                                {FGBI_P_DIGEST, int64_t{o.digest}}}) {
      check(fgbi_sender_set_parameter(s, param, value), "fgbi_sender_set_parameter");
      check(fgbi_receiver_set_parameter(r, param, value), "fgbi_receiver_set_parameter");
    }
    for (auto [param, value] : {std::pair{FGBI_P_SHARING, o.sharing},
                                {FGBI_P_CODECS, o.codecs},
                                {FGBI_P_LINK_MBPS, o.link_mbps},
                                {FGBI_P_CACHE_BYTES, o.cache_bytes},
                                {FGBI_P_INDEX_BYTES, o.index_bytes},
                                {FGBI_P_ADAPTIVE, o.adaptive}})
      check(fgbi_sender_set_parameter(s, param, value), "fgbi_sender_set_parameter");
    // The initial synchronisation carries every page: let the receiver take it.
    const size_t sync_bytes = fgbi_sender_epoch_bound(s, o.tracked_pages);
    int64_t max_epoch = 0;
    check(fgbi_receiver_get_parameter(r, FGBI_P_MAX_EPOCH_BYTES, &max_epoch),
          "fgbi_receiver_get_parameter");
    if (sync_bytes > static_cast<size_t>(max_epoch))
      check(
          fgbi_receiver_set_parameter(r, FGBI_P_MAX_EPOCH_BYTES, static_cast<int64_t>(sync_bytes)),
          "fgbi_receiver_set_parameter");
    check(fgbi_receiver_attach_memory(r, replica_.get(), replica_bytes_),
          "fgbi_receiver_attach_memory");
  }

  const std::string& name() const override { return name_; }

  bool capture(const DirtyEpoch& epoch) override {
    const auto& pfns = epoch.pfns;
    check(fgbi_sender_begin_epoch(sender_.get(), nullptr), "fgbi_sender_begin_epoch");
    check(fgbi_sender_add_pages(sender_.get(), pfns.data(),
                                reinterpret_cast<const void* const*>(epoch.pages.data()),
                                pfns.size(), nullptr),
          "fgbi_sender_add_pages");
    return true;
  }

  size_t encode(const DirtyEpoch& epoch) override {
    const size_t bound = fgbi_sender_epoch_bound(sender_.get(), epoch.pfns.size());
    if (stream_.size() < bound) stream_.resize(bound);
    check(fgbi_sender_end_epoch(sender_.get(), stream_.data(), stream_.size(), &written_),
          "fgbi_sender_end_epoch");
    return written_;
  }

  // The whole epoch in one call, as every peer's decoder gets it: the
  // receiver parses it where it lies (on a link it collects the pieces as
  // they arrive, which overlaps the transfer).
  void decode() override {
    check(fgbi_receiver_feed(receiver_.get(), stream_.data(), written_), "fgbi_receiver_feed");
  }

  bool replica_matches(const uint8_t* primary, size_t bytes) const override {
    return bytes == replica_bytes_ && std::memcmp(primary, replica_.get(), bytes) == 0;
  }

  Counters counters() const override {
    Counters out;
    for (int s = FGBI_STAT_FIRST; s <= FGBI_STAT_LAST; ++s) {
      uint64_t v = 0;
      if (fgbi_sender_get_stat(sender_.get(), static_cast<fgbi_stat>(s), &v) == FGBI_OK)
        out.emplace_back(fgbi_stat_name(static_cast<fgbi_stat>(s)), v);
    }
    return out;
  }

  std::optional<double> tuned_link_gbps() const override {
    return static_cast<double>(link_mbps_) / 1000;
  }

 private:
  struct SenderFree {
    void operator()(fgbi_sender* s) const { fgbi_sender_free(s); }
  };
  struct ReceiverFree {
    void operator()(fgbi_receiver* r) const { fgbi_receiver_free(r); }
  };
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::string name_;
  int64_t link_mbps_;
  // Page-aligned, as a real replica (a mapped file, a guest's memory) is.
  size_t replica_bytes_;
  std::unique_ptr<uint8_t[], Free> replica_;
  std::unique_ptr<fgbi_sender, SenderFree> sender_;
  std::unique_ptr<fgbi_receiver, ReceiverFree> receiver_;
  std::vector<uint8_t> stream_;
  size_t written_ = 0;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Reads every cache line of the epoch's pages.
void warm(const DirtyEpoch& epoch) {
  uint64_t sum = 0;
  for (const uint8_t* page : epoch.pages)
    for (size_t i = 0; i < SyntheticWorkload::kPageSize; i += 64) sum += page[i];
  volatile uint64_t sink = sum;
  (void)sink;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::unique_ptr<Scheme> make_fgbi_scheme(const FgbiSchemeOptions& options) {
  return std::make_unique<FgbiScheme>(options);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double PhaseFigures::pause_ms_percentile(double p) const { return percentile(epoch_pause_ms, p); }

double PhaseFigures::latency_ms_percentile(double p, double link_gbps) const {
  const double link_bytes_per_s = link_gbps * 1e9 / 8;
  std::vector<double> ms;
  ms.reserve(epoch_samples.size());
  for (const EpochSample& s : epoch_samples)
    ms.push_back(1e3 * commit_latency_s(s, link_bytes_per_s));
  return percentile(std::move(ms), p);
}

double commit_latency_s(const EpochSample& s, double link_bytes_per_s) {
  const double send_s = static_cast<double>(s.wire_bytes) / link_bytes_per_s;
  const double segment_share =
      s.pages > kStreamSegmentPages ? static_cast<double>(kStreamSegmentPages) / s.pages : 1.0;
  return s.pause_wall_s + std::max(s.encode_wall_s, send_s) +
         std::min(s.encode_wall_s, send_s) * segment_share + s.decode_wall_s;
}

EpochFeed::EpochFeed(std::string name, std::unique_ptr<adapters::DirtySource> source,
                     std::optional<WorkloadModel> model)
    : name_(std::move(name)), shadow_(std::move(source)), model_(std::move(model)) {}

bool EpochFeed::next(DirtyEpoch& epoch) {
  adapters::Epoch e;
  const adapters::Next n = shadow_.next(e, end_message_);
  if (n == adapters::Next::kError) throw SchemeError{name_ + ": " + end_message_};
  if (n == adapters::Next::kEnd) return false;
  pages_.resize(e.size());
  for (size_t i = 0; i < e.size(); ++i) pages_[i] = static_cast<const uint8_t*>(e.pages[i]);
  epoch.pfns = e.pfns;
  epoch.pages = pages_;
  return true;
}

WorkloadResult run_workload(EpochFeed& feed, std::vector<std::unique_ptr<Scheme>>& schemes,
                            const RunOptions& options) {
  WorkloadResult result;
  result.name = feed.name();
  result.description = feed.description();
  result.tracked_pages = feed.tracked_pages();
  result.model = feed.model();
  result.schemes.resize(schemes.size());
  for (size_t i = 0; i < schemes.size(); ++i) {
    result.schemes[i].name = schemes[i]->name();
    result.schemes[i].tuned_link_gbps = schemes[i]->tuned_link_gbps();
  }

  const uint32_t total = 1 + options.warmup + options.epochs;
  DirtyEpoch epoch;
  // Remus's stop-and-copy, for schemes that encode from a copy.
  std::vector<uint8_t> copy;
  std::vector<const uint8_t*> copy_pages;
  for (uint32_t e = 0; e < total && feed.next(epoch); ++e) {
    if (options.observe) options.observe(e, epoch);
    // The scheme that runs first after the workload wrote its pages finds
    // its own tables evicted from the CPU caches: each epoch another
    // scheme goes first, so that none pays that more often than the rest.
    for (size_t k = 0; k < schemes.size(); ++k) {
      const size_t i = (e + k) % schemes.size();
      SchemeResult& r = result.schemes[i];
      PhaseFigures& f = e == 0 ? r.sync : e <= options.warmup ? r.warmup : r.steady;
      if (options.warm_pages) warm(epoch);
      const double cpu0 = process_cpu_seconds(), wall0 = wall_seconds();
      DirtyEpoch source = epoch;
      if (!schemes[i]->capture(epoch)) {
        constexpr size_t kPage = SyntheticWorkload::kPageSize;
        copy.resize(epoch.pages.size() * kPage);
        copy_pages.resize(epoch.pages.size());
        for (size_t p = 0; p < epoch.pages.size(); ++p) {
          std::memcpy(copy.data() + p * kPage, epoch.pages[p], kPage);
          copy_pages[p] = copy.data() + p * kPage;
        }
        source.pages = copy_pages;
      }
      const double resumed = wall_seconds();
      const size_t wire = schemes[i]->encode(source);
      const double wall1 = wall_seconds(), cpu1 = process_cpu_seconds();
      schemes[i]->decode();
      const double wall2 = wall_seconds();
      const EpochSample sample{epoch.pages.size(), wire,        resumed - wall0,
                               wall1 - resumed,    cpu1 - cpu0, wall2 - wall1};
      ++f.epochs;
      f.pages += sample.pages;
      f.dirty_bytes += sample.pages * SyntheticWorkload::kPageSize;
      f.wire_bytes += wire;
      f.pause_wall_s += sample.pause_wall_s;
      f.encode_wall_s += sample.encode_wall_s;
      f.encode_cpu_s += sample.encode_cpu_s;
      f.decode_wall_s += sample.decode_wall_s;
      f.epoch_samples.push_back(sample);
      f.epoch_pause_ms.push_back(1e3 * sample.pause_wall_s);
    }
    if (options.progress) options.progress(e + 1, total);
  }
  const size_t bytes = feed.tracked_pages() * SyntheticWorkload::kPageSize;
  for (size_t i = 0; i < schemes.size(); ++i) {
    result.schemes[i].replica_matches = schemes[i]->replica_matches(feed.primary(), bytes);
    result.schemes[i].counters = schemes[i]->counters();
  }
  return result;
}

const SchemeResult* run_for_link(const WorkloadResult& result, const std::string& name,
                                 double link_gbps) {
  const SchemeResult* best = nullptr;
  double best_distance = 0;
  for (const SchemeResult& s : result.schemes) {
    if (s.name != name) continue;
    if (!s.tuned_link_gbps) return &s;
    const double distance = std::abs(std::log(*s.tuned_link_gbps / link_gbps));
    if (best == nullptr || distance < best_distance) {
      best = &s;
      best_distance = distance;
    }
  }
  return best;
}

std::vector<const SchemeResult*> schemes_at_link(const WorkloadResult& result, double link_gbps) {
  std::vector<const SchemeResult*> out;
  for (const SchemeResult& s : result.schemes)
    if (std::none_of(out.begin(), out.end(),
                     [&](const SchemeResult* seen) { return seen->name == s.name; }))
      out.push_back(run_for_link(result, s.name, link_gbps));
  return out;
}

LatencySweep sweep_latency(const WorkloadResult& result, double from_gbps, double to_gbps,
                           size_t points) {
  LatencySweep sweep;
  for (size_t i = 0; i < points; ++i)
    sweep.link_gbps.push_back(from_gbps *
                              std::pow(to_gbps / from_gbps, static_cast<double>(i) / (points - 1)));
  for (const SchemeResult* s : schemes_at_link(result, from_gbps)) {
    LatencySeries series{s->name, {}};
    for (double gbps : sweep.link_gbps)
      series.latency_ms.push_back(
          run_for_link(result, s->name, gbps)->steady.latency_ms_percentile(50, gbps));
    sweep.series.push_back(std::move(series));
  }
  return sweep;
}

}  // namespace fgbi::eval
