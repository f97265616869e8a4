#include "source_feed.hpp"

#include <cstring>
#include <vector>

#include "source.hpp"

namespace fgbi::cli {
namespace {

class SourceFeed : public bench::EpochFeed {
 public:
  SourceFeed(std::string spec, std::unique_ptr<adapters::DirtySource> source)
      : spec_(std::move(spec)),
        source_(std::move(source)),
        shadow_(source_->tracked_pages() * adapters::kPageSize) {}

  std::string name() const override { return spec_; }
  std::string description() const override { return source_->description(); }
  uint64_t tracked_pages() const override { return source_->tracked_pages(); }

  bool next(bench::DirtyEpoch& epoch) override {
    adapters::Epoch e;
    const adapters::Next n = source_->next(e, end_message_);
    if (n == adapters::Next::kError) throw bench::SchemeError{spec_ + ": " + end_message_};
    if (n == adapters::Next::kEnd) return false;
    pages_.resize(e.size());
    for (size_t i = 0; i < e.size(); ++i) {
      pages_[i] = static_cast<const uint8_t*>(e.pages[i]);
      std::memcpy(shadow_.data() + e.pfns[i] * adapters::kPageSize, pages_[i], adapters::kPageSize);
    }
    epoch.pfns = e.pfns;
    epoch.pages = pages_;
    return true;
  }

  const uint8_t* primary() const override { return shadow_.data(); }

 private:
  std::string spec_;
  std::unique_ptr<adapters::DirtySource> source_;
  std::vector<uint8_t> shadow_;  // every page as the source last gave it
  std::vector<const uint8_t*> pages_;
  std::string end_message_;
};

}  // namespace

std::unique_ptr<bench::EpochFeed> open_source_feed(const std::string& spec, std::string& error) {
  auto source = adapters::open_source(spec, error);
  if (!source) return nullptr;
  return std::make_unique<SourceFeed>(spec, std::move(source));
}

}  // namespace fgbi::cli
