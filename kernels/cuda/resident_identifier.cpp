#include "cuda/resident_identifier.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/cuda_backend.hpp"
#include "cuda/device_kernels.hpp"
#include "kernels.hpp"

namespace fgbi::kernels::cuda {
namespace {

// Under kAuto, every this many epochs the slower transfer is measured again.
constexpr uint64_t kRemeasurePeriod = 16;
// Weight of the newest epoch in a transfer's measured rate.
constexpr double kRateWeight = 0.25;

const ResidentConfig& checked(const ResidentConfig& config) {
  use_device();
  if (config.memory == nullptr || config.pages == 0)
    throw std::invalid_argument("ResidentIdentifier: no tracked memory");
  if (reinterpret_cast<uintptr_t>(config.memory) % kPageSize != 0)
    throw std::invalid_argument("ResidentIdentifier: tracked memory is not 4096-byte aligned");
  const uint32_t b = config.block_size;
  if (b != 32 && b != 64 && b != 128 && b != 256)
    throw std::invalid_argument("ResidentIdentifier: block size must be 32, 64, 128 or 256");
  if (config.chunk_pages == 0) throw std::invalid_argument("ResidentIdentifier: chunk_pages is 0");
  return config;
}

}  // namespace

const char* transfer_name(Transfer transfer) {
  switch (transfer) {
    case Transfer::kStaged: return "staged";
    case Transfer::kZeroCopy: return "zero-copy";
    case Transfer::kAuto: return "auto";
  }
  return "?";
}

Transfer transfer_from_environment() {
  const char* value = std::getenv("FGBI_CUDA_TRANSFER");
  if (value == nullptr) return Transfer::kAuto;
  const std::string v = value;
  if (v == "staged") return Transfer::kStaged;
  if (v == "zero-copy") return Transfer::kZeroCopy;
  return Transfer::kAuto;
}

// One identify() call through the pipeline. Buffer layout of a chunk of n
// pages: pfns[n] | changed[n] | zero[n] in pinned and device memory, then,
// on the device only and for kStaged, pages[n]. Input region: the pfns;
// output region: the bitmaps.
class ResidentIdentifier::Job {
 public:
  Job(ResidentIdentifier& owner, Transfer transfer, const uint64_t* pfns, uint64_t* changed,
      uint64_t* zero)
      : owner_(owner), transfer_(transfer), pfns_(pfns), changed_(changed), zero_(zero) {}

  ChunkLayout layout(size_t n) const {
    const Offsets o = offsets(n);
    return {.in_offset = 0,
            .in_bytes = o.changed,
            .out_offset = o.changed,
            .out_bytes = o.end - o.changed,
            .pinned_bytes = o.end,
            .device_bytes = transfer_ == Transfer::kStaged ? o.pages + n * kPageSize : o.end};
  }

  void stage(size_t first, size_t n, uint8_t* pinned) const {
    std::memcpy(pinned, pfns_ + first, n * sizeof(uint64_t));
  }

  void enqueue(size_t, size_t n, uint8_t* device, const uint8_t* pinned, cudaStream_t stream) {
    const Offsets o = offsets(n);
    const auto* device_pfns = reinterpret_cast<const uint64_t*>(device);
    DeviceIdentify job;
    job.count = n;
    job.block_size = owner_.config_.block_size;
    job.hash_mask = owner_.config_.hash_mask;
    if (transfer_ == Transfer::kStaged) {
      copy_pages(reinterpret_cast<const uint64_t*>(pinned), n, device + o.pages, stream);
      job.pages.base = device + o.pages;
    } else {
      job.pages.base = owner_.registration_.device_pointer();
      job.pages.index = device_pfns;
    }
    job.hashes = reinterpret_cast<uint64_t*>(owner_.hashes_.data());
    job.slots = device_pfns;
    job.known = owner_.known_.data();
    job.mark_known = true;
    job.changed = reinterpret_cast<uint64_t*>(device + o.changed);
    job.zero = reinterpret_cast<uint64_t*>(device + o.zero);
    check(launch_identify(job, stream), "identify kernel launch");
  }

  void finish(size_t first, size_t n, const uint8_t* pinned) const {
    const Offsets o = offsets(n);
    std::memcpy(changed_ + first * kBitmapWords, pinned + o.changed, o.zero - o.changed);
    if (zero_ != nullptr)
      std::memcpy(zero_ + first * kBitmapWords, pinned + o.zero, o.end - o.zero);
  }

 private:
  struct Offsets {
    size_t changed, zero, end, pages;
  };
  static Offsets offsets(size_t n) {
    Offsets o;
    o.changed = align16(n * sizeof(uint64_t));
    o.zero = o.changed + n * sizeof(PageBitmap);
    o.end = o.zero + n * sizeof(PageBitmap);
    o.pages = align16(o.end);
    return o;
  }

  // Queues DMA copies of the chunk's pages from the registered memory into
  // consecutive device pages, one copy per run of consecutive pfns.
  void copy_pages(const uint64_t* pfns, size_t n, uint8_t* to, cudaStream_t stream) {
    dsts_.clear();
    srcs_.clear();
    sizes_.clear();
    for (size_t i = 0; i < n;) {
      size_t run = 1;
      while (i + run < n && pfns[i + run] == pfns[i] + run) ++run;
      dsts_.push_back(to + i * kPageSize);
      srcs_.push_back(owner_.config_.memory + pfns[i] * kPageSize);
      sizes_.push_back(run * kPageSize);
      i += run;
    }
    if (owner_.batch_copies_) {
      cudaMemcpyAttributes attributes{};
      attributes.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
      attributes.flags = cudaMemcpyFlagPreferOverlapWithCompute;
      size_t first_copy = 0;
      if (cudaMemcpyBatchAsync(dsts_.data(), srcs_.data(), sizes_.data(), dsts_.size(), &attributes,
                               &first_copy, 1, stream) == cudaSuccess)
        return;
      // A driver without batched copies: clear its error, copy run by run.
      cudaGetLastError();
      owner_.batch_copies_ = false;
    }
    for (size_t k = 0; k < dsts_.size(); ++k)
      check(cudaMemcpyAsync(dsts_[k], srcs_[k], sizes_[k], cudaMemcpyHostToDevice, stream),
            "cudaMemcpyAsync (dirty pages)");
  }

  ResidentIdentifier& owner_;
  Transfer transfer_;
  const uint64_t* pfns_;
  uint64_t* changed_;
  uint64_t* zero_;
  std::vector<void*> dsts_;
  std::vector<const void*> srcs_;
  std::vector<size_t> sizes_;
};

ResidentIdentifier::ResidentIdentifier(const ResidentConfig& config)
    : config_(checked(config)),
      blocks_(kPageSize / config.block_size),
      registration_(config.memory, config.pages * kPageSize),
      pipeline_(kPipelineDepth),
      seen_((config.pages + 63) / 64, 0) {
  hashes_.grow(config.pages * blocks_ * sizeof(uint64_t));
  known_.grow(config.pages);
  check(cudaMemset(known_.data(), 0, config.pages), "cudaMemset");
}

void ResidentIdentifier::validate(const uint64_t* pfns, size_t count) {
  size_t bad = count;
  for (size_t i = 0; i < count && bad == count; ++i) {
    const uint64_t pfn = pfns[i];
    if (pfn >= config_.pages || (seen_[pfn / 64] >> (pfn % 64) & 1) != 0)
      bad = i;
    else
      seen_[pfn / 64] |= 1ull << (pfn % 64);
  }
  for (size_t i = 0; i < std::min(bad, count); ++i) seen_[pfns[i] / 64] = 0;
  if (bad == count) return;
  throw std::invalid_argument("ResidentIdentifier: pfn " + std::to_string(pfns[bad]) +
                              (pfns[bad] >= config_.pages ? " is out of range" : " repeats"));
}

Transfer ResidentIdentifier::choose() {
  if (config_.transfer != Transfer::kAuto) return config_.transfer;
  if (rate_[0] == 0) return Transfer::kStaged;
  if (rate_[1] == 0) return Transfer::kZeroCopy;
  const bool staged_faster = rate_[0] >= rate_[1];
  const bool remeasure = ++epochs_ % kRemeasurePeriod == 0;
  return staged_faster != remeasure ? Transfer::kStaged : Transfer::kZeroCopy;
}

void ResidentIdentifier::identify(const uint64_t* pfns, size_t count, uint64_t* changed,
                                  uint64_t* zero) {
  if (count == 0) return;
  validate(pfns, count);
  use_device();
  const Transfer transfer = choose();
  const auto start = std::chrono::steady_clock::now();
  Job job(*this, transfer, pfns, changed, zero);
  size_t finished = 0;
  pipeline_.run(job, count, config_.chunk_pages, finished);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = static_cast<double>(count * kPageSize) / std::max(seconds, 1e-9);
  double& r = rate_[index(transfer)];
  r = r == 0 ? rate : (1 - kRateWeight) * r + kRateWeight * rate;
  last_ = transfer;
}

void ResidentIdentifier::read_hashes(uint64_t pfn, uint64_t* out) const {
  if (pfn >= config_.pages) throw std::invalid_argument("ResidentIdentifier: pfn out of range");
  use_device();
  const size_t bytes = blocks_ * sizeof(uint64_t);
  check(cudaMemcpy(out, hashes_.data() + pfn * bytes, bytes, cudaMemcpyDeviceToHost),
        "cudaMemcpy (hashes)");
}

}  // namespace fgbi::kernels::cuda
