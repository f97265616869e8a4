// The one table of what the C ABI reports about itself: error names and
// messages, parameter names, bounds, defaults and sides, statistic names, for
// the codec and the session alike. Each table is an X-macro: a list of rows
// that a use site turns into code by passing a macro X that it defines. Names
// come from the enumerator itself (#param), so a name cannot drift from its
// value, and every use site that switches over a public enum without a
// default fails to compile (-Wswitch, -Werror) when the header gains an
// enumerator the table lacks. tests/metadata_test.cpp checks the rest against
// the C ABI.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fgbi.h"
#include "fgbi_session.h"

namespace fgbi {

// Which contexts a parameter configures.
enum class ParamSide { kBoth, kSender, kReceiver };
enum class SessionParamSide { kBoth, kLink, kBackup };

inline constexpr int64_t kAllSharing = FGBI_SHARE_ZERO | FGBI_SHARE_EPOCH | FGBI_SHARE_REPLICA;
inline constexpr int64_t kAllCodecs =
    FGBI_CODEC_XOR | FGBI_CODEC_LZ4 | FGBI_CODEC_ZLIB | FGBI_CODEC_ZSTD;

// Whether a table's rows run from `first` to `last` without a gap, so that a
// lookup may index its names by value.
template <typename Enum, size_t N>
constexpr bool rows_in_value_order(const Enum (&rows)[N], int first, int last) {
  for (size_t i = 0; i < N; ++i)
    if (rows[i] != first + static_cast<int>(i)) return false;
  return static_cast<int>(N) == last - first + 1;
}

}  // namespace fgbi

// X(code, message): enum fgbi_error.
#define FGBI_ERROR_TABLE(X)                                                                        \
  X(FGBI_OK, "success")                                                                            \
  X(FGBI_E_NULL_ARGUMENT, "a required pointer argument was NULL")                                  \
  X(FGBI_E_PARAM_UNKNOWN,                                                                          \
    "unknown parameter or statistic, or one that does not apply to this context")                  \
  X(FGBI_E_PARAM_OUT_OF_BOUNDS, "parameter value outside the bounds fgbi_param_bounds() reports")  \
  X(FGBI_E_WRONG_STAGE, "call not valid in the context's current stage")                           \
  X(FGBI_E_NO_MEMORY, "out of memory")                                                             \
  X(FGBI_E_PFN_OUT_OF_RANGE, "page frame number not below the tracked page count")                 \
  X(FGBI_E_DUPLICATE_PFN, "the same page appears twice in one epoch")                              \
  X(FGBI_E_DST_TOO_SMALL, "output buffer too small for the epoch")                                 \
  X(FGBI_E_CALLBACK_FAILED, "the write callback reported failure")                                 \
  X(FGBI_E_BACKEND_UNAVAILABLE, "kernel backend not built into this library or no device present") \
  X(FGBI_E_IO, "a replica, journal or metadata file could not be read or written")                 \
  X(FGBI_E_NO_REPLICA, "no replica memory attached to the receiver")                               \
  X(FGBI_E_BAD_ARGUMENT, "argument outside its valid range")                                       \
  X(FGBI_E_STAGING_FULL,                                                                           \
    "no staging room left to capture the page (end the epoch or raise FGBI_P_STAGING_BYTES)")      \
  X(FGBI_E_BAD_MAGIC, "stream does not start an epoch (bad magic)")                                \
  X(FGBI_E_BAD_VERSION, "unsupported wire format version")                                         \
  X(FGBI_E_UNSUPPORTED_FLAGS,                                                                      \
    "epoch header sets flags or reserved fields this version does not know")                       \
  X(FGBI_E_GEOMETRY_MISMATCH, "page size, block size or tracked pages differ from the receiver's") \
  X(FGBI_E_HEADER_CHECKSUM, "epoch header checksum mismatch")                                      \
  X(FGBI_E_EPOCH_REPLAYED, "epoch number not above the last committed epoch (replay)")             \
  X(FGBI_E_EPOCH_GAP, "epoch number skips ahead of the last committed epoch + 1")                  \
  X(FGBI_E_LIMIT_EXCEEDED, "epoch size or record count beyond the configured limits")              \
  X(FGBI_E_BAD_SEGMENT, "segment header or segment counts inconsistent")                           \
  X(FGBI_E_SEGMENT_CHECKSUM, "segment header or segment records checksum mismatch")                \
  X(FGBI_E_UNKNOWN_RECORD, "unknown mandatory record kind")                                        \
  X(FGBI_E_BAD_RECORD, "record length, bitmap or reserved fields invalid")                         \
  X(FGBI_E_BAD_TRAILER, "epoch trailer malformed or inconsistent")                                 \
  X(FGBI_E_EPOCH_CHECKSUM, "epoch checksum mismatch")                                              \
  X(FGBI_E_DIGEST_MISMATCH,                                                                        \
    "end-to-end digest mismatch: applying the epoch would diverge from the primary")               \
  X(FGBI_E_TRUNCATED, "stream ended inside an epoch")                                              \
  X(FGBI_E_STREAM_FAILED, "an earlier stream error stopped the receiver; reset the stream first")  \
  X(FGBI_E_DIGEST_REQUIRED,                                                                        \
    "the receiver requires an end-to-end digest and the epoch carries none")                       \
  X(FGBI_E_BAD_REFERENCE,                                                                          \
    "a shared-block reference points at content that is not what the sender expects")              \
  X(FGBI_E_BAD_PAYLOAD, "compressed or XOR-delta block data does not decode to the declared size") \
  X(FGBI_E_STREAM_MISMATCH,                                                                        \
    "the epoch belongs to another sender's stream than the one being received")                    \
  X(FGBI_E_INTERNAL, "internal error (a bug in fgbi)")

// X(code, message): enum fgbi_session_error.
#define FGBI_SESSION_ERROR_TABLE(X)                                                          \
  X(FGBI_E_CONNECT, "could not resolve, connect to, bind or listen on the address")          \
  X(FGBI_E_TIMEOUT, "the peer stayed silent longer than the I/O timeout")                    \
  X(FGBI_E_DISCONNECTED, "no connection, or the connection was lost or closed")              \
  X(FGBI_E_PROTOCOL, "the peer broke the replication protocol (garbage or a bad frame)")     \
  X(FGBI_E_AUTH_FAILED, "authentication failed: the keys differ, or only one end has a key") \
  X(FGBI_E_MAC_MISMATCH, "a frame failed its MAC: tampered with or corrupted in flight")     \
  X(FGBI_E_INCOMPATIBLE, "the ends differ in protocol version, geometry or digest settings") \
  X(FGBI_E_REJECTED, "the peer reported an error and closed the session")                    \
  X(FGBI_E_STOPPED, "interrupted by a stop request")                                         \
  X(FGBI_E_KEY, "key unreadable or of the wrong length")                                     \
  X(FGBI_E_REPLICA_STATE, "replica metadata or journal unreadable or for another geometry")  \
  X(FGBI_E_NEEDS_KEY, "listening beyond loopback without a key must be allowed explicitly")

// X(param, field, type, min, max, default, side): enum fgbi_param, and the
// fgbi::Config field (of that type) that holds it. FGBI_P_BLOCK_SIZE must
// also be a power of two (check_param).
#define FGBI_PARAM_TABLE(X)                                                                       \
  X(FGBI_P_PAGE_SIZE, page_size, uint32_t, 4096, 4096, 4096, kBoth)                               \
  X(FGBI_P_BLOCK_SIZE, block_size, uint32_t, 32, 256, 64, kBoth)                                  \
  X(FGBI_P_TRACKED_PAGES, tracked_pages, uint64_t, 1, int64_t{1} << 32, 65536, kBoth)             \
  X(FGBI_P_THREADS, threads, uint32_t, 1, 256, 1, kBoth)                                          \
  X(FGBI_P_DIGEST, digest, bool, 0, 1, 1, kBoth)                                                  \
  X(FGBI_P_BACKEND, backend, int, FGBI_BACKEND_AUTO, FGBI_BACKEND_CUDA, FGBI_BACKEND_AUTO, kBoth) \
  X(FGBI_P_MAX_EPOCH_BYTES, max_epoch_bytes, uint64_t, 1 << 20, int64_t{1} << 40, 1 << 30,        \
    kReceiver)                                                                                    \
  X(FGBI_P_SHARING, sharing, uint32_t, 0, kAllSharing, kAllSharing, kSender)                      \
  X(FGBI_P_CODECS, codecs, uint32_t, 0, kAllCodecs, kAllCodecs, kSender)                          \
  X(FGBI_P_CACHE_BYTES, cache_bytes, uint64_t, 0, int64_t{1} << 40, 64 << 20, kSender)            \
  X(FGBI_P_INDEX_BYTES, index_bytes, uint64_t, 0, int64_t{1} << 40, 16 << 20, kSender)            \
  X(FGBI_P_LINK_MBPS, link_mbps, uint64_t, 1, 10000000, 1000, kSender)                            \
  X(FGBI_P_ADAPTIVE, adaptive, bool, 0, 1, 1, kSender)                                            \
  X(FGBI_P_STAGING_BYTES, staging_bytes, uint64_t, 1 << 20, int64_t{1} << 40, int64_t{4} << 30,   \
    kSender)                                                                                      \
  X(FGBI_P_STREAM_ID, stream_id, uint64_t, 0, INT64_MAX, 0, kSender)                              \
  X(FGBI_P_TEST_HASH_BITS, test_hash_bits, uint32_t, 1, 64, 64, kSender)

// X(stat): enum fgbi_stat, in value order from FGBI_STAT_FIRST.
#define FGBI_STAT_TABLE(X)        \
  X(FGBI_S_EPOCHS)                \
  X(FGBI_S_BYTES_IN)              \
  X(FGBI_S_BYTES_OUT)             \
  X(FGBI_S_PAGES)                 \
  X(FGBI_S_PAGES_FULL)            \
  X(FGBI_S_PAGES_PARTIAL)         \
  X(FGBI_S_PAGES_UNCHANGED)       \
  X(FGBI_S_BLOCKS_SCANNED)        \
  X(FGBI_S_BLOCKS_CHANGED)        \
  X(FGBI_S_EPOCHS_REJECTED)       \
  X(FGBI_S_MEMORY_BYTES)          \
  X(FGBI_S_BLOCKS_ZERO)           \
  X(FGBI_S_BLOCKS_SHARED_EPOCH)   \
  X(FGBI_S_BLOCKS_SHARED_REPLICA) \
  X(FGBI_S_CACHE_HITS)            \
  X(FGBI_S_CACHE_MISSES)          \
  X(FGBI_S_PAGES_CODED)           \
  X(FGBI_S_CHOSEN_RAW)            \
  X(FGBI_S_CHOSEN_XOR)            \
  X(FGBI_S_CHOSEN_LZ4)            \
  X(FGBI_S_CHOSEN_ZLIB)           \
  X(FGBI_S_CHOSEN_ZSTD)           \
  X(FGBI_S_BYTES_RAW)             \
  X(FGBI_S_BYTES_XOR)             \
  X(FGBI_S_BYTES_LZ4)             \
  X(FGBI_S_BYTES_ZLIB)            \
  X(FGBI_S_BYTES_ZSTD)

// X(param, field, type, min, max, default, side): enum fgbi_session_param,
// and the fgbi::session::SessionConfig field that holds it. The largest
// chunk is the protocol's largest data frame (session_config.cpp asserts it).
#define FGBI_SESSION_PARAM_TABLE(X)                                                               \
  X(FGBI_SP_IO_TIMEOUT_MS, io_timeout_ms, int64_t, 10, 3600000, 2000, kBoth)                      \
  X(FGBI_SP_HEARTBEAT_MS, heartbeat_ms, int64_t, 1, 600000, 100, kBoth)                           \
  X(FGBI_SP_FAILOVER_MS, failover_ms, int64_t, 10, 86400000, 3000, kBackup)                       \
  X(FGBI_SP_QUEUE_BYTES, queue_bytes, int64_t, int64_t{1} << 20, int64_t{1} << 40,                \
    int64_t{64} << 20, kLink)                                                                     \
  X(FGBI_SP_CHUNK_BYTES, chunk_bytes, int64_t, 4096, int64_t{1} << 20, int64_t{256} << 10, kLink) \
  X(FGBI_SP_LISTEN_ANY, listen_any, bool, 0, 1, 0, kBackup)                                       \
  X(FGBI_SP_SYNC, sync, bool, 0, 1, 0, kBackup)                                                   \
  X(FGBI_SP_LINK_MBPS, link_mbps, int64_t, 0, 10000000, 0, kLink)

// X(stat): enum fgbi_session_stat, in value order from FGBI_SESSION_STAT_FIRST.
#define FGBI_SESSION_STAT_TABLE(X) \
  X(FGBI_SS_CONNECTIONS)           \
  X(FGBI_SS_EPOCHS)                \
  X(FGBI_SS_EPOCHS_ACKED)          \
  X(FGBI_SS_EPOCH_BYTES)           \
  X(FGBI_SS_SOCKET_BYTES)          \
  X(FGBI_SS_RESUMES)               \
  X(FGBI_SS_FULL_SYNCS)            \
  X(FGBI_SS_DISCONNECTS)           \
  X(FGBI_SS_EPOCHS_DISCARDED)      \
  X(FGBI_SS_PEERS_REJECTED)        \
  X(FGBI_SS_STOP_COPY_NS)          \
  X(FGBI_SS_STOP_COPY_MAX_NS)      \
  X(FGBI_SS_LATENCY_NS)            \
  X(FGBI_SS_LATENCY_MAX_NS)        \
  X(FGBI_SS_COMMITTED_EPOCH)       \
  X(FGBI_SS_ROLLBACKS)             \
  X(FGBI_SS_CLOSED)                \
  X(FGBI_SS_LINK_MBPS)
