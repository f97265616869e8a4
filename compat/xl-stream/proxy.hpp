// The two halves of the stream proxy that puts fgbi under `xl remus`
// (docs/adapters.md, "fgbi under unmodified xl remus"): RemusTx turns xl's
// stream into the fgbi link, RemusRx turns the link back into xl's stream,
// byte for byte. Pure code: bytes in, bytes out, no I/O; the fgbi C ABI
// (fgbi.h) does the encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fgbi.h"
#include "xl_stream.hpp"

namespace fgbi::xlstream {

// Bytes of one checkpoint: checkpoint 0 is everything up to the first
// CHECKPOINT_END (the whole memory), each later one ends at its
// CHECKPOINT_END.
struct CheckpointBytes {
  uint64_t stream_in = 0;       // bytes read
  uint64_t stream_out = 0;      // bytes forwarded
  uint64_t pages = 0;           // pages with contents in its PAGE_DATA records
  uint64_t page_data_xl = 0;    // PAGE_DATA record bytes as xl writes them
  uint64_t page_data_link = 0;  // the same pages' record bytes on the link
};

// Xen pfns -> dense fgbi page slots, in order of first appearance. Both
// halves see the same pfns in the same order, so they assign the same slots.
class PageSlots {
 public:
  explicit PageSlots(uint64_t capacity) : capacity_(capacity) {}
  // False when the pfn is new and every slot is taken.
  bool slot(uint64_t pfn, uint64_t* out);
  uint64_t used() const { return map_.size(); }

 private:
  uint64_t capacity_;
  std::unordered_map<uint64_t, uint64_t> map_;
};

// What the halves share: the parser, the checkpoint gate and the counts.
// Output is held back while a checkpoint is incomplete: before the first
// libxc CHECKPOINT every part is released as it is parsed (a stream cut
// there leaves no backup to protect), after it the parts of a checkpoint are
// released together at its CHECKPOINT_END (or at END), so a stream that
// breaks or turns out malformed inside a checkpoint forwards none of it.
class Rewriter {
 public:
  virtual ~Rewriter() = default;
  // Consumes input; false on an error (error() says which), after which the
  // rewriter takes no more input. Whatever it could release is in ready().
  bool feed(std::span<const uint8_t> data);
  // The input ended. False when it ended inside a part or a checkpoint: the
  // held part of that checkpoint is dropped, never released.
  bool finish();
  // Bytes to forward, in order; the caller empties it.
  std::vector<uint8_t>& ready() { return ready_; }
  const std::string& error() const { return error_; }
  const std::vector<CheckpointBytes>& checkpoints() const { return stats_; }
  // Checkpoints released whole after the first (what a backup can fail over to).
  uint64_t committed_checkpoints() const { return committed_; }
  // Stream bytes held back, not yet released.
  size_t held() const { return pending_.size(); }
  bool ended() const { return parser_.ended(); }

 protected:
  explicit Rewriter(bool link) : parser_(link), stats_(1) {}
  // Appends the output for one part; false with error_ set.
  virtual bool rewrite(const Item& item, std::vector<uint8_t>& out) = 0;
  bool fail(const std::string& what);
  CheckpointBytes& current() { return stats_.back(); }

  std::string error_;
  std::vector<uint8_t> ready_;

 private:
  Parser parser_;
  std::vector<uint8_t> pending_;
  std::vector<CheckpointBytes> stats_;
  uint64_t committed_ = 0;
};

struct ProxyOptions {
  uint64_t max_pages = 262144;  // guest pages the proxy can track (1 GiB)
  int threads = 1;
  // A fixed fgbi stream id and fixed codec speeds in the cost model, so that
  // the same xl stream always gives the same link (tests, fuzz seeds).
  bool reproducible = false;
};

// xl's stream -> the fgbi link.
class RemusTx final : public Rewriter {
 public:
  explicit RemusTx(const ProxyOptions& options);
  ~RemusTx() override;  // if fgbi refused the options, error() says why

 private:
  bool rewrite(const Item& item, std::vector<uint8_t>& out) override;
  bool encode_pages(const Item& item, std::vector<uint8_t>& out);

  fgbi_sender* sender_ = nullptr;
  PageSlots slots_;
  std::vector<uint64_t> slot_list_;
  std::vector<const void*> page_list_;
  std::vector<uint8_t> epoch_;
};

// The fgbi link -> xl's stream. It keeps the guest's pages (the replica of
// an fgbi receiver, in anonymous memory reserved for the pages the link's
// header announces) and rebuilds each PAGE_DATA record from them.
class RemusRx final : public Rewriter {
 public:
  // max_pages: the most pages a link may announce (its header is input, and
  // the replica is sized from it).
  explicit RemusRx(uint64_t max_pages);
  ~RemusRx() override;

 private:
  bool rewrite(const Item& item, std::vector<uint8_t>& out) override;
  bool start(const Item& item);
  bool decode_pages(const Item& item, std::vector<uint8_t>& out);

  uint64_t max_pages_;
  fgbi_receiver* receiver_ = nullptr;
  void* memory_ = nullptr;
  size_t memory_size_ = 0;
  std::unique_ptr<PageSlots> slots_;
  std::vector<uint64_t> slot_list_;
};

}  // namespace fgbi::xlstream
