// The CUDA KernelTable: device detection, a self-test, a pool of pipeline
// contexts for concurrent callers, and the fallback to the host kernels.
#include "cuda/cuda_backend.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "block_hash.hpp"
#include "cuda/cuda_resources.hpp"
#include "cuda/device_kernels.hpp"
#include "cuda/staged_pipeline.hpp"
#include "kernels.hpp"

namespace fgbi::kernels {
namespace cuda {
namespace {

const KernelTable& host_kernels() {
  const KernelTable* simd = simd_kernels();
  return simd != nullptr ? *simd : *scalar_kernels();
}

bool supported_block_size(uint32_t block_size) {
  return block_size == 32 || block_size == 64 || block_size == 128 || block_size == 256;
}

// IdentifyBatch through the pipeline. Buffer layout of a chunk of n pages,
// the same in pinned and device memory:
//   known[n] (padded) | pages[n] | hashes[n] | changed[n] | zero[n]
// input region: known..hashes; output region: hashes..zero.
class IdentifyJob {
 public:
  explicit IdentifyJob(const IdentifyBatch& batch)
      : batch_(batch), hash_bytes_(size_t{kPageSize / batch.block_size} * sizeof(uint64_t)) {}

  ChunkLayout layout(size_t n) const {
    const Offsets o = offsets(n);
    return {.in_offset = o.known,
            .in_bytes = o.changed - o.known,
            .out_offset = o.hashes,
            .out_bytes = o.end - o.hashes,
            .pinned_bytes = o.end,
            .device_bytes = o.end};
  }

  void stage(size_t first, size_t n, uint8_t* pinned) const {
    const Offsets o = offsets(n);
    for (size_t i = 0; i < n; ++i) {
      const bool known = batch_.known[first + i] != 0;
      pinned[o.known + i] = known;
      std::memcpy(pinned + o.pages + i * kPageSize, batch_.pages[first + i], kPageSize);
      // The kernel reads no stored hash of an unknown page.
      if (known)
        std::memcpy(pinned + o.hashes + i * hash_bytes_, batch_.hashes[first + i], hash_bytes_);
    }
  }

  void enqueue(size_t, size_t n, uint8_t* device, const uint8_t*, cudaStream_t stream) const {
    const Offsets o = offsets(n);
    DeviceIdentify job;
    job.count = n;
    job.block_size = batch_.block_size;
    job.hash_mask = batch_.hash_mask;
    job.pages.base = device + o.pages;
    job.hashes = reinterpret_cast<uint64_t*>(device + o.hashes);
    job.known = device + o.known;
    job.changed = reinterpret_cast<uint64_t*>(device + o.changed);
    job.zero = batch_.zero != nullptr ? reinterpret_cast<uint64_t*>(device + o.zero) : nullptr;
    check(launch_identify(job, stream), "identify kernel launch");
  }

  void finish(size_t first, size_t n, const uint8_t* pinned) const {
    const Offsets o = offsets(n);
    for (size_t i = 0; i < n; ++i)
      std::memcpy(batch_.hashes[first + i], pinned + o.hashes + i * hash_bytes_, hash_bytes_);
    std::memcpy(batch_.changed + first * kBitmapWords, pinned + o.changed, o.zero - o.changed);
    if (batch_.zero != nullptr)
      std::memcpy(batch_.zero + first * kBitmapWords, pinned + o.zero, o.end - o.zero);
  }

 private:
  struct Offsets {
    size_t known, pages, hashes, changed, zero, end;
  };
  Offsets offsets(size_t n) const {
    Offsets o;
    o.known = 0;
    o.pages = align16(n);
    o.hashes = o.pages + n * kPageSize;
    o.changed = o.hashes + n * hash_bytes_;
    o.zero = o.changed + n * sizeof(PageBitmap);
    o.end = o.zero + n * sizeof(PageBitmap);
    return o;
  }

  const IdentifyBatch& batch_;
  size_t hash_bytes_;
};

// hash_blocks through the pipeline: data[n blocks] (padded) | hashes[n].
class HashJob {
 public:
  HashJob(const uint8_t* data, uint32_t block_size, uint64_t hash_mask, uint64_t* out)
      : data_(data), block_size_(block_size), hash_mask_(hash_mask), out_(out) {}

  ChunkLayout layout(size_t n) const {
    const size_t hashes = hashes_offset(n);
    return {.in_offset = 0,
            .in_bytes = n * block_size_,
            .out_offset = hashes,
            .out_bytes = n * sizeof(uint64_t),
            .pinned_bytes = hashes + n * sizeof(uint64_t),
            .device_bytes = hashes + n * sizeof(uint64_t)};
  }
  void stage(size_t first, size_t n, uint8_t* pinned) const {
    std::memcpy(pinned, data_ + first * block_size_, n * block_size_);
  }
  void enqueue(size_t, size_t n, uint8_t* device, const uint8_t*, cudaStream_t stream) const {
    check(launch_hash_blocks(device, n, block_size_, hash_mask_,
                             reinterpret_cast<uint64_t*>(device + hashes_offset(n)), stream),
          "hash kernel launch");
  }
  void finish(size_t first, size_t n, const uint8_t* pinned) const {
    std::memcpy(out_ + first, pinned + hashes_offset(n), n * sizeof(uint64_t));
  }
  size_t chunk_blocks() const { return (kIdentifyChunkPages * kPageSize) / block_size_; }

 private:
  size_t hashes_offset(size_t n) const { return align16(n * block_size_); }

  const uint8_t* data_;
  uint32_t block_size_;
  uint64_t hash_mask_;
  uint64_t* out_;
};

struct Context {
  StagedPipeline pipeline{kPipelineDepth};
};

std::string describe(const cudaDeviceProp& p, int driver) {
  char details[128];
  std::snprintf(details, sizeof details, ", sm_%d%d, %d SMs, %.1f GiB, driver %d.%d", p.major,
                p.minor, p.multiProcessorCount, static_cast<double>(p.totalGlobalMem) / (1 << 30),
                driver / 1000, driver % 1000 / 10);
  return std::string(p.name) + details;
}

class Backend {
 public:
  static Backend& instance() {
    static Backend backend;
    return backend;
  }

  bool available() const { return available_; }
  bool present() const { return present_; }
  const std::string& description() const { return description_; }
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  std::string failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

  void fail(const std::exception& e) {
    std::lock_guard lock(mutex_);
    if (!failed_.load(std::memory_order_relaxed)) failure_ = e.what();
    failed_.store(true, std::memory_order_release);
  }

  // A context for one call; returned to the pool unless the call failed.
  class Lease {
   public:
    explicit Lease(Backend& backend) : backend_(backend), context_(backend.acquire()) {}
    ~Lease() {
      if (!backend_.failed()) backend_.release(std::move(context_));
    }
    Context& operator*() const { return *context_; }
    Context* operator->() const { return context_.get(); }

   private:
    Backend& backend_;
    std::unique_ptr<Context> context_;
  };

 private:
  Backend() {
    int count = 0;
    if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
      description_ = std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorName(e) +
                     ", " + cudaGetErrorString(e) + ")";
      return;
    }
    if (count == 0) {
      description_ = "no CUDA device (cudaGetDeviceCount found none)";
      return;
    }
    present_ = true;
    try {
      check(cudaSetDevice(kDevice), "cudaSetDevice");
      cudaDeviceProp props;
      check(cudaGetDeviceProperties(&props, kDevice), "cudaGetDeviceProperties");
      int driver = 0;
      check(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
      description_ = describe(props, driver);
      check(check_kernel_image(), "no kernel image for this device");
      if (const std::string differs = self_test(); !differs.empty()) {
        description_ = "CUDA self-test on " + description_ + ": " + differs +
                       " differ from the scalar reference";
        return;
      }
      available_ = true;
    } catch (const std::exception& e) {
      description_ = std::string("CUDA device present but unusable: ") + e.what();
    }
  }

  // Identifies and hashes a few pages on the device and compares with the
  // scalar reference: a broken driver, image or device reads unavailable.
  // Returns what differs (empty: nothing).
  std::string self_test() {
    constexpr size_t kPages = 3;
    constexpr uint32_t kBlock = 64, kBlocks = kPageSize / kBlock;
    // Page 0 zero (unknown), page 1 random, page 2 = page 1 with one block
    // changed, both known with page 1's hashes stored.
    std::vector<uint8_t> memory(kPages * kPageSize, 0);
    uint64_t state = 0x5E1F7E57ull;
    for (size_t i = kPageSize; i < 2 * kPageSize; ++i)
      memory[i] = static_cast<uint8_t>(splitmix64_next(state));
    std::memcpy(memory.data() + 2 * kPageSize, memory.data() + kPageSize, kPageSize);
    memory[2 * kPageSize + 100] ^= 0x5A;

    std::vector<uint64_t> stored(kPages * kBlocks);
    scalar_kernels()->hash_blocks(memory.data() + kPageSize, kBlocks, kBlock, ~0ull,
                                  stored.data() + kBlocks);
    std::copy_n(stored.begin() + kBlocks, kBlocks, stored.begin() + 2 * kBlocks);
    struct Result {
      std::vector<uint64_t> hashes;
      uint64_t changed[kPages * kBitmapWords], zero[kPages * kBitmapWords];
    } expected{stored, {}, {}}, device{stored, {}, {}};
    auto batch_for = [&](Result& r, const uint8_t** pages, uint64_t** hashes) {
      static constexpr uint8_t kKnown[kPages] = {0, 1, 1};
      for (size_t p = 0; p < kPages; ++p) {
        pages[p] = memory.data() + p * kPageSize;
        hashes[p] = r.hashes.data() + p * kBlocks;
      }
      return IdentifyBatch{kPages, kBlock, ~0ull, pages, hashes, kKnown, r.changed, r.zero};
    };
    const uint8_t* pages[2][kPages];
    uint64_t* hashes[2][kPages];
    scalar_kernels()->identify(batch_for(expected, pages[0], hashes[0]));
    const IdentifyBatch device_batch = batch_for(device, pages[1], hashes[1]);
    IdentifyJob identify(device_batch);
    auto context = std::make_unique<Context>();
    size_t finished = 0;
    context->pipeline.run(identify, kPages, kIdentifyChunkPages, finished);

    constexpr uint32_t kSmallBlock = 32;
    std::vector<uint64_t> block_hashes(memory.size() / kSmallBlock);
    std::vector<uint64_t> expected_blocks(block_hashes.size());
    HashJob hash(memory.data(), kSmallBlock, ~0ull, block_hashes.data());
    context->pipeline.run(hash, block_hashes.size(), hash.chunk_blocks(), finished);
    scalar_kernels()->hash_blocks(memory.data(), expected_blocks.size(), kSmallBlock, ~0ull,
                                  expected_blocks.data());
    release(std::move(context));
    std::string differs;
    auto compare = [&](bool same, const char* what) {
      if (!same) differs += (differs.empty() ? "" : ", ") + std::string(what);
    };
    compare(device.hashes == expected.hashes, "identify hashes");
    compare(std::memcmp(device.changed, expected.changed, sizeof device.changed) == 0,
            "changed bitmaps");
    compare(std::memcmp(device.zero, expected.zero, sizeof device.zero) == 0, "zero bitmaps");
    compare(block_hashes == expected_blocks, "hash_blocks hashes");
    return differs;
  }

  std::unique_ptr<Context> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<Context> c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<Context>();
  }

  void release(std::unique_ptr<Context> context) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(context));
  }

  bool present_ = false;
  bool available_ = false;
  std::string description_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Context>> idle_;
  std::atomic<bool> failed_{false};
  std::string failure_;
};

// Runs `on_device` (which reports how many leading items it completed)
// unless the backend has failed; a CUDA failure or allocation failure marks
// the backend failed. Returns the items done on the device.
template <class Fn>
size_t try_device(Fn&& on_device) noexcept {
  Backend& backend = Backend::instance();
  size_t finished = 0;
  if (backend.failed()) return 0;
  try {
    check(cudaSetDevice(kDevice), "cudaSetDevice");
    Backend::Lease lease(backend);
    on_device(*lease, finished);
  } catch (const std::exception& e) {
    backend.fail(e);
  }
  return finished;
}

void hash_blocks(const uint8_t* data, size_t n_blocks, uint32_t block_size, uint64_t hash_mask,
                 uint64_t* out) {
  size_t done = 0;
  if (supported_block_size(block_size) && n_blocks * block_size >= kMinDeviceHashBytes) {
    HashJob job(data, block_size, hash_mask, out);
    done = try_device([&](Context& c, size_t& finished) {
      c.pipeline.run(job, n_blocks, job.chunk_blocks(), finished);
    });
  }
  if (done < n_blocks)
    host_kernels().hash_blocks(data + done * block_size, n_blocks - done, block_size, hash_mask,
                               out + done);
}

void identify(const IdentifyBatch& batch) {
  size_t done = 0;
  if (supported_block_size(batch.block_size)) {
    IdentifyJob job(batch);
    done = try_device([&](Context& c, size_t& finished) {
      c.pipeline.run(job, batch.count, kIdentifyChunkPages, finished);
    });
  }
  // The device hashes; the host copies the blocks to stage from the pages,
  // which it reads anyway to send them to the device.
  if (batch.staged != nullptr) {
    const size_t blocks = kPageSize / batch.block_size;
    for (size_t p = 0; p < done; ++p) {
      uint64_t copy[kBitmapWords];
      for (size_t w = 0; w < kBitmapWords; ++w) {
        const size_t in_word = blocks > w * 64 ? std::min<size_t>(64, blocks - w * 64) : 0;
        const uint64_t word_blocks = in_word == 64 ? ~0ull : (uint64_t{1} << in_word) - 1;
        copy[w] = staged_bits(batch, p, batch.changed[p * kBitmapWords + w], word_blocks);
      }
      host_kernels().gather_blocks(batch.pages[p], copy, batch.block_size, batch.staged[p]);
    }
  }
  if (done == batch.count) return;
  IdentifyBatch rest = batch;
  rest.count = batch.count - done;
  rest.pages += done;
  rest.hashes += done;
  rest.known += done;
  rest.changed += done * kBitmapWords;
  if (rest.zero != nullptr) rest.zero += done * kBitmapWords;
  if (rest.staged != nullptr) rest.staged += done;
  if (rest.copy_all != nullptr) rest.copy_all += done;
  host_kernels().identify(rest);
}

// A page's check is a few dozen multiplies: the host's kernel.
uint64_t page_check(const uint64_t* hashes, uint32_t blocks) {
  return host_kernels().page_check(hashes, blocks);
}
void gather_blocks(const uint8_t* page, const uint64_t* bitmap, uint32_t block_size, uint8_t* out) {
  host_kernels().gather_blocks(page, bitmap, block_size, out);
}
void scatter_blocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  host_kernels().scatter_blocks(page, bitmap, block_size, in);
}
void stream_blocks(uint8_t* page, const uint64_t* bitmap, uint32_t block_size, const uint8_t* in) {
  host_kernels().stream_blocks(page, bitmap, block_size, in);
}
size_t xor_rle_encode(const uint8_t* current, const uint8_t* previous, size_t size, uint8_t* out,
                      size_t capacity) {
  return host_kernels().xor_rle_encode(current, previous, size, out, capacity);
}
bool xor_rle_decode(const uint8_t* delta, size_t delta_size, uint8_t* data, size_t size) {
  return host_kernels().xor_rle_decode(delta, delta_size, data, size);
}
void xor_ranges(uint8_t* out, const XorRange* ranges, size_t count) {
  host_kernels().xor_ranges(out, ranges, count);
}

constexpr KernelTable kCuda = {"cuda",         hash_blocks,    identify,      page_check,
                               gather_blocks,  scatter_blocks, stream_blocks, xor_rle_encode,
                               xor_rle_decode, xor_ranges};

}  // namespace

std::string device_description() { return Backend::instance().description(); }

bool device_present() { return Backend::instance().present(); }

void use_device() {
  if (!Backend::instance().available())
    throw CudaFailure(Backend::instance().description().c_str(), cudaErrorNoDevice);
  check(cudaSetDevice(kDevice), "cudaSetDevice");
}

std::string backend_failure() { return Backend::instance().failure(); }

}  // namespace cuda

const KernelTable* cuda_kernels() {
  return cuda::Backend::instance().available() ? &cuda::kCuda : nullptr;
}

}  // namespace fgbi::kernels
