// GPU identification with state resident on the device: the shape the
// engine needs to make a GPU pay (docs/cuda.md), and what the benchmark
// measures. The KernelTable's identify gets arbitrary page pointers and
// host-resident hashes per call; this class instead owns
//  - the tracked memory's registration (cudaHostRegister, once: it costs
//    about as much as hashing the memory, so never per epoch),
//  - the block hashes and known flags of every page, on the device across
//    epochs,
// and takes an epoch's dirty pfns; only the pfn list goes over PCIe to the
// device and only the changed and zero bitmaps come back (32 bytes a page
// with 64-byte blocks), besides the dirty pages themselves:
//  - kStaged: DMA copies of the dirty pages (runs of consecutive pfns
//    coalesced) into device staging buffers, kPipelineDepth streams, the
//    kernels of one chunk overlapping the copies of the next;
//  - kZeroCopy: the kernels read the dirty pages straight from the mapped
//    host memory over PCIe, no copy and no host work per page;
//  - kAuto: both measured, then the faster per epoch (re-measured now and
//    then, since the answer depends on the dirty pattern).
// Not thread-safe: one identifier per sender. Errors throw CudaFailure (the
// identifier's state is then unspecified) or std::invalid_argument (a bad
// pfn list: nothing changed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/cuda_resources.hpp"
#include "cuda/staged_pipeline.hpp"

namespace fgbi::kernels::cuda {

enum class Transfer { kStaged, kZeroCopy, kAuto };

const char* transfer_name(Transfer transfer);
// FGBI_CUDA_TRANSFER=staged|zero-copy|auto; kAuto when unset or unknown.
Transfer transfer_from_environment();

struct ResidentConfig {
  // pages * kPageSize bytes, 4096-byte aligned, mapped for the identifier's
  // lifetime; the device only reads it.
  const uint8_t* memory = nullptr;
  size_t pages = 0;
  uint32_t block_size = 64;
  uint64_t hash_mask = ~0ull;
  Transfer transfer = transfer_from_environment();
  size_t chunk_pages = 16384;  // 64 MiB of pages a pipeline chunk
};

class ResidentIdentifier {
 public:
  explicit ResidentIdentifier(const ResidentConfig& config);

  // IdentifyBatch semantics for the pages `pfns` (distinct, < pages, any
  // order) against the hashes stored by earlier calls: changed and zero
  // (optional) receive count * kBitmapWords words; a page never identified
  // before reports every block changed.
  void identify(const uint64_t* pfns, size_t count, uint64_t* changed, uint64_t* zero);

  // The stored hashes of page pfn (kPageSize / block_size words).
  void read_hashes(uint64_t pfn, uint64_t* out) const;

  // The transfer the last identify() used, and the measured throughput of
  // each (bytes of dirty pages a second, 0 until measured).
  Transfer last_transfer() const { return last_; }
  double measured_rate(Transfer transfer) const { return rate_[index(transfer)]; }

 private:
  class Job;
  static size_t index(Transfer t) { return t == Transfer::kStaged ? 0 : 1; }
  Transfer choose();
  void validate(const uint64_t* pfns, size_t count);

  ResidentConfig config_;
  uint32_t blocks_;
  HostRegistration registration_;
  DeviceBytes hashes_;
  DeviceBytes known_;
  StagedPipeline pipeline_;
  std::vector<uint64_t> seen_;  // duplicate check, one bit a page
  bool batch_copies_ = true;    // cudaMemcpyBatchAsync accepted so far
  Transfer last_ = Transfer::kStaged;
  std::array<double, 2> rate_{};
  uint64_t epochs_ = 0;
};

}  // namespace fgbi::kernels::cuda
