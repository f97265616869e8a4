// One factory per peer codec, each in its own source file; make_peer()
// picks among them after checking the options.
#pragma once

#include "peer_codec.hpp"

namespace fgbi::peers {

Peer make_full_page_peer(const PeerOptions& options);
Peer make_xc_peer(const PeerOptions& options, size_t cache_slots);
Peer make_xbzrle_peer(const PeerOptions& options, size_t cache_slots);
Peer make_lz4_peer(const PeerOptions& options);
Peer make_zstd_peer(const PeerOptions& options);

}  // namespace fgbi::peers
