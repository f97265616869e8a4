#include "schemes.hpp"

#include <cstring>
#include <stdexcept>

#include "fgbi.h"
#include "peer_codec.hpp"

namespace fgbi::eval {
namespace {

constexpr const char* kFgbi = "fgbi";
constexpr const char* kFgbiPlain = "fgbi-plain";

bool is_alternative(const std::string& name) {
  return name.starts_with(kFgbiPlain) ||
         name == peers::peer_name(peers::PeerKind::kRemusFullPages) ||
         name == peers::peer_name(peers::PeerKind::kXbzrle);
}

// A peer scheme: the codec's encoder and decoder, and its own replica.
class PeerScheme : public Scheme {
 public:
  PeerScheme(peers::PeerKind kind, const peers::PeerOptions& options)
      : name_(peers::peer_name(kind)),
        peer_(peers::make_peer(kind, options)),
        encodes_while_paused_(kind == peers::PeerKind::kRemusFullPages),
        replica_(options.tracked_pages * peers::kPeerPageSize) {}

  const std::string& name() const override { return name_; }

  // Remus's full pages are its stop-and-copy: the encode is the copy, done
  // while the guest is paused. The other peers encode a copy after resume.
  bool capture(const DirtyEpoch& epoch) override {
    if (!encodes_while_paused_) return false;
    encode_now(epoch);
    return true;
  }

  size_t encode(const DirtyEpoch& epoch) override {
    if (!encodes_while_paused_) encode_now(epoch);
    return written_;
  }

  void encode_now(const DirtyEpoch& epoch) {
    dirty_.resize(epoch.pages.size());
    for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i] = {epoch.pfns[i], epoch.pages[i]};
    const size_t bound = peer_.encoder->epoch_bound(dirty_.size());
    if (stream_.size() < bound) stream_.resize(bound);
    const peers::PeerStatus st = peer_.encoder->encode_epoch(dirty_, stream_, &written_);
    if (!st.ok()) throw SchemeError{name_ + " encoder: " + st.error};
  }

  void decode() override {
    const peers::PeerStatus st = peer_.decoder->apply_epoch({stream_.data(), written_}, replica_);
    if (!st.ok()) throw SchemeError{name_ + " decoder: " + st.error};
  }

  bool replica_matches(const uint8_t* primary, size_t bytes) const override {
    return bytes == replica_.size() && std::memcmp(primary, replica_.data(), bytes) == 0;
  }

  Counters counters() const override {
    const peers::EncoderStats& s = peer_.encoder->stats();
    return {{"pages", s.pages},
            {"cache_hits", s.cache_hits},
            {"cache_misses", s.cache_misses},
            {"raw_pages", s.raw_pages}};
  }

 private:
  std::string name_;
  peers::Peer peer_;
  bool encodes_while_paused_;
  std::vector<uint8_t> replica_;
  std::vector<peers::DirtyPage> dirty_;
  std::vector<uint8_t> stream_;
  size_t written_ = 0;
};

// Whether a sender can start on this backend here.
bool backend_available(int64_t backend) {
  fgbi_sender* s = nullptr;
  if (fgbi_sender_create(&s) != FGBI_OK) return false;
  const bool ok = fgbi_sender_set_parameter(s, FGBI_P_TRACKED_PAGES, 1) == FGBI_OK &&
                  fgbi_sender_set_parameter(s, FGBI_P_BACKEND, backend) == FGBI_OK &&
                  fgbi_sender_begin_epoch(s, nullptr) == FGBI_OK;
  fgbi_sender_free(s);
  return ok;
}

struct BackendRow {
  const char* suffix;
  int64_t value;
};

std::vector<BackendRow> backends_for(const std::string& backend) {
  static const BackendRow kRows[] = {
      {"-scalar", FGBI_BACKEND_SCALAR}, {"-simd", FGBI_BACKEND_SIMD}, {"-cuda", FGBI_BACKEND_CUDA}};
  if (backend == "auto") return {{"", FGBI_BACKEND_AUTO}};
  std::vector<BackendRow> rows;
  for (const BackendRow& row : kRows) {
    if (backend == "all" ? backend_available(row.value) : backend == row.suffix + 1) {
      if (backend != "all" && !backend_available(row.value))
        throw SchemeError{"backend " + backend + ": " +
                          fgbi_error_message(FGBI_E_BACKEND_UNAVAILABLE)};
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace

std::vector<std::string> all_scheme_names() {
  std::vector<std::string> names = {kFgbi, kFgbiPlain};
  for (peers::PeerKind kind : peers::all_peer_kinds()) names.emplace_back(peers::peer_name(kind));
  return names;
}

std::vector<std::unique_ptr<Scheme>> make_schemes(const std::vector<std::string>& names,
                                                  const SchemeConfig& config) {
  std::vector<std::unique_ptr<Scheme>> schemes;
  for (const std::string& name : names) {
    if (name == kFgbi || name == kFgbiPlain) {
      for (const BackendRow& row : backends_for(config.backend)) {
        FgbiSchemeOptions o = config.fgbi;
        o.name = name + row.suffix;
        o.backend = row.value;
        if (name == kFgbiPlain) o.sharing = o.codecs = 0;
        schemes.push_back(make_fgbi_scheme(o));
      }
      continue;
    }
    for (peers::PeerKind kind : peers::all_peer_kinds()) {
      if (name != peers::peer_name(kind)) continue;
      peers::PeerOptions po;
      po.tracked_pages = config.fgbi.tracked_pages;
      po.xbzrle_cache_bytes = config.xbzrle_cache_bytes;
      po.xc_cache_bytes = config.xc_cache_bytes;
      try {
        schemes.push_back(std::make_unique<PeerScheme>(kind, po));
      } catch (const std::invalid_argument& e) {
        throw SchemeError{name + ": " + e.what()};
      }
    }
  }
  return schemes;
}

bool tuned_to_link(const std::string& name) { return name.starts_with(kFgbi); }

// With --backend all the fgbi schemes carry the backend as a suffix.
bool is_full_fgbi(const std::string& name) {
  return name.starts_with(kFgbi) && !name.starts_with(kFgbiPlain);
}

const char* alternatives_text() { return "fgbi-plain, remus-full, xbzrle"; }

std::vector<Versus> versus_alternatives(const std::vector<const SchemeResult*>& schemes,
                                        double link_gbps) {
  Versus best;
  for (const SchemeResult* s : schemes) {
    if (!is_alternative(s->name)) continue;
    const double ms = s->steady.latency_ms_percentile(50, link_gbps);
    if (best.fastest == nullptr || ms < best.fastest_ms) {
      best.fastest = s;
      best.fastest_ms = ms;
    }
    if (best.smallest == nullptr || s->steady.wire_bytes < best.smallest->steady.wire_bytes)
      best.smallest = s;
  }
  std::vector<Versus> out;
  if (best.fastest == nullptr) return out;
  for (const SchemeResult* s : schemes) {
    if (!is_full_fgbi(s->name)) continue;
    Versus v = best;
    v.fgbi = s;
    v.fgbi_ms = s->steady.latency_ms_percentile(50, link_gbps);
    out.push_back(v);
  }
  return out;
}

}  // namespace fgbi::eval
