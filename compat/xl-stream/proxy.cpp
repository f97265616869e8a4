// The stream proxy's halves (proxy.hpp).
#include "proxy.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "common/bytes.hpp"

namespace fgbi::xlstream {

namespace {

std::string fgbi_text(fgbi_status st) {
  return std::string(fgbi_error_name(st)) + ": " + fgbi_error_message(st);
}

template <typename T>
void put_le(std::vector<uint8_t>& out, T v) {
  out.resize(out.size() + sizeof v);
  store_le(out.data() + out.size() - sizeof v, v);
}

void put_record_header(std::vector<uint8_t>& out, uint32_t type, uint32_t length) {
  put_le(out, type);
  put_le(out, length);
}

}  // namespace

bool PageSlots::slot(uint64_t pfn, uint64_t* out) {
  if (auto it = map_.find(pfn); it != map_.end()) {
    *out = it->second;
    return true;
  }
  if (map_.size() >= capacity_) return false;
  *out = map_.size();
  map_.emplace(pfn, *out);
  return true;
}

bool Rewriter::fail(const std::string& what) {
  if (error_.empty()) error_ = what;
  pending_.clear();
  return false;
}

bool Rewriter::feed(std::span<const uint8_t> data) {
  if (!error_.empty()) return false;
  parser_.feed(data);
  Item item;
  while (parser_.next(&item)) {
    current().stream_in += item.bytes.size();
    const size_t before = pending_.size();
    if (!rewrite(item, pending_)) {
      const uint64_t at = parser_.offset() - item.bytes.size();
      std::string what = std::move(error_);
      error_.clear();
      return fail("at stream offset " + std::to_string(at) + ", " + part_name(item.part) + ": " +
                  what);
    }
    current().stream_out += pending_.size() - before;
    const bool libxl = item.part == Part::libxl_record;
    const bool checkpoint_end = libxl && item.type == kLibxlCheckpointEnd;
    if (!parser_.seen_checkpoint() || checkpoint_end || (libxl && item.type == kLibxlEnd) ||
        item.part == Part::trailer) {
      ready_.insert(ready_.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    if (checkpoint_end) {
      ++committed_;
      stats_.emplace_back();
    }
  }
  if (parser_.failed()) return fail(parser_.error());
  return true;
}

bool Rewriter::finish() {
  if (!error_.empty()) return false;
  const uint64_t checkpoint = stats_.size() - 1;
  if (parser_.buffered() > 0 || !pending_.empty()) {
    const size_t dropped = parser_.buffered() + pending_.size();
    std::string what = std::string("the stream ended ") +
                       (parser_.buffered() > 0 ? "inside " : "before ") + parser_.expecting();
    if (parser_.seen_checkpoint())
      what +=
          " of checkpoint " + std::to_string(checkpoint) + "; its " + std::to_string(dropped) +
          " bytes were not forwarded (checkpoints forwarded whole: " + std::to_string(committed_) +
          ")";
    else
      what += " before the first checkpoint (" + std::to_string(parser_.buffered()) +
              " bytes of it were not forwarded)";
    return fail(what);
  }
  if (!parser_.ended() && !parser_.seen_checkpoint() && parser_.offset() > 0)
    return fail("the stream ended before its first checkpoint and before its END record");
  return true;
}

// ---- RemusTx ---------------------------------------------------------------

RemusTx::RemusTx(const ProxyOptions& options) : Rewriter(false), slots_(options.max_pages) {
  fgbi_sender* sender = nullptr;
  fgbi_status st = fgbi_sender_create(&sender);
  if (st == FGBI_OK)
    st = fgbi_sender_set_parameter(sender, FGBI_P_TRACKED_PAGES,
                                   static_cast<int64_t>(options.max_pages));
  if (st == FGBI_OK) st = fgbi_sender_set_parameter(sender, FGBI_P_THREADS, options.threads);
  if (st == FGBI_OK && options.reproducible)
    st = fgbi_sender_set_parameter(sender, FGBI_P_STREAM_ID, 0x7265'6d75);  // "remu"
  if (st == FGBI_OK && options.reproducible)
    st = fgbi_sender_set_parameter(sender, FGBI_P_ADAPTIVE, 0);
  if (st != FGBI_OK) {
    fgbi_sender_free(sender);
    fail("fgbi sender: " + fgbi_text(st));
    return;
  }
  sender_ = sender;
  ready_.insert(ready_.end(), kLinkMagic.begin(), kLinkMagic.end());
  put_le(ready_, kLinkVersion);
  put_le(ready_, uint32_t{0});  // flags
  put_le(ready_, options.max_pages);
}

RemusTx::~RemusTx() { fgbi_sender_free(sender_); }

bool RemusTx::rewrite(const Item& item, std::vector<uint8_t>& out) {
  if (sender_ == nullptr) return false;
  if (item.part == Part::libxc_record && item.type == kLibxcPageData)
    return encode_pages(item, out);
  out.insert(out.end(), item.bytes.begin(), item.bytes.end());
  return true;
}

bool RemusTx::encode_pages(const Item& item, std::vector<uint8_t>& out) {
  PageData pd;
  std::string why;
  if (!parse_page_data(item.body, &pd, &why)) return fail(why);
  if (pd.pfns.empty()) {  // nothing to encode: BROKEN/XALLOC/XTAB only
    out.insert(out.end(), item.bytes.begin(), item.bytes.end());
    return true;
  }
  const size_t n = pd.pfns.size();
  slot_list_.resize(n);
  page_list_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!slots_.slot(pd.pfns[i], &slot_list_[i]))
      return fail("the guest has more than " + std::to_string(slots_.used()) +
                  " pages: raise --max-pages");
    page_list_[i] = pd.contents.data() + i * kPageSize;
  }
  fgbi_status st = fgbi_sender_begin_epoch(sender_, nullptr);
  if (st == FGBI_OK)
    st = fgbi_sender_add_pages(sender_, slot_list_.data(), page_list_.data(), n, nullptr);
  size_t written = 0;
  if (st == FGBI_OK) {
    epoch_.resize(fgbi_sender_epoch_bound(sender_, n));
    st = fgbi_sender_end_epoch(sender_, epoch_.data(), epoch_.size(), &written);
  }
  if (st != FGBI_OK)
    return fail("PAGE_DATA of " + std::to_string(n) + " pages: fgbi: " + fgbi_text(st));
  const size_t length = pd.head.size() + 8 + written;
  if (length > kRecordLengthMax) return fail("an encoded PAGE_DATA beyond the record limit");
  const size_t start = out.size();
  put_record_header(out, kLinkPageData, static_cast<uint32_t>(length));
  out.insert(out.end(), pd.head.begin(), pd.head.end());
  put_le<uint64_t>(out, written);
  out.insert(out.end(), epoch_.begin(), epoch_.begin() + static_cast<std::ptrdiff_t>(written));
  out.resize(start + 8 + padded(length), 0);
  current().pages += n;
  current().page_data_xl += item.bytes.size();
  current().page_data_link += out.size() - start;
  return true;
}

// ---- RemusRx ---------------------------------------------------------------

RemusRx::RemusRx(uint64_t max_pages) : Rewriter(true), max_pages_(max_pages) {}

RemusRx::~RemusRx() {
  fgbi_receiver_free(receiver_);
  if (memory_ != nullptr) ::munmap(memory_, memory_size_);
}

bool RemusRx::start(const Item& item) {
  const uint64_t pages = load_le<uint64_t>(item.bytes.data() + 16);
  if (pages == 0 || pages > max_pages_)
    return fail("the link announces " + std::to_string(pages) + " guest pages; this side takes " +
                "1 to " + std::to_string(max_pages_) + " (--max-pages)");
  memory_size_ = pages * kPageSize;
  void* memory = ::mmap(nullptr, memory_size_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    memory_size_ = 0;
    return fail("cannot reserve " + std::to_string(pages) +
                " pages of memory for the guest copy: " + std::strerror(errno));
  }
  memory_ = memory;
  fgbi_status st = fgbi_receiver_create(&receiver_);
  if (st == FGBI_OK)
    st = fgbi_receiver_set_parameter(receiver_, FGBI_P_TRACKED_PAGES, static_cast<int64_t>(pages));
  if (st == FGBI_OK) st = fgbi_receiver_attach_memory(receiver_, memory_, memory_size_);
  if (st != FGBI_OK) return fail("fgbi receiver: " + fgbi_text(st));
  slots_ = std::make_unique<PageSlots>(pages);
  return true;
}

bool RemusRx::rewrite(const Item& item, std::vector<uint8_t>& out) {
  if (item.part == Part::link_header) return start(item);
  if (item.part == Part::libxc_record && item.type == kLinkPageData) return decode_pages(item, out);
  out.insert(out.end(), item.bytes.begin(), item.bytes.end());
  return true;
}

bool RemusRx::decode_pages(const Item& item, std::vector<uint8_t>& out) {
  PageData pd;
  std::string why;
  if (!parse_page_head(item.body, &pd, &why)) return fail("FGBI_PAGE_DATA: " + why);
  const auto rest = item.body.subspan(pd.head.size());
  if (rest.size() < 8 || load_le<uint64_t>(rest.data()) != rest.size() - 8)
    return fail("FGBI_PAGE_DATA: its epoch length disagrees with the record's length");
  if (pd.pfns.empty()) return fail("FGBI_PAGE_DATA without pages with contents");
  slot_list_.resize(pd.pfns.size());
  for (size_t i = 0; i < pd.pfns.size(); ++i)
    if (!slots_->slot(pd.pfns[i], &slot_list_[i]))
      return fail("FGBI_PAGE_DATA: more guest pages than the link announced");
  uint64_t before = 0, after = 0;
  fgbi_receiver_committed_epoch(receiver_, &before);
  fgbi_status st = fgbi_receiver_feed(receiver_, rest.data() + 8, rest.size() - 8);
  if (st == FGBI_OK) st = fgbi_receiver_end_stream(receiver_);
  if (st != FGBI_OK) return fail("FGBI_PAGE_DATA: fgbi refused its epoch: " + fgbi_text(st));
  fgbi_receiver_committed_epoch(receiver_, &after);
  if (after != before + 1) return fail("FGBI_PAGE_DATA: it holds no whole fgbi epoch");
  const size_t length = pd.head.size() + pd.pfns.size() * kPageSize;
  const size_t start = out.size();
  put_record_header(out, kLibxcPageData, static_cast<uint32_t>(length));
  out.insert(out.end(), pd.head.begin(), pd.head.end());
  const auto* replica = static_cast<const uint8_t*>(memory_);
  for (const uint64_t slot : slot_list_)
    out.insert(out.end(), replica + slot * kPageSize, replica + (slot + 1) * kPageSize);
  current().pages += pd.pfns.size();
  current().page_data_link += item.bytes.size();
  current().page_data_xl += out.size() - start;
  return true;
}

}  // namespace fgbi::xlstream
