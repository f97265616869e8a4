// Consecutive raw memory images of the same memory (e.g. a hypervisor's
// memory dumps) as a dirty source: epoch 1 carries every page of the first
// image; epoch k carries the pages of image k that differ from image k-1.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "source.hpp"

namespace fgbi::adapters::images {

class ImageSource final : public DirtySource {
 public:
  // All images must exist and have the same non-zero size. A size that is not
  // a multiple of the page size is padded with zeros to the next page.
  static std::unique_ptr<ImageSource> open(std::vector<std::string> files, std::string& error);

  uint64_t tracked_pages() const override { return pages_; }
  std::string description() const override;
  Next next(Epoch& epoch, std::string& message) override;

 private:
  ImageSource(std::vector<std::string> files, uint64_t bytes);
  bool read_chunk(int fd, const std::string& path, uint64_t first_page, size_t pages, uint8_t* out,
                  std::string& error);
  uint8_t* stage(uint64_t pfn);

  std::vector<std::string> files_;
  uint64_t image_bytes_;
  uint64_t pages_;
  size_t next_ = 0;
  std::vector<uint8_t> current_;
  std::vector<uint8_t> previous_;
  std::vector<uint64_t> pfns_;
  std::vector<std::unique_ptr<uint8_t[]>> staged_;  // blocks of kStageBlockPages pages
  std::vector<const void*> pointers_;
};

// Expands a list of files and glob patterns (sorted per pattern) in order.
// False with `error` set when a pattern matches nothing.
bool expand_image_list(const std::vector<std::string>& items, std::vector<std::string>& files,
                       std::string& error);

}  // namespace fgbi::adapters::images
