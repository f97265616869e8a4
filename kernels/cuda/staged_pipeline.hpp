// Chunked host<->device pipeline: several slots, each a stream with its own
// pinned and device buffers, so that the host prepares chunk c while the
// copies and the kernel of chunks c-1, c-2, ... run, and copies in one
// stream overlap kernels in another.
//
// A Job describes one batch of `items`:
//   ChunkLayout layout(size_t n) const;    // buffers for a chunk of n items
//   void stage(size_t first, size_t n, uint8_t* pinned);
//       host: writes the chunk's inputs into the pinned buffer
//   void enqueue(size_t first, size_t n, uint8_t* device, const uint8_t* pinned,
//                cudaStream_t stream);
//       queues the chunk's own copies and kernels, after the pipeline's
//       copy of the input region and before its copy of the output region
//   void finish(size_t first, size_t n, const uint8_t* pinned);
//       host: reads the chunk's outputs from the pinned buffer
// Chunks finish in order, so after a CudaFailure `finished` items (a
// prefix) are complete and the rest untouched by finish().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/cuda_resources.hpp"

namespace fgbi::kernels::cuda {

// Byte regions of a chunk's buffers. The pipeline copies pinned[in] to
// device[in] before enqueue() and device[out] to pinned[out] after it.
struct ChunkLayout {
  size_t in_offset = 0, in_bytes = 0;
  size_t out_offset = 0, out_bytes = 0;
  size_t pinned_bytes = 0;  // pinned buffer size
  size_t device_bytes = 0;  // device buffer size (>= the regions above)
};

// Rounds up to the 16 bytes the kernels' vector loads need.
constexpr size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

class StagedPipeline {
 public:
  explicit StagedPipeline(size_t depth) : slots_(depth) {}

  template <class Job>
  void run(Job& job, size_t items, size_t chunk_items, size_t& finished) {
    finished = 0;
    const size_t depth = slots_.size();
    // Chunks a failed run left behind are waited for and dropped.
    for (Slot& slot : slots_) {
      if (slot.items != 0) cudaEventSynchronize(slot.done.get());
      slot.items = 0;
    }
    size_t chunk = 0;
    for (size_t first = 0; first < items; first += chunk_items, ++chunk) {
      Slot& slot = slots_[chunk % depth];
      if (slot.items != 0) retire(job, slot, finished);
      const size_t n = std::min(chunk_items, items - first);
      const ChunkLayout l = job.layout(n);
      slot.pinned.grow(l.pinned_bytes);
      slot.device.grow(l.device_bytes);
      job.stage(first, n, slot.pinned.data());
      const cudaStream_t stream = slot.stream.get();
      if (l.in_bytes != 0)
        check(cudaMemcpyAsync(slot.device.data() + l.in_offset, slot.pinned.data() + l.in_offset,
                              l.in_bytes, cudaMemcpyHostToDevice, stream),
              "cudaMemcpyAsync (chunk input)");
      job.enqueue(first, n, slot.device.data(), slot.pinned.data(), stream);
      if (l.out_bytes != 0)
        check(cudaMemcpyAsync(slot.pinned.data() + l.out_offset, slot.device.data() + l.out_offset,
                              l.out_bytes, cudaMemcpyDeviceToHost, stream),
              "cudaMemcpyAsync (chunk output)");
      slot.done.record(stream);
      slot.first = first;
      slot.items = n;
    }
    // The slot after the last one used holds the oldest chunk still running.
    for (size_t k = 0; k < depth; ++k) {
      Slot& slot = slots_[(chunk + k) % depth];
      if (slot.items != 0) retire(job, slot, finished);
    }
  }

 private:
  struct Slot {
    Stream stream;
    Event done;
    PinnedBytes pinned;
    DeviceBytes device;
    size_t first = 0, items = 0;
  };

  template <class Job>
  static void retire(Job& job, Slot& slot, size_t& finished) {
    const size_t n = slot.items;
    slot.items = 0;  // a failed chunk is dropped, never finished twice
    slot.done.synchronize();
    job.finish(slot.first, n, slot.pinned.data());
    finished += n;
  }

  std::vector<Slot> slots_;
};

}  // namespace fgbi::kernels::cuda
