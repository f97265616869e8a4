// The CUDA backend (invariant 4, DESIGN.md §6): identical hashes, bitmaps
// and streams to the CPU backends, for every block size, batch shape and
// transfer path; and a clean "unavailable" where there is no GPU. Tests that
// need a device skip with "no CUDA device: <why>" when there is none.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "cuda/resident_identifier.hpp"
#include "kernels.hpp"
#include "support/identify_case.hpp"
#include "support/replication.hpp"
#include "workload.hpp"

namespace fgbi::kernels {
namespace cuda {
void PrintTo(Transfer transfer, std::ostream* os) { *os << transfer_name(transfer); }
}  // namespace cuda
namespace {

using test::IdentifyCase;

// Skips without a GPU; fails where one is present but the backend is not
// usable (a self-test mismatch must not read as a skip), and everywhere with
// FGBI_REQUIRE_CUDA set (scripts/gpu-check.sh sets it).
#define SKIP_WITHOUT_DEVICE()                                                  \
  if (cuda_kernels() == nullptr) {                                             \
    if (cuda::device_present() || std::getenv("FGBI_REQUIRE_CUDA") != nullptr) \
      FAIL() << "CUDA backend unavailable: " << cuda::device_description();    \
    GTEST_SKIP() << cuda::device_description();                                \
  }

constexpr uint32_t kBlockSizes[] = {32, 64, 128, 256};

// Page-aligned host memory (cudaHostRegister and the resident identifier
// want whole pages).
struct AlignedPages {
  explicit AlignedPages(size_t pages)
      : bytes(pages * kPageSize),
        memory(static_cast<uint8_t*>(std::aligned_alloc(kPageSize, bytes)), &std::free) {
    if (!memory) throw std::bad_alloc();
  }
  uint8_t* page(uint64_t pfn) const { return memory.get() + pfn * kPageSize; }
  size_t bytes;
  std::unique_ptr<uint8_t, decltype(&std::free)> memory;
};

// Random content with zero blocks and zero pages, as guests have.
void fill_page(uint8_t* page, eval::Rng& rng) {
  switch (rng.below(6)) {
    case 0: std::memset(page, 0, kPageSize); break;
    case 1:  // zero blocks of every size among random ones
      for (uint32_t b = 0; b < kPageSize / 32; ++b)
        for (uint32_t i = 0; i < 32; ++i) page[b * 32 + i] = b % 3 == 0 ? 0 : rng.next();
      break;
    default:
      for (uint32_t i = 0; i < kPageSize; ++i) page[i] = static_cast<uint8_t>(rng.next());
  }
}

// Changes a page the way guests do: a few bytes, a block, or all of it.
void mutate_page(uint8_t* page, eval::Rng& rng) {
  switch (rng.below(4)) {
    case 0: break;  // rewritten with the same content
    case 1: fill_page(page, rng); break;
    case 2: std::memset(page + rng.below(kPageSize / 2), 0, rng.below(kPageSize / 2)); break;
    default:
      for (uint64_t e = 1 + rng.below(5); e > 0; --e)
        page[rng.below(kPageSize)] ^= 1 + rng.below(255);
  }
}

// ---- without a device (runs everywhere) ----

TEST(CudaBackend, AutoNeverPicksCuda) {
  ASSERT_NE(find_kernels(Backend::kAuto), nullptr);
  EXPECT_STRNE(find_kernels(Backend::kAuto)->name, "cuda");
  EXPECT_EQ(find_kernels(Backend::kCuda), cuda_kernels());
}

TEST(CudaBackend, AskingWithoutDeviceIsBackendUnavailable) {
  if (cuda_kernels() != nullptr)
    GTEST_SKIP() << "a CUDA device is present: " << cuda::device_description();
  EXPECT_FALSE(cuda::device_present());
  EXPECT_NE(cuda::device_description().find("no CUDA device"), std::string::npos)
      << cuda::device_description();
  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  test::SenderPtr sender(s);
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 16), FGBI_OK);
  ASSERT_EQ(fgbi_sender_set_parameter(s, FGBI_P_BACKEND, FGBI_BACKEND_CUDA), FGBI_OK);
  EXPECT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_E_BACKEND_UNAVAILABLE);
  // Asking again gives the same answer, and the CPU backends still work.
  EXPECT_EQ(fgbi_sender_begin_epoch(s, nullptr), FGBI_E_BACKEND_UNAVAILABLE);
  test::Pair cpu(test::PairOptions{.pages = 4});
  cpu.replicate(test::all_pages(4));
  EXPECT_TRUE(cpu.replica_matches_primary());
}

TEST(CudaBackend, ResidentIdentifierWithoutDeviceFailsCleanly) {
  if (cuda_kernels() != nullptr)
    GTEST_SKIP() << "a CUDA device is present: " << cuda::device_description();
  AlignedPages memory(4);
  cuda::ResidentConfig config;
  config.memory = memory.page(0);
  config.pages = 4;
  EXPECT_THROW(cuda::ResidentIdentifier identifier(config), cuda::CudaFailure);
}

// ---- the KernelTable against the scalar reference ----

class CudaVsScalar : public ::testing::TestWithParam<uint32_t> {
 protected:
  uint32_t block_size() const { return GetParam(); }
  uint32_t blocks() const { return kPageSize / block_size(); }
  std::mt19937_64 rng_{0xC0DA0000ull + GetParam()};
};
INSTANTIATE_TEST_SUITE_P(BlockSizes, CudaVsScalar, ::testing::ValuesIn(kBlockSizes));

void expect_same(const IdentifyCase::Result& actual, const IdentifyCase::Result& expected,
                 const std::string& what) {
  EXPECT_TRUE(actual.hashes == expected.hashes) << what;
  EXPECT_EQ(actual.changed, expected.changed) << what;
  EXPECT_EQ(actual.zero, expected.zero) << what;
  EXPECT_TRUE(actual.staged == expected.staged) << what;
}

TEST_P(CudaVsScalar, IdentifyMatchesScalar) {
  SKIP_WITHOUT_DEVICE();
  // One page, the sender's batch, and batches of several pipeline chunks
  // (more chunks than streams, so slots are reused).
  for (size_t count : {size_t{1}, size_t{16}, size_t{1500}, cuda::kIdentifyChunkPages * 5 + 7}) {
    for (uint64_t mask : {~0ull, 0xFFFFFull}) {
      const IdentifyCase c(count, block_size(), mask, rng_);
      for (bool want_zero : {false, true}) {
        expect_same(c.run(*cuda_kernels(), block_size(), mask, want_zero),
                    c.run(*scalar_kernels(), block_size(), mask, want_zero),
                    std::to_string(count) + " pages, mask " + std::to_string(mask));
      }
    }
  }
  EXPECT_EQ(cuda::backend_failure(), "");
}

TEST_P(CudaVsScalar, HashBlocksMatchesScalar) {
  SKIP_WITHOUT_DEVICE();
  const size_t device_minimum = cuda::kMinDeviceHashBytes / block_size();
  // Host-side sizes, the threshold, and several chunks with a ragged end.
  for (size_t n : {size_t{1}, size_t{33}, device_minimum, device_minimum * 40 + 3}) {
    std::vector<uint8_t> data(n * block_size() + 8);
    for (auto& b : data) b = rng_() % 4 == 0 ? 0 : static_cast<uint8_t>(rng_());
    for (uint64_t mask : {~0ull, 0xFFFull}) {
      std::vector<uint64_t> expected(n), actual(n + 1, 0xDEAD);
      scalar_kernels()->hash_blocks(data.data() + 8, n, block_size(), mask, expected.data());
      cuda_kernels()->hash_blocks(data.data() + 8, n, block_size(), mask, actual.data());
      EXPECT_EQ(actual[n], 0xDEADu) << "wrote past the output, n " << n;
      actual.pop_back();
      EXPECT_EQ(actual, expected) << n << " blocks, mask " << mask;
    }
  }
  EXPECT_EQ(cuda::backend_failure(), "");
}

TEST_P(CudaVsScalar, ConcurrentCallersMatchScalar) {
  SKIP_WITHOUT_DEVICE();
  constexpr int kThreads = 4;
  std::vector<IdentifyCase> cases;
  for (int t = 0; t < kThreads; ++t) cases.emplace_back(300 + 16 * t, block_size(), ~0ull, rng_);
  std::vector<IdentifyCase::Result> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        results[t] = cases[t].run(*cuda_kernels(), block_size(), ~0ull, true);
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t)
    expect_same(results[t], cases[t].run(*scalar_kernels(), block_size(), ~0ull, true),
                "thread " + std::to_string(t));
  EXPECT_EQ(cuda::backend_failure(), "");
}

// ---- whole streams: CUDA sender against the CPU sender ----

using StreamParams = std::tuple<int64_t /*block*/, int64_t /*threads*/>;
class CudaStreams : public ::testing::TestWithParam<StreamParams> {};

TEST_P(CudaStreams, ByteIdenticalToCpuBackend) {
  SKIP_WITHOUT_DEVICE();
  const auto [block, threads] = GetParam();
  test::PairOptions opt;
  opt.pages = 700;
  opt.block_size = block;
  opt.threads = threads;
  opt.adaptive = 0;  // codec choices depend on the input alone, not on timings
  test::Pair cpu(opt), gpu(opt);
  ASSERT_EQ(fgbi_sender_set_parameter(cpu.sender(), FGBI_P_BACKEND, FGBI_BACKEND_SIMD), FGBI_OK);
  ASSERT_EQ(fgbi_sender_set_parameter(gpu.sender(), FGBI_P_BACKEND, FGBI_BACKEND_CUDA), FGBI_OK);
  ASSERT_EQ(fgbi_receiver_set_parameter(gpu.receiver(), FGBI_P_BACKEND, FGBI_BACKEND_CUDA),
            FGBI_OK);
  eval::Rng rng(static_cast<uint64_t>(block * 10 + threads));
  for (uint64_t pfn = 0; pfn < opt.pages; ++pfn) fill_page(cpu.page(pfn), rng);
  std::vector<uint64_t> dirty = test::all_pages(opt.pages);
  for (int epoch = 0; epoch < 12; ++epoch) {
    gpu.primary() = cpu.primary();
    const auto expected = cpu.encode(dirty);
    const auto actual = gpu.encode(dirty);
    ASSERT_EQ(actual.size(), expected.size()) << "epoch " << epoch;
    ASSERT_TRUE(actual == expected) << "epoch " << epoch;
    ASSERT_EQ(gpu.feed(actual), FGBI_OK);
    ASSERT_TRUE(gpu.replica_matches_primary()) << "epoch " << epoch;
    // The next epoch: a random dirty set, unsorted, mutated.
    dirty.clear();
    const double density = 0.05 + 0.9 * rng.unit();
    for (uint64_t pfn = 0; pfn < opt.pages; ++pfn)
      if (rng.unit() < density) dirty.push_back(pfn);
    for (size_t i = dirty.size(); i > 1; --i) std::swap(dirty[i - 1], dirty[rng.below(i)]);
    for (uint64_t pfn : dirty) mutate_page(cpu.page(pfn), rng);
  }
  EXPECT_EQ(cuda::backend_failure(), "");
}

INSTANTIATE_TEST_SUITE_P(Geometries, CudaStreams,
                         ::testing::Combine(::testing::Values(32, 64, 128, 256),
                                            ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return "block" + std::to_string(std::get<0>(info.param)) + "_threads" +
                                  std::to_string(std::get<1>(info.param));
                         });

// ---- device-resident state, every transfer path ----

using ResidentParams = std::tuple<uint32_t /*block*/, cuda::Transfer>;
class CudaResident : public ::testing::TestWithParam<ResidentParams> {};

TEST_P(CudaResident, MatchesScalarOverEpochs) {
  SKIP_WITHOUT_DEVICE();
  const auto [block, transfer] = GetParam();
  constexpr size_t kPages = 2000;
  const uint32_t blocks = kPageSize / block;
  AlignedPages memory(kPages);
  eval::Rng rng(block + static_cast<uint64_t>(transfer) * 1000);
  for (uint64_t pfn = 0; pfn < kPages; ++pfn) fill_page(memory.page(pfn), rng);

  cuda::ResidentConfig config;
  config.memory = memory.page(0);
  config.pages = kPages;
  config.block_size = block;
  config.transfer = transfer;
  config.chunk_pages = 300;  // several chunks an epoch, more than the streams
  cuda::ResidentIdentifier gpu(config);

  // The reference: scalar identify against host copies of the same state.
  std::vector<uint64_t> hashes(kPages * blocks);
  std::vector<uint8_t> known(kPages, 0);
  for (int epoch = 0; epoch < 10; ++epoch) {
    std::vector<uint64_t> dirty;
    if (epoch == 0) {
      dirty = test::all_pages(kPages);
    } else {
      // Runs of consecutive pfns and scattered ones, unsorted.
      for (uint64_t pfn = 0; pfn < kPages; ++pfn)
        if (rng.below(3) == 0) dirty.push_back(pfn);
      for (size_t k = 0; k < dirty.size() / 4; ++k)
        std::swap(dirty[rng.below(dirty.size())], dirty[rng.below(dirty.size())]);
      for (uint64_t pfn : dirty) mutate_page(memory.page(pfn), rng);
    }
    const size_t n = dirty.size();
    std::vector<const uint8_t*> pages;
    std::vector<uint64_t*> hash_ptrs;
    std::vector<uint8_t> page_known;
    for (uint64_t pfn : dirty) {
      pages.push_back(memory.page(pfn));
      hash_ptrs.push_back(hashes.data() + pfn * blocks);
      page_known.push_back(known[pfn]);
      known[pfn] = 1;
    }
    std::vector<uint64_t> changed(n * kBitmapWords), zero(n * kBitmapWords);
    scalar_kernels()->identify(IdentifyBatch{n, block, ~0ull, pages.data(), hash_ptrs.data(),
                                             page_known.data(), changed.data(), zero.data()});
    std::vector<uint64_t> gpu_changed(n * kBitmapWords, 0xDEAD), gpu_zero(n * kBitmapWords, 0xDEAD);
    gpu.identify(dirty.data(), n, gpu_changed.data(), gpu_zero.data());
    ASSERT_EQ(gpu_changed, changed) << "epoch " << epoch;
    ASSERT_EQ(gpu_zero, zero) << "epoch " << epoch;
    if (transfer != cuda::Transfer::kAuto) {
      EXPECT_EQ(gpu.last_transfer(), transfer);
    }
  }
  std::vector<uint64_t> stored(blocks);
  for (uint64_t pfn : {uint64_t{0}, uint64_t{777}, uint64_t{kPages - 1}}) {
    gpu.read_hashes(pfn, stored.data());
    EXPECT_TRUE(std::equal(stored.begin(), stored.end(), hashes.begin() + pfn * blocks)) << pfn;
  }
  if (transfer == cuda::Transfer::kAuto) {
    EXPECT_GT(gpu.measured_rate(cuda::Transfer::kStaged), 0);
    EXPECT_GT(gpu.measured_rate(cuda::Transfer::kZeroCopy), 0);
  }
}

TEST(CudaResidentInput, BadPfnListsAreRejectedWithoutEffect) {
  SKIP_WITHOUT_DEVICE();
  constexpr size_t kPages = 64;
  AlignedPages memory(kPages);
  eval::Rng rng(7);
  for (uint64_t pfn = 0; pfn < kPages; ++pfn) fill_page(memory.page(pfn), rng);
  cuda::ResidentConfig config;
  config.memory = memory.page(0);
  config.pages = kPages;
  config.transfer = cuda::Transfer::kZeroCopy;
  cuda::ResidentIdentifier gpu(config);
  std::vector<uint64_t> changed(3 * kBitmapWords);
  const uint64_t out_of_range[] = {1, kPages, 2};
  const uint64_t repeated[] = {5, 6, 5};
  EXPECT_THROW(gpu.identify(out_of_range, 3, changed.data(), nullptr), std::invalid_argument);
  EXPECT_THROW(gpu.identify(repeated, 3, changed.data(), nullptr), std::invalid_argument);
  // Nothing was identified: every page is still unknown, all blocks changed.
  const uint64_t pfns[] = {1, 5, 6};
  gpu.identify(pfns, 3, changed.data(), nullptr);
  for (size_t p = 0; p < 3; ++p) {
    EXPECT_EQ(changed[p * kBitmapWords], ~0ull) << p;  // 64 blocks of 64 bytes
    EXPECT_EQ(changed[p * kBitmapWords + 1], 0u) << p;
  }
  // Unchanged pages, identified again, report nothing changed.
  gpu.identify(pfns, 3, changed.data(), nullptr);
  for (uint64_t word : changed) EXPECT_EQ(word, 0u);
}

INSTANTIATE_TEST_SUITE_P(Paths, CudaResident,
                         ::testing::Combine(::testing::ValuesIn(kBlockSizes),
                                            ::testing::Values(cuda::Transfer::kStaged,
                                                              cuda::Transfer::kZeroCopy,
                                                              cuda::Transfer::kAuto)),
                         [](const auto& info) {
                           std::string name = "block" + std::to_string(std::get<0>(info.param)) +
                                              "_" + cuda::transfer_name(std::get<1>(info.param));
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace fgbi::kernels
