/*
 * fgbi.h - the public header of libfgbi: the codec.
 *
 * fgbi ships the memory a replicated VM dirtied during an epoch to a backup
 * as the 64-byte blocks that actually changed. A *sender* context keeps, for
 * every tracked page, the block hashes of the content the receiver holds; it
 * turns a batch of dirty pages into an epoch of wire format v2
 * (docs/wire-format.md). A *receiver* context parses that stream in pieces of
 * any size, validates an epoch completely, and only then commits it to the
 * replica memory, all or nothing. The replication session over TCP that
 * drives them between two hosts has its own header, fgbi_session.h, and
 * library, libfgbi-session.
 *
 * Conventions (docs in README.md):
 *  - Every call returns an fgbi_status: FGBI_OK (0) or an error code;
 *    fgbi_error_name() turns it into text. No call throws or aborts.
 *  - Contexts are opaque; *_free() accepts NULL.
 *  - Options go through *_set_parameter(ctx, fgbi_param, value) and can be
 *    bounded with fgbi_param_bounds(), so new options never break the ABI.
 *  - Integers and hashes cross the wire little-endian.
 *  - Thread safety: a context is used by one thread at a time; distinct
 *    contexts are independent.
 *
 * Layout, as zstd.h's: the stable API first, then a section that only
 * FGBI_STATIC_LINKING_ONLY reveals, for what may change between releases.
 */
#ifndef FGBI_H
#define FGBI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FGBI_STATIC_DEFINE)
#define FGBI_API
#elif defined(_WIN32)
#ifdef FGBI_BUILDING_LIBRARY
#define FGBI_API __declspec(dllexport)
#else
#define FGBI_API __declspec(dllimport)
#endif
#else
#define FGBI_API __attribute__((visibility("default")))
#endif

/* ---- version ----------------------------------------------------------- */
#define FGBI_VERSION_MAJOR 0
#define FGBI_VERSION_MINOR 1
#define FGBI_VERSION_PATCH 0
#define FGBI_VERSION_NUMBER \
  (FGBI_VERSION_MAJOR * 10000 + FGBI_VERSION_MINOR * 100 + FGBI_VERSION_PATCH)

/* The version of the library actually linked (compare with FGBI_VERSION_NUMBER). */
FGBI_API unsigned fgbi_version_number(void);
/* "MAJOR.MINOR.PATCH" of the linked library. */
FGBI_API const char* fgbi_version_string(void);

/* The wire format version this library writes and reads. */
#define FGBI_WIRE_VERSION 2

/* ---- errors ------------------------------------------------------------ */
typedef int fgbi_status;

enum fgbi_error {
  FGBI_OK = 0,
  /* usage errors */
  FGBI_E_NULL_ARGUMENT = 1,       /* a required pointer was NULL */
  FGBI_E_PARAM_UNKNOWN = 2,       /* the parameter does not exist or does not apply */
  FGBI_E_PARAM_OUT_OF_BOUNDS = 3, /* value outside fgbi_param_bounds() */
  FGBI_E_WRONG_STAGE = 4,         /* call not valid now (e.g. add before begin) */
  FGBI_E_NO_MEMORY = 5,
  FGBI_E_PFN_OUT_OF_RANGE = 6,     /* pfn >= tracked pages */
  FGBI_E_DUPLICATE_PFN = 7,        /* the same pfn twice in one epoch */
  FGBI_E_DST_TOO_SMALL = 8,        /* output buffer smaller than the epoch */
  FGBI_E_CALLBACK_FAILED = 9,      /* the write callback returned nonzero */
  FGBI_E_BACKEND_UNAVAILABLE = 10, /* kernel backend not compiled or no device */
  FGBI_E_IO = 11,                  /* a replica, journal or metadata file: I/O failed */
  FGBI_E_NO_REPLICA = 12,          /* receiver has no replica memory attached */
  FGBI_E_BAD_ARGUMENT = 13,        /* an argument outside its valid range */
  FGBI_E_STAGING_FULL = 14,        /* no room left to capture the page: end the
                                      epoch and add it to the next one, or raise
                                      FGBI_P_STAGING_BYTES */
  /* stream errors: the epoch in progress is discarded, the replica is
   * unchanged, and the receiver must be reset (fgbi_receiver_reset_stream) */
  FGBI_E_BAD_MAGIC = 20,
  FGBI_E_BAD_VERSION = 21,
  FGBI_E_UNSUPPORTED_FLAGS = 22, /* a flag bit this version does not know */
  FGBI_E_GEOMETRY_MISMATCH = 23, /* page/block size or tracked pages differ */
  FGBI_E_HEADER_CHECKSUM = 24,
  FGBI_E_EPOCH_REPLAYED = 25, /* epoch <= last committed */
  FGBI_E_EPOCH_GAP = 26,      /* epoch > last committed + 1 */
  FGBI_E_LIMIT_EXCEEDED = 27, /* a count or length beyond configured limits */
  FGBI_E_BAD_SEGMENT = 28,    /* segment header inconsistent */
  FGBI_E_SEGMENT_CHECKSUM = 29,
  FGBI_E_UNKNOWN_RECORD = 30, /* unknown mandatory record kind */
  FGBI_E_BAD_RECORD = 31,     /* record length, bitmap or reserved bits invalid */
  FGBI_E_BAD_TRAILER = 32,
  FGBI_E_EPOCH_CHECKSUM = 33,
  FGBI_E_DIGEST_MISMATCH = 34, /* replica would diverge from the primary */
  FGBI_E_TRUNCATED = 35,       /* stream ended inside an epoch */
  FGBI_E_STREAM_FAILED = 36,   /* an earlier stream error; reset first */
  FGBI_E_DIGEST_REQUIRED = 37, /* receiver requires a digest; epoch has none */
  FGBI_E_BAD_REFERENCE = 38,   /* a shared-block reference is stale or invalid */
  FGBI_E_BAD_PAYLOAD = 39,     /* compressed or delta data does not decode */
  FGBI_E_STREAM_MISMATCH = 40, /* the epoch belongs to another sender's stream */
  FGBI_E_INTERNAL = 99
};

/* Stable identifier of an error code ("FGBI_E_EPOCH_GAP"), never NULL. These
 * two also explain the session's codes (enum fgbi_session_error). */
FGBI_API const char* fgbi_error_name(fgbi_status status);
/* One-line human explanation of an error code, never NULL. */
FGBI_API const char* fgbi_error_message(fgbi_status status);

/* ---- parameters -------------------------------------------------------- */
typedef enum fgbi_param {
  FGBI_P_EXPERIMENTAL_PARAM1 = 1,  /* reserved: see FGBI_STATIC_LINKING_ONLY      */
  FGBI_P_BLOCK_SIZE = 2,           /* 32, 64 (default), 128 or 256 (both sides)   */
  FGBI_P_TRACKED_PAGES = 3,        /* pages of tracked memory, pfn < this (both)  */
  FGBI_P_THREADS = 4,              /* worker threads, 1 = caller only (both)      */
  FGBI_P_DIGEST = 5,               /* sender: 1 = end-to-end digest on (default),
                                      standing for the records checksums;
                                      receiver: 1 = require a digest in every
                                      epoch                                       */
  FGBI_P_BACKEND = 6,              /* fgbi_backend value: the kernels this context
                                      runs (both sides; the stream does not depend
                                      on it)                                      */
  FGBI_P_MAX_EPOCH_BYTES = 7,      /* receiver: largest epoch it accepts, on the
                                      wire and decoded                            */
  FGBI_P_SHARING = 8,              /* sender: FGBI_SHARE_* bits (default all)     */
  FGBI_P_CODECS = 9,               /* sender: FGBI_CODEC_* bits the cost model may
                                      choose from (default all)                   */
  FGBI_P_CACHE_BYTES = 10,         /* sender: cache of sent pages for XOR deltas
                                      (default 64 MiB; 0 = none)                  */
  FGBI_P_INDEX_BYTES = 11,         /* sender: index of the receiver's blocks for
                                      FGBI_SHARE_REPLICA (default 16 MiB)         */
  FGBI_P_LINK_MBPS = 12,           /* sender: link bandwidth the cost model
                                      assumes, Mbit/s (default 1000)              */
  FGBI_P_ADAPTIVE = 13,            /* sender: 1 = the cost model learns codec
                                      speeds as it runs (default); 0 = fixed
                                      reference speeds, so the stream depends only
                                      on input                                    */
  FGBI_P_STAGING_BYTES = 14,       /* sender: most bytes of page content captured
                                      for one epoch, one page slot per dirty page
                                      (default 4 GiB, taken as epochs need it)    */
  FGBI_P_STREAM_ID = 15,           /* sender: the stream's identity carried by
                                      every epoch; 0 (default) = random at the
                                      first epoch. A receiver refuses an epoch
                                      whose id differs from the one its stream
                                      started with                                */
  FGBI_P_EXPERIMENTAL_PARAM2 = 100 /* reserved: see FGBI_STATIC_LINKING_ONLY     */
} fgbi_param;

/* FGBI_P_SHARING bits: how changed blocks may avoid carrying their bytes. */
#define FGBI_SHARE_ZERO 1u /* all-zero blocks travel as a flag            */
#define FGBI_SHARE_EPOCH                         \
  2u /* a block equal to one sent earlier in the \
        same epoch travels as a reference to it     */
#define FGBI_SHARE_REPLICA                          \
  4u /* a block the receiver already holds anywhere \
        travels as a reference to that location     */

/* FGBI_P_CODECS bits: encodings of a page's literal blocks besides raw. */
#define FGBI_CODEC_XOR 1u /* XOR + zero-run delta against the cached copy  */
#define FGBI_CODEC_LZ4 2u
#define FGBI_CODEC_ZLIB 4u /* raw DEFLATE, level 1                          */
#define FGBI_CODEC_ZSTD 8u /* zstd, level 1                                 */

typedef enum fgbi_backend {
  FGBI_BACKEND_AUTO = 0,   /* best available */
  FGBI_BACKEND_SCALAR = 1, /* portable reference kernels */
  FGBI_BACKEND_SIMD = 2,   /* Highway, runtime dispatch */
  FGBI_BACKEND_CUDA = 3    /* NVIDIA GPU */
} fgbi_backend;

/* Minimum, maximum and default of a parameter. Any of the out pointers may
 * be NULL. Returns FGBI_E_PARAM_UNKNOWN for an unknown parameter. */
FGBI_API fgbi_status fgbi_param_bounds(fgbi_param param, int64_t* min_value, int64_t* max_value,
                                       int64_t* default_value);
/* "FGBI_P_BLOCK_SIZE" for FGBI_P_BLOCK_SIZE; NULL for an unknown parameter. */
FGBI_API const char* fgbi_param_name(fgbi_param param);

/* ---- statistics -------------------------------------------------------- */
typedef enum fgbi_stat {
  FGBI_S_EPOCHS = 1,                 /* sender: epochs produced; receiver: committed */
  FGBI_S_BYTES_IN = 2,               /* sender: dirty page bytes; receiver: stream bytes */
  FGBI_S_BYTES_OUT = 3,              /* sender: stream bytes; receiver: replica bytes written */
  FGBI_S_PAGES = 4,                  /* sender: dirty pages added; receiver: pages updated */
  FGBI_S_PAGES_FULL = 5,             /* pages sent whole */
  FGBI_S_PAGES_PARTIAL = 6,          /* pages sent as changed blocks */
  FGBI_S_PAGES_UNCHANGED = 7,        /* dirty pages with no changed block */
  FGBI_S_BLOCKS_SCANNED = 8,         /* blocks hashed (sender) */
  FGBI_S_BLOCKS_CHANGED = 9,         /* blocks sent (sender) or written (receiver) */
  FGBI_S_EPOCHS_REJECTED = 10,       /* receiver: epochs refused with a stream error */
  FGBI_S_MEMORY_BYTES = 11,          /* bytes of state this context holds */
  FGBI_S_BLOCKS_ZERO = 12,           /* changed blocks sent as a zero flag */
  FGBI_S_BLOCKS_SHARED_EPOCH = 13,   /* ... as a reference within the epoch */
  FGBI_S_BLOCKS_SHARED_REPLICA = 14, /* ... as a reference to the replica */
  FGBI_S_CACHE_HITS = 15,            /* sender: changed known pages the XOR stage found cached */
  FGBI_S_CACHE_MISSES = 16,          /* ... found not cached, or only as a stale copy */
  FGBI_S_PAGES_CODED = 17,           /* pages sent as coded records (sharing/codecs) */
  FGBI_S_CHOSEN_RAW = 18,            /* sender: coded pages whose literal blocks went raw */
  FGBI_S_CHOSEN_XOR = 19,            /* ... as an XOR delta */
  FGBI_S_CHOSEN_LZ4 = 20,
  FGBI_S_CHOSEN_ZLIB = 21,
  FGBI_S_CHOSEN_ZSTD = 22,
  FGBI_S_BYTES_RAW = 23, /* sender: wire bytes of block data sent raw */
  FGBI_S_BYTES_XOR = 24, /* ... as XOR deltas */
  FGBI_S_BYTES_LZ4 = 25,
  FGBI_S_BYTES_ZLIB = 26,
  FGBI_S_BYTES_ZSTD = 27
} fgbi_stat;

/* "FGBI_S_PAGES" for FGBI_S_PAGES; NULL for an unknown statistic. */
FGBI_API const char* fgbi_stat_name(fgbi_stat stat);
#define FGBI_STAT_FIRST 1
#define FGBI_STAT_LAST 27

/* ---- sender ------------------------------------------------------------ */
typedef struct fgbi_sender fgbi_sender;

/* Write callback for fgbi_sender_end_epoch_cb: called with consecutive
 * pieces of the epoch; return 0 to continue, nonzero to abort. */
typedef int (*fgbi_write_fn)(void* user, const void* data, size_t size);

FGBI_API fgbi_status fgbi_sender_create(fgbi_sender** out);
FGBI_API void fgbi_sender_free(fgbi_sender* sender);
/* Parameters may be set until the first fgbi_sender_begin_epoch(). */
FGBI_API fgbi_status fgbi_sender_set_parameter(fgbi_sender* sender, fgbi_param param,
                                               int64_t value);
FGBI_API fgbi_status fgbi_sender_get_parameter(const fgbi_sender* sender, fgbi_param param,
                                               int64_t* value);
/* Starts the next epoch (numbered from 1); *epoch may be NULL. */
FGBI_API fgbi_status fgbi_sender_begin_epoch(fgbi_sender* sender, uint64_t* epoch);
/* Adds n dirty pages: pfns[i] with its content at pages[i] (page-size bytes)
 * and captures them: when the call returns, everything the epoch needs has
 * been read (the changed blocks copied out, the block hashes the end-to-end
 * check is made of computed), so the guest may write the pages again - this
 * is the only part of an epoch that needs the guest paused. With
 * FGBI_P_THREADS > 1 the capture uses that many threads. Each page needs a
 * page of staging room (FGBI_P_STAGING_BYTES); a page that finds none fails
 * with FGBI_E_STAGING_FULL. Pages are checked one by one; with
 * per_page_status non-NULL each page's status is stored there and the call
 * returns the first error, having accepted every page whose status is
 * FGBI_OK. With per_page_status NULL the batch is all or nothing.
 *
 * Page pointers: C converts no T** to const void* const* implicitly, so a
 * caller holding `uint8_t* pages[]` (or `void* pages[]`) passes them with
 * the cast `(const void* const*)pages`; the cast is exact, nothing is copied
 * or converted (tests/c_api_test.c does it under -Werror). An array of
 * `const void*` needs no cast.
 *
 * Epoch 1 (and the first epoch after a full resynchronisation) is not
 * required to carry every page: it is not refused. A tracked page that no
 * epoch has carried keeps whatever the replica memory held: zeros in a new
 * replica file, the file's old content in an existing one, the caller's
 * bytes with fgbi_receiver_attach_memory(). For a replica equal to the
 * primary, add every tracked page in epoch 1 (fgbi_link does so itself on a
 * full synchronisation). */
FGBI_API fgbi_status fgbi_sender_add_pages(fgbi_sender* sender, const uint64_t* pfns,
                                           const void* const* pages, size_t n,
                                           fgbi_status* per_page_status);
/* Worst-case stream size of an epoch of n_pages dirty pages (0 on bad
 * arguments). n_pages counts every page of the epoch: the total added by all
 * of its fgbi_sender_add_pages() calls, those before this call included, not
 * only the pages still to come. It does not depend on the content, so it may
 * be called before the pages are added. */
FGBI_API size_t fgbi_sender_epoch_bound(const fgbi_sender* sender, size_t n_pages);
/* Ends the epoch and writes its stream into dst. It encodes from what
 * fgbi_sender_add_pages captured and never reads the pages again, so it may
 * run while the guest runs. On FGBI_E_DST_TOO_SMALL the
 * epoch stays open: call again with a larger buffer (*written = size needed).
 * With one thread (FGBI_P_THREADS 1) and a capacity of at least
 * fgbi_sender_epoch_bound(), the stream is encoded in dst where it lies,
 * without a copy; bytes of dst past *written are then left unspecified.
 * Otherwise the segments are encoded apart and copied to dst, and (with
 * the digest on) the pages they send raw are copied once, from where the
 * capture put them. */
FGBI_API fgbi_status fgbi_sender_end_epoch(fgbi_sender* sender, void* dst, size_t capacity,
                                           size_t* written);
/* Ends the epoch and hands its stream to write() in order, streaming: the
 * header and each segment are written as soon as they are encoded (a wave of
 * FGBI_P_THREADS segments at a time), the trailer last. If write() fails
 * the epoch is lost to the receiver: follow with fgbi_sender_rewind(). */
FGBI_API fgbi_status fgbi_sender_end_epoch_cb(fgbi_sender* sender, fgbi_write_fn write, void* user);
/* The receiver holds epoch `committed` (e.g. it rejected later epochs, or a
 * connection was lost). Every page sent after that epoch is marked unknown so
 * it travels whole next time, and the next epoch is numbered committed + 1.
 * The pages to add again are listed by fgbi_sender_pending_pages(). */
FGBI_API fgbi_status fgbi_sender_rewind(fgbi_sender* sender, uint64_t committed);
/* Pfns that must be added to the next epoch after a rewind (ascending):
 * copies up to capacity of them into pfns and stores the total in *count. */
FGBI_API fgbi_status fgbi_sender_pending_pages(const fgbi_sender* sender, uint64_t* pfns,
                                               size_t capacity, size_t* count);
FGBI_API fgbi_status fgbi_sender_get_stat(const fgbi_sender* sender, fgbi_stat stat,
                                          uint64_t* value);

/* ---- receiver ---------------------------------------------------------- */
typedef struct fgbi_receiver fgbi_receiver;

FGBI_API fgbi_status fgbi_receiver_create(fgbi_receiver** out);
FGBI_API void fgbi_receiver_free(fgbi_receiver* receiver);
/* Parameters may be set until replica memory is attached. Receiver defaults
 * (fgbi_param_bounds() states each): FGBI_P_TRACKED_PAGES 65,536 (256 MiB of
 * 4 KiB pages: set it to the sender's); FGBI_P_BLOCK_SIZE 64 (must equal
 * the sender's); FGBI_P_DIGEST 1 (every epoch must carry the end-to-end
 * digest, so a sender with FGBI_P_DIGEST 0 is refused until this is set to
 * 0); FGBI_P_THREADS 1; FGBI_P_BACKEND auto; FGBI_P_MAX_EPOCH_BYTES 1 GiB (a
 * larger epoch is refused, on the wire and decoded: raise it for full
 * synchronisations of incompressible memory beyond 1 GiB). */
FGBI_API fgbi_status fgbi_receiver_set_parameter(fgbi_receiver* receiver, fgbi_param param,
                                                 int64_t value);
FGBI_API fgbi_status fgbi_receiver_get_parameter(const fgbi_receiver* receiver, fgbi_param param,
                                                 int64_t* value);
/* Replica memory supplied by the caller: at least tracked_pages * page_size
 * bytes, written only when an epoch commits. */
FGBI_API fgbi_status fgbi_receiver_attach_memory(fgbi_receiver* receiver, void* memory,
                                                 size_t size);
/* Replica memory in a file that the receiver maps shared (created and sized
 * to tracked_pages * page_size if needed; existing content is kept). */
FGBI_API fgbi_status fgbi_receiver_map_file(fgbi_receiver* receiver, const char* path);
/* The replica memory (read only for the caller). */
FGBI_API fgbi_status fgbi_receiver_replica(const fgbi_receiver* receiver, const void** memory,
                                           size_t* size);
/* Declares that the replica already holds epoch `committed` (e.g. restored
 * from a file); the next epoch accepted is committed + 1. */
FGBI_API fgbi_status fgbi_receiver_set_committed_epoch(fgbi_receiver* receiver, uint64_t committed);
/* Feeds stream bytes, in pieces of any size. Each epoch is committed as soon
 * as it has fully arrived and verified. On a stream error the epoch in
 * progress is discarded (replica untouched) and the error is returned; the
 * receiver then refuses input (FGBI_E_STREAM_FAILED) until reset. */
FGBI_API fgbi_status fgbi_receiver_feed(fgbi_receiver* receiver, const void* data, size_t size);
/* Declares the end of the stream: FGBI_E_TRUNCATED if an epoch was cut. */
FGBI_API fgbi_status fgbi_receiver_end_stream(fgbi_receiver* receiver);
/* Discards any partial epoch and clears a stream error; the next byte must
 * start an epoch header. The replica and committed epoch are unchanged. */
FGBI_API fgbi_status fgbi_receiver_reset_stream(fgbi_receiver* receiver);
/* The last committed epoch (0 = none yet). */
FGBI_API fgbi_status fgbi_receiver_committed_epoch(const fgbi_receiver* receiver, uint64_t* epoch);
FGBI_API fgbi_status fgbi_receiver_get_stat(const fgbi_receiver* receiver, fgbi_stat stat,
                                            uint64_t* value);
/* XXH3-64 of a whole memory: compares a replica with the primary's memory
 * (the backup of fgbi_session.h reports it and writes it into its metadata
 * file). */
FGBI_API uint64_t fgbi_memory_digest(const void* memory, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* FGBI_H */

/* ==== static linking only ============================================== *
 * What follows may change or disappear in any release, with no change of
 * FGBI_VERSION_MAJOR or SOVERSION: use it only with the library version it
 * was compiled against, e.g. when linking libfgbi statically. Define
 * FGBI_STATIC_LINKING_ONLY before including fgbi.h to see it. It has its own
 * guard, so a file may include fgbi.h again after defining the macro.
 * The reserved parameter values above are these parameters' numbers. */
#if defined(FGBI_STATIC_LINKING_ONLY) && !defined(FGBI_H_STATIC_LINKING_ONLY)
#define FGBI_H_STATIC_LINKING_ONLY

/* Bytes per page, both sides. Only 4096 until the page size can vary; the
 * wire format already carries it. */
#define FGBI_P_PAGE_SIZE FGBI_P_EXPERIMENTAL_PARAM1
/* TESTING ONLY, sender: keep this many low bits of each block hash (64 =
 * normal) to force collisions; the end-to-end digest must then catch them. */
#define FGBI_P_TEST_HASH_BITS FGBI_P_EXPERIMENTAL_PARAM2

#ifdef __cplusplus
extern "C" {
#endif

/* Receiver, before an epoch is applied: called once per epoch, after the
 * epoch has been validated completely (digest included) and before any of it
 * is written to the replica, with its number and the pfns of the pages it is
 * about to write: ascending, each once, `count` of them (possibly none; a
 * page the epoch only vouches for as unchanged is not listed). The array is
 * valid during the call only. E.g. an undo journal saves those pages'
 * committed content here (fgbi_backup does). Return FGBI_OK to apply the
 * epoch; any other status discards it as a stream error would (the replica
 * is unchanged, fgbi_receiver_feed() returns that status, and the receiver
 * must be reset). The hook runs on the thread that called
 * fgbi_receiver_feed() and must not call the receiver. */
typedef fgbi_status (*fgbi_before_apply_fn)(void* user, uint64_t epoch, const uint64_t* pfns,
                                            size_t count);
/* Registers the hook (NULL: none, the default) and its user pointer. */
FGBI_API fgbi_status fgbi_receiver_set_before_apply(fgbi_receiver* receiver,
                                                    fgbi_before_apply_fn hook, void* user);

#ifdef __cplusplus
}
#endif

#endif /* FGBI_STATIC_LINKING_ONLY */
