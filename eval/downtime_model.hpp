// The downtime model of docs/downtime-model.md. From what each epoch of a
// replication scheme costs - the work the guest waits for, the work done
// after it resumes, the bytes that cross the link, the backup's commit -
// it lays out the primary/backup timeline over a link and derives type II
// downtime (the guest's pause per checkpoint), epoch latency (capture to
// acknowledgement) and type I downtime (a failure at a uniformly random
// instant until the backup serves again). Pure arithmetic: the costs are
// measured elsewhere (bench/evaluation.hpp) and handed in.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "evaluation.hpp"

namespace fgbi::eval::downtime {

// TCP payload per byte a shaper or NIC counts at MTU 1500: 1448 bytes of
// payload (IPv4, TCP with timestamps) in a 1514-byte Ethernet frame.
inline constexpr double kTcpEfficiency = 1448.0 / 1514.0;

// Xen 4.2-4.13 xc_domain_save: Remus copies a checkpoint into a 16 MiB
// output buffer while the guest is suspended and flushes it (sends) when it
// is full, so bytes beyond it cross the link before the guest resumes.
inline constexpr uint64_t kRemusBufferBytes = uint64_t{16} << 20;
// fgbi_link: end_epoch waits while the send queue holds FGBI_SP_QUEUE_BYTES.
inline constexpr uint64_t kFgbiQueueBytes = uint64_t{64} << 20;
// A Remus-format record: a u64 pfn and the page; a u32 count per epoch.
inline constexpr uint64_t kPageRecordBytes = 4096 + 8;

struct Link {
  double payload_bytes_per_s = 1e9 / 8 * kTcpEfficiency;
  double rtt_s = 100e-6;
  // Bytes a token-bucket shaper lets through at once after an idle spell
  // (its burst); 0 for a plain link.
  double burst_bytes = 0;
};

// A link of `gbps` line rate carrying `efficiency` payload bytes per byte.
Link line_rate(double gbps, double efficiency = kTcpEfficiency);

// Where a scheme's per-checkpoint work sits relative to the guest's pause.
struct Pipeline {
  double interval_s = 0.05;  // from one capture to the next (LLM: its memory interval)
  double pause_s = 0;        // fixed per checkpoint: suspend, read the dirty log, resume
  // Bytes the primary can hold while the guest is paused; what the pause
  // produces beyond them is sent before the guest resumes.
  uint64_t held_limit_bytes = UINT64_MAX;
  // COLO-style: the guest resumes only once the backup has loaded the state.
  bool resume_after_commit = false;
};

// One checkpoint of one scheme.
struct EpochCost {
  double paused_work_s = 0;    // done while the guest is paused (copy, identify, encode)
  double deferred_work_s = 0;  // done after it resumes, before the rest is sent (compression)
  uint64_t held_bytes = 0;     // what the pause produces (Remus: the copied pages)
  uint64_t wire_bytes = 0;     // what crosses the link
  double commit_s = 0;         // backup: from the last byte to the committed state
  double cpu_s = 0;            // primary CPU seconds
  // Streamed (fgbi_link): the first bytes leave this long after the guest
  // resumes, while the rest is still being encoded; < 0: only once all of
  // deferred_work_s is done.
  double first_bytes_s = -1;
};

struct EpochTimes {
  double capture = 0;    // the guest pauses
  double resume = 0;     // it runs again
  double arrived = 0;    // the last byte is at the backup
  double committed = 0;  // the backup holds the checkpoint
  double acked = 0;      // the primary knows (Remus: buffered output released)
  bool waited = false;   // captured late: the previous checkpoint was not acknowledged in time

  double type2_s() const { return resume - capture; }
  double latency_s() const { return acked - capture; }
};

// The timeline of consecutive checkpoints. One checkpoint is in flight at a
// time, as in Remus: the next capture comes `interval_s` after the last or
// when the last is acknowledged, whichever is later.
std::vector<EpochTimes> simulate(std::span<const EpochCost> costs, const Pipeline& pipeline,
                                 const Link& link);

struct Failover {
  double detect_s = 3.0;    // silence after which the backup declares the primary dead
  double resume_s = 0;      // the backup starts its guest from the replica
  double redo_share = 1.0;  // seconds to redo per second of work lost since the state's capture
  uint32_t samples = 10000;
};

// Type I downtime for failures at `samples` evenly spread instants between
// the first commit and the last capture: detection, finishing a checkpoint
// that had fully arrived (the rest is discarded), resuming, and redoing the
// work done since the capture of the state the backup resumes from (LLM:
// replaying the requests logged since its memory checkpoint). Empty when no
// checkpoint was committed before the last capture.
std::vector<double> type1_downtimes(std::span<const EpochTimes> timeline, const Failover& failover);

// Distinct pages dirtied over each `group` consecutive epochs: what LLM's
// memory checkpoints carry when it checkpoints memory every `group` epochs.
class CheckpointUnion {
 public:
  CheckpointUnion(uint64_t tracked_pages, uint32_t group);
  void add_epoch(std::span<const uint64_t> pfns);
  // Complete groups only, in order.
  const std::vector<uint64_t>& checkpoint_pages() const { return checkpoints_; }

 private:
  uint32_t group_;
  uint32_t epochs_ = 0;
  std::vector<uint8_t> seen_;
  std::vector<uint64_t> members_;
  std::vector<uint64_t> checkpoints_;
};

// The schemes of docs/downtime-model.md: where each one's work sits and
// what it costs per checkpoint, from the runner's per-epoch samples.
//   remus       copy the dirty pages while paused, send them after resuming
std::vector<EpochCost> remus_costs(std::span<const EpochSample> remus_full);
//   llm         Remus's memory checkpoint every `group` epochs (the pages
//               dirtied since the last one), at Remus's measured per-page costs
std::vector<EpochCost> llm_costs(std::span<const uint64_t> checkpoint_pages,
                                 std::span<const EpochSample> remus_full);
//   fgbi-paper  identify changed blocks and copy them while paused (the
//               `identify` run: sharing on, codecs off); compress after resuming
std::vector<EpochCost> fgbi_paper_costs(std::span<const EpochSample> paper,
                                        std::span<const EpochSample> identify);
//   fgbi        capture while paused (fgbi_sender_add_pages: hash, compare, copy
//               the changed blocks), encode after resuming and stream as
//               segments are ready; the backup journals the pages it
//               overwrites, then applies
std::vector<EpochCost> fgbi_costs(std::span<const EpochSample> fgbi, double copy_s_per_byte);
//   xbzrle      COLO checkpoint: encode, send and load while paused
std::vector<EpochCost> xbzrle_costs(std::span<const EpochSample> xbzrle);

// Seconds per byte of a memcpy over a buffer far beyond the caches (the
// backup's journal copy), measured on this machine: the best of a few runs.
double measure_copy_s_per_byte();

// One scheme's modelled figures.
struct SchemeDowntime {
  std::string name;
  Pipeline pipeline;
  double epochs_per_checkpoint = 1;  // guest epochs one checkpoint covers (LLM: its group)
  std::vector<EpochCost> costs;
  std::vector<EpochTimes> timeline;
  std::vector<double> type1_s;

  double type2_ms(double p) const;
  double latency_ms(double p) const;
  double type1_ms(double p) const;
  double wire_bytes_per_epoch() const;  // per guest epoch
  double cpu_ms_per_epoch() const;      // per guest epoch
  double paused_share() const;          // of the guest's time: the runtime overhead
  double waited_share() const;          // checkpoints captured late (link or backup too slow)
};

// Every scheme's figures for one workload.
struct WorkloadDowntime {
  std::string name, description;
  std::vector<SchemeDowntime> schemes;
};

SchemeDowntime evaluate(std::string name, std::vector<EpochCost> costs, const Pipeline& pipeline,
                        const Link& link, const Failover& failover,
                        double epochs_per_checkpoint = 1);

}  // namespace fgbi::eval::downtime
