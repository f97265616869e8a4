// Source specs, options, pacing, and the images source.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "images/image_source.hpp"
#include "source.hpp"
#include "spec.hpp"

namespace fgbi::adapters {
namespace {

namespace fs = std::filesystem;

TEST(SpecTest, ParsesValuesAndOptions) {
  SourceSpec spec;
  std::string error;
  ASSERT_TRUE(parse_spec("pid:42,interval=50,stop=signal", spec, error)) << error;
  EXPECT_EQ(spec.kind, "pid");
  EXPECT_EQ(spec.values, std::vector<std::string>{"42"});
  ASSERT_EQ(spec.options.size(), 2u);
  EXPECT_EQ(spec.options[1].first, "stop");
  EXPECT_EQ(spec.options[1].second, "signal");

  ASSERT_TRUE(parse_spec("images:a.img,b.img,epochs=1", spec, error)) << error;
  EXPECT_EQ(spec.values, (std::vector<std::string>{"a.img", "b.img"}));

  for (const char* bad :
       {"nokind", ":x", "pid:", "pid:1,,2", "pid:1,=3", "pid:1,a=1,a=2", "pid:interval=5"}) {
    EXPECT_FALSE(parse_spec(bad, spec, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(SpecTest, TypedOptionsAreCheckedAndUnknownOnesReported) {
  SourceSpec spec;
  std::string error, choice;
  uint64_t n = 0;
  ASSERT_TRUE(parse_spec("pid:1,max-pages=12,dirty=compare,bogus=1", spec, error));
  SpecOptions options(spec);
  EXPECT_TRUE(options.get_uint("max-pages", 0, 1, 100, n, error));
  EXPECT_EQ(n, 12u);
  EXPECT_TRUE(options.get_uint("absent", 7, 0, 10, n, error));
  EXPECT_EQ(n, 7u);
  EXPECT_TRUE(options.get_choice("dirty", "auto", {"auto", "compare"}, choice, error));
  EXPECT_EQ(choice, "compare");
  EXPECT_FALSE(options.all_used(error));
  EXPECT_NE(error.find("bogus"), std::string::npos) << error;

  ASSERT_TRUE(parse_spec("pid:1,max-pages=x1,dirty=maybe", spec, error));
  SpecOptions bad(spec);
  EXPECT_FALSE(bad.get_uint("max-pages", 0, 1, 100, n, error));
  EXPECT_NE(error.find("max-pages=x1"), std::string::npos) << error;
  EXPECT_FALSE(bad.get_choice("dirty", "auto", {"auto", "compare"}, choice, error));
  EXPECT_NE(error.find("one of auto compare"), std::string::npos) << error;
}

TEST(OpenSourceTest, ReportsBadSpecsClearly) {
  std::string error;
  EXPECT_EQ(open_source("floppy:1", error), nullptr);
  EXPECT_NE(error.find("unknown source kind \"floppy\""), std::string::npos) << error;
  EXPECT_EQ(open_source("trace:a,b", error), nullptr);
  EXPECT_EQ(open_source("trace:/nonexistent.fgbt,stop=none", error), nullptr);
  EXPECT_NE(error.find("does not apply to trace"), std::string::npos) << error;
  EXPECT_EQ(open_source("pid:abc", error), nullptr);
  EXPECT_NE(error.find("process id"), std::string::npos) << error;
  EXPECT_EQ(open_source("pid:1,interval=-3", error), nullptr);
  EXPECT_EQ(open_source("xen:0", error), nullptr);
  EXPECT_EQ(open_source("xen:3,suspend=later", error), nullptr);
  EXPECT_NE(error.find("suspend=later"), std::string::npos) << error;
}

TEST(OpenSourceTest, XenSpecFailsWithAReasonWithoutAHypervisor) {
  // This machine runs no Xen: either the build lacks Xen support or opening
  // the hypervisor interface fails; both must say so.
  std::string error;
  EXPECT_EQ(open_source("xen:7", error), nullptr);
  EXPECT_TRUE(error.find("no Xen support") != std::string::npos ||
              error.find("xc_interface_open") != std::string::npos ||
              error.find("xenforeignmemory_open") != std::string::npos ||
              error.find("xc_domain_maximum_gpfn") != std::string::npos)
      << error;
}

// A directory of image files removed at the end of the test.
class ImageDir {
 public:
  ImageDir() : dir_(fs::temp_directory_path() / ("fgbi-images-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~ImageDir() { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  std::string glob(const std::string& pattern) const { return (dir_ / pattern).string(); }

 private:
  fs::path dir_;
};

std::vector<uint8_t> image(size_t bytes, uint8_t fill) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<uint8_t>(fill + i / kPageSize);
  return v;
}

TEST(ImageSourceTest, DirtyPagesAreThePagesThatDiffer) {
  ImageDir dir;
  const size_t pages = 40;
  auto a = image(pages * kPageSize, 1);
  auto b = a;
  b[3 * kPageSize + 17] ^= 1;
  b[39 * kPageSize] ^= 1;
  auto c = b;
  c[20 * kPageSize + 4095] ^= 0x80;
  dir.write("dump-0.raw", a);
  dir.write("dump-1.raw", b);
  dir.write("dump-2.raw", c);

  std::string error;
  auto src = open_source("images:" + dir.glob("dump-*.raw"), error);
  ASSERT_NE(src, nullptr) << error;
  EXPECT_EQ(src->tracked_pages(), pages);
  Epoch e;
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  ASSERT_EQ(e.size(), pages);  // the first image whole
  for (size_t i = 0; i < pages; ++i)
    EXPECT_EQ(std::memcmp(e.pages[i], a.data() + e.pfns[i] * kPageSize, kPageSize), 0);
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()), (std::vector<uint64_t>{3, 39}));
  EXPECT_EQ(std::memcmp(e.pages[0], b.data() + 3 * kPageSize, kPageSize), 0);
  ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()), (std::vector<uint64_t>{20}));
  EXPECT_EQ(src->next(e, error), Next::kEnd);
  EXPECT_EQ(src->stats().dirty_pages, pages + 3);
}

TEST(ImageSourceTest, PartialLastPageIsPaddedWithZeros) {
  ImageDir dir;
  std::vector<uint8_t> a(kPageSize + 10, 0xAB);
  auto b = a;
  b.back() = 0;
  const std::string pa = dir.write("a", a), pb = dir.write("b", b);
  std::string error;
  auto src = open_source("images:" + pa + "," + pb, error);
  ASSERT_NE(src, nullptr) << error;
  ASSERT_EQ(src->tracked_pages(), 2u);
  Epoch e;
  ASSERT_EQ(src->next(e, error), Next::kEpoch);
  const auto* last = static_cast<const uint8_t*>(e.pages[1]);
  EXPECT_EQ(last[9], 0xAB);
  EXPECT_EQ(last[10], 0);
  EXPECT_EQ(last[kPageSize - 1], 0);
  ASSERT_EQ(src->next(e, error), Next::kEpoch);
  EXPECT_EQ(std::vector<uint64_t>(e.pfns.begin(), e.pfns.end()), (std::vector<uint64_t>{1}));
}

TEST(ImageSourceTest, RejectsMismatchedMissingAndEmptyImages) {
  ImageDir dir;
  const std::string a = dir.write("a", image(2 * kPageSize, 0));
  const std::string b = dir.write("b", image(3 * kPageSize, 0));
  const std::string empty = dir.write("e", {});
  std::string error;
  EXPECT_EQ(open_source("images:" + a + "," + b, error), nullptr);
  EXPECT_NE(error.find("the first image has 8192"), std::string::npos) << error;
  EXPECT_EQ(open_source("images:" + empty, error), nullptr);
  EXPECT_NE(error.find("must not be empty"), std::string::npos) << error;
  EXPECT_EQ(open_source("images:" + dir.glob("none-*"), error), nullptr);
  EXPECT_NE(error.find("no image matches"), std::string::npos) << error;
  EXPECT_EQ(open_source("images:" + a + ",/nonexistent/img", error), nullptr);
  EXPECT_NE(error.find("/nonexistent/img"), std::string::npos) << error;

  // An image that shrinks between open and read is an error, not a crash.
  const std::string same_size = dir.write("c", image(2 * kPageSize, 1));
  auto src = open_source("images:" + a + "," + same_size, error);
  ASSERT_NE(src, nullptr) << error;
  dir.write("a", image(kPageSize, 0));
  Epoch e;
  EXPECT_EQ(src->next(e, error), Next::kError);
  EXPECT_NE(error.find("changed size"), std::string::npos) << error;
}

TEST(PacedSourceTest, IntervalSpacesEpochsAndEpochsLimitsThem) {
  ImageDir dir;
  std::string list = "images:";
  for (int i = 0; i < 4; ++i) {
    if (i > 0) list.append(",");
    list.append(dir.write(std::to_string(i) + ".img", image(kPageSize, uint8_t(i))));
  }
  std::string error;
  auto src = open_source(list + ",interval=30,epochs=3", error);
  ASSERT_NE(src, nullptr) << error;
  EXPECT_NE(src->description().find("every 30 ms"), std::string::npos);
  Epoch e;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(src->next(e, error), Next::kEpoch) << error;
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));  // two waits between three epochs
  EXPECT_EQ(src->next(e, error), Next::kEnd);
  EXPECT_EQ(src->stats().epochs, 3u);
}

}  // namespace
}  // namespace fgbi::adapters
