/*
 * fgbi_session.h - the replication session of libfgbi: a primary and a
 * backup over TCP.
 *
 * It builds on the codec API of fgbi.h (which it includes; fgbi.h does not
 * include it): a fgbi_link drives a fgbi_sender, a fgbi_backup a
 * fgbi_receiver. Its calls follow fgbi.h's conventions, and its error codes
 * are fgbi_status values that fgbi_error_name() and fgbi_error_message()
 * explain. It is the header of its own library, libfgbi-session (its own
 * version below and SOVERSION), which links libfgbi: link both
 * (pkg-config fgbi-session; CMake find_package(fgbi-session), target
 * fgbi::fgbi_session). libfgbi-session uses libfgbi's static-linking-only
 * section (the receiver's before-apply hook, the page size), so it needs
 * the libfgbi of the version it was built with.
 */
#ifndef FGBI_SESSION_H
#define FGBI_SESSION_H

#include "fgbi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FGBI_STATIC_DEFINE)
#define FGBI_SESSION_API
#elif defined(_WIN32)
#ifdef FGBI_SESSION_BUILDING_LIBRARY
#define FGBI_SESSION_API __declspec(dllexport)
#else
#define FGBI_SESSION_API __declspec(dllimport)
#endif
#else
#define FGBI_SESSION_API __attribute__((visibility("default")))
#endif

/* ---- version of libfgbi-session ---------------------------------------- */
#define FGBI_SESSION_VERSION_MAJOR 0
#define FGBI_SESSION_VERSION_MINOR 1
#define FGBI_SESSION_VERSION_PATCH 0
#define FGBI_SESSION_VERSION_NUMBER                                        \
  (FGBI_SESSION_VERSION_MAJOR * 10000 + FGBI_SESSION_VERSION_MINOR * 100 + \
   FGBI_SESSION_VERSION_PATCH)
/* The version of libfgbi-session actually linked (compare with
 * FGBI_SESSION_VERSION_NUMBER). */
FGBI_SESSION_API unsigned fgbi_session_version_number(void);

/* ==== replication session ============================================== *
 * A primary and a backup over TCP (docs/replication-protocol.md). The
 * primary's fgbi_link drives a fgbi_sender: each epoch is encoded, queued and
 * sent while the caller goes on (the VM resumes), and the backup's
 * acknowledgement of the commit can be awaited (Remus: release buffered
 * output only then). The backup's fgbi_backup drives a fgbi_receiver whose
 * replica lives in a file: it journals the pages each epoch overwrites
 * before applying it, keeps a small metadata file next to the replica, and, after a configurable
 * silence of the primary, declares failover and leaves the replica at the last committed epoch. A
 * primary that reconnects continues from the backup's committed epoch when its state allows,
 * otherwise resynchronises fully. With a pre-shared key both ends authenticate each other and every
 * frame after the handshake carries an HMAC-SHA256 under keys derived from both ends' nonces. Every
 * blocking step has a timeout.
 *
 * Threads: a context is used by one thread at a time, except that
 * fgbi_link_stop() and fgbi_backup_stop() may be called from any thread or a
 * signal handler, and fgbi_backup_get_stat() from any thread. A link runs
 * one I/O thread of its own; log callbacks may come from it. */

/* Errors of the session layer (fgbi_status values). */
enum fgbi_session_error {
  FGBI_E_CONNECT = 50,       /* could not resolve, connect to, bind or listen on the address */
  FGBI_E_TIMEOUT = 51,       /* the peer stayed silent longer than FGBI_SP_IO_TIMEOUT_MS */
  FGBI_E_DISCONNECTED = 52,  /* no connection, or the connection was lost or closed */
  FGBI_E_PROTOCOL = 53,      /* the peer broke the replication protocol (garbage, bad frame) */
  FGBI_E_AUTH_FAILED = 54,   /* authentication failed: different keys, or only one end has one */
  FGBI_E_MAC_MISMATCH = 55,  /* a frame failed its MAC: tampered with or corrupted in flight */
  FGBI_E_INCOMPATIBLE = 56,  /* protocol version, geometry or digest settings differ */
  FGBI_E_REJECTED = 57,      /* the peer reported an error and closed (see *_last_error) */
  FGBI_E_STOPPED = 58,       /* interrupted by fgbi_link_stop() / fgbi_backup_stop() */
  FGBI_E_KEY = 59,           /* key unreadable or not FGBI_KEY_MIN..MAX_BYTES long */
  FGBI_E_REPLICA_STATE = 60, /* replica metadata or journal unreadable or for another geometry */
  FGBI_E_NEEDS_KEY = 61      /* listening beyond loopback without a key needs FGBI_SP_LISTEN_ANY */
};

#define FGBI_KEY_MIN_BYTES 16
#define FGBI_KEY_MAX_BYTES 1024
/* Reads a pre-shared key file: its bytes, exactly, are the key. Stores the
 * length in *size; FGBI_E_KEY if it is unreadable, shorter than
 * FGBI_KEY_MIN_BYTES or longer than capacity / FGBI_KEY_MAX_BYTES. */
FGBI_SESSION_API fgbi_status fgbi_read_key_file(const char* path, void* key, size_t capacity,
                                                size_t* size);

typedef enum fgbi_session_param {
  FGBI_SP_IO_TIMEOUT_MS = 1, /* both: longest wait for the peer at any step (2000) */
  FGBI_SP_HEARTBEAT_MS = 2,  /* both: heartbeat after this much send silence (100);
                                must stay below the I/O timeout */
  FGBI_SP_FAILOVER_MS = 3,   /* backup: primary silence that declares failover (3000) */
  FGBI_SP_QUEUE_BYTES = 4,   /* link: most epoch bytes queued for sending (64 MiB) */
  FGBI_SP_CHUNK_BYTES = 5,   /* link: epoch bytes per data frame (256 KiB) */
  FGBI_SP_LISTEN_ANY = 6,    /* backup: 1 = may listen beyond loopback without a key */
  FGBI_SP_SYNC = 7,          /* backup: 1 = fsync journal, replica and metadata at every
                                commit (survives power loss); 0 = survives a crash of
                                the backup process only (default) */
  FGBI_SP_LINK_MBPS = 8      /* link: the link speed in Mbit/s the sender's cost model
                                is given before each epoch (FGBI_P_LINK_MBPS); 0 = the
                                speed measured at the socket, FGBI_SS_LINK_MBPS, once
                                known (default) */
} fgbi_session_param;

FGBI_SESSION_API fgbi_status fgbi_session_param_bounds(fgbi_session_param param, int64_t* min_value,
                                                       int64_t* max_value, int64_t* default_value);
FGBI_SESSION_API const char* fgbi_session_param_name(fgbi_session_param param);

typedef enum fgbi_session_stat {
  FGBI_SS_CONNECTIONS = 1,      /* sessions established (handshake completed) */
  FGBI_SS_EPOCHS = 2,           /* link: epochs queued; backup: epochs committed */
  FGBI_SS_EPOCHS_ACKED = 3,     /* link: epochs acknowledged by the backup */
  FGBI_SS_EPOCH_BYTES = 4,      /* wire-format bytes queued (link) or received (backup) */
  FGBI_SS_SOCKET_BYTES = 5,     /* bytes written (link) or read (backup), framing included */
  FGBI_SS_RESUMES = 6,          /* sessions continued from the backup's committed epoch */
  FGBI_SS_FULL_SYNCS = 7,       /* sessions restarted from epoch 1 with every page */
  FGBI_SS_DISCONNECTS = 8,      /* established sessions that ended, for any reason */
  FGBI_SS_EPOCHS_DISCARDED = 9, /* epochs cut off or rejected before their commit */
  FGBI_SS_PEERS_REJECTED = 10,  /* backup: connections refused during the handshake */
  FGBI_SS_STOP_COPY_NS = 11,    /* link: total time from begin_epoch to end_epoch's return */
  FGBI_SS_STOP_COPY_MAX_NS = 12,
  FGBI_SS_LATENCY_NS = 13, /* link: total time from begin_epoch to the epoch's ack */
  FGBI_SS_LATENCY_MAX_NS = 14,
  FGBI_SS_COMMITTED_EPOCH = 15, /* link: last acknowledged epoch; backup: replica's epoch */
  FGBI_SS_ROLLBACKS = 16,       /* backup: interrupted applies undone from the journal at open */
  FGBI_SS_CLOSED = 17,          /* backup: TCP connections accepted and closed again */
  FGBI_SS_LINK_MBPS = 18        /* link: the link speed measured at the socket, Mbit/s (bytes
                                   that left the kernel's send queue while it never ran dry;
                                   0 until 1 MiB was measured) */
} fgbi_session_stat;
#define FGBI_SESSION_STAT_FIRST 1
#define FGBI_SESSION_STAT_LAST 18
/* "FGBI_SS_EPOCHS" for FGBI_SS_EPOCHS; NULL for an unknown statistic. */
FGBI_SESSION_API const char* fgbi_session_stat_name(fgbi_session_stat stat);

typedef enum fgbi_log_level {
  FGBI_LOG_ERROR = 1,
  FGBI_LOG_WARNING = 2,
  FGBI_LOG_INFO = 3
} fgbi_log_level;
/* Receives one line of text (no newline) about the session. */
typedef void (*fgbi_log_fn)(void* user, fgbi_log_level level, const char* message);

/* ---- primary: fgbi_link ------------------------------------------------- */
typedef struct fgbi_link fgbi_link;

/* The current content of page pfn, readable until the epoch ends (NULL if
 * it cannot be read), or FGBI_PAGE_HOLE when the source holds no page
 * there (a hole in a Xen guest's p2m, a page it never had): the backup
 * holds zeros for it. The link uses it to add the pages a resynchronisation
 * needs; a full synchronisation carries only the pages that are not holes,
 * and the backup zeroes every other page when its first epoch commits, so
 * a guest whose tracked space is mostly holes (a PVH guest's p2m spans
 * 4 GiB) costs its real memory, not its span. */
typedef const void* (*fgbi_page_fn)(void* user, uint64_t pfn);
#define FGBI_PAGE_HOLE ((const void*)(uintptr_t)1)

typedef enum fgbi_sync {
  FGBI_SYNC_FULL = 1,  /* next epoch is 1 and carries every tracked page that is
                          not a hole (FGBI_PAGE_HOLE); the others are zeros */
  FGBI_SYNC_RESUME = 2 /* next epoch continues from the backup's committed epoch and
                          carries the pages sent since (fgbi_sender_pending_pages) */
} fgbi_sync;

/* The sender must be configured and fresh (no epoch yet); the link drives
 * its epochs from now on and it must outlive the link. */
FGBI_SESSION_API fgbi_status fgbi_link_create(fgbi_link** out, fgbi_sender* sender);
/* Closes the connection abruptly (no goodbye: the backup may fail over). */
FGBI_SESSION_API void fgbi_link_free(fgbi_link* link);
FGBI_SESSION_API fgbi_status fgbi_link_set_parameter(fgbi_link* link, fgbi_session_param param,
                                                     int64_t value);
FGBI_SESSION_API fgbi_status fgbi_link_get_parameter(const fgbi_link* link,
                                                     fgbi_session_param param, int64_t* value);
/* Pre-shared key (FGBI_KEY_MIN_BYTES..FGBI_KEY_MAX_BYTES); NULL, 0 = none. */
FGBI_SESSION_API fgbi_status fgbi_link_set_key(fgbi_link* link, const void* key, size_t size);
FGBI_SESSION_API fgbi_status fgbi_link_set_page_source(fgbi_link* link, fgbi_page_fn pages,
                                                       void* user);
FGBI_SESSION_API fgbi_status fgbi_link_set_log(fgbi_link* link, fgbi_log_fn log, void* user);
/* Connects (again) and runs the handshake, between epochs. Any earlier
 * connection is dropped and its unacknowledged epochs are lost; the sender
 * is rewound so that the next epoch continues from the backup's committed
 * epoch (*sync = FGBI_SYNC_RESUME) or from scratch (FGBI_SYNC_FULL). In
 * both cases the link adds the pages this needs to the next epoch through
 * the page source, which must be set. sync may be NULL. */
FGBI_SESSION_API fgbi_status fgbi_link_connect(fgbi_link* link, const char* host, uint16_t port,
                                               fgbi_sync* sync);
/* Starts an epoch (the VM is paused): then add its dirty pages with
 * fgbi_sender_add_pages(). */
FGBI_SESSION_API fgbi_status fgbi_link_begin_epoch(fgbi_link* link, uint64_t* epoch);
/* Ends the epoch: returns as soon as its pages are captured (the VM may
 * resume); the link's encoder thread then encodes the epoch and queues it,
 * streaming, while the I/O thread sends what is queued. Returns
 * FGBI_E_DISCONNECTED when there is no connection (the epoch is then
 * dropped; its pages travel after the next fgbi_link_connect()); an epoch
 * whose queueing the connection's loss interrupts is lost the same way
 * (fgbi_link_wait_ack reports it). The next begin_epoch waits until the
 * previous epoch is encoded. */
FGBI_SESSION_API fgbi_status fgbi_link_end_epoch(fgbi_link* link);
/* Waits until the backup has committed `epoch` (or a later one). Returns
 * FGBI_E_TIMEOUT after timeout_ms (< 0: no limit), FGBI_E_DISCONNECTED if
 * the connection is lost first: the epoch's state is then only safe once a
 * later epoch is acknowledged after a reconnect. When the lost epoch was the
 * last one, reconnect and run one more epoch without adding pages (begin,
 * end): the link fills it with the lost pages (fgbi-engine send does so). */
FGBI_SESSION_API fgbi_status fgbi_link_wait_ack(fgbi_link* link, uint64_t epoch,
                                                int64_t timeout_ms);
/* Pause (begin_epoch to end_epoch's return: the capture) and commit latency
 * (begin_epoch to ack; 0 while unacknowledged) of one of the last 1024
 * epochs; FGBI_E_BAD_ARGUMENT if it is no longer known. */
FGBI_SESSION_API fgbi_status fgbi_link_epoch_timing(const fgbi_link* link, uint64_t epoch,
                                                    uint64_t* stop_copy_ns, uint64_t* latency_ns);
/* Asks the backup for the digest of its whole replica (fgbi_memory_digest)
 * after it has committed every epoch queued so far; *epoch is that epoch.
 * Any status but FGBI_OK (e.g. FGBI_E_DISCONNECTED, FGBI_E_TIMEOUT) means no
 * comparison was possible: *digest is not set, and the replica is unverified,
 * not known to differ. */
FGBI_SESSION_API fgbi_status fgbi_link_replica_digest(fgbi_link* link, int64_t timeout_ms,
                                                      uint64_t* epoch, uint64_t* digest);
/* Orderly close: sends what is queued, then a goodbye so that the backup
 * keeps its replica without failing over, and closes. */
FGBI_SESSION_API fgbi_status fgbi_link_close(fgbi_link* link);
/* Makes blocking calls return FGBI_E_STOPPED promptly, and later
 * begin/end/wait calls too; fgbi_link_close() still works. Async-signal-safe. */
FGBI_SESSION_API fgbi_status fgbi_link_stop(fgbi_link* link);
FGBI_SESSION_API fgbi_status fgbi_link_get_stat(const fgbi_link* link, fgbi_session_stat stat,
                                                uint64_t* value);
/* The last error's explanation, NUL-terminated and truncated to capacity. */
FGBI_SESSION_API fgbi_status fgbi_link_last_error(const fgbi_link* link, char* buffer,
                                                  size_t capacity);

/* ---- backup: fgbi_backup ------------------------------------------------ */
typedef struct fgbi_backup fgbi_backup;

typedef enum fgbi_backup_outcome {
  FGBI_BACKUP_FAILOVER = 1, /* the primary fell silent: the replica is ready to run */
  FGBI_BACKUP_STOPPED = 2   /* fgbi_backup_stop() was called */
} fgbi_backup_outcome;

/* The receiver must be configured and have no replica attached yet; it
 * must outlive the backup. The backup registers the receiver's before-apply
 * hook (fgbi.h, static-linking-only) for its journal; fgbi_backup_free()
 * removes it. */
FGBI_SESSION_API fgbi_status fgbi_backup_create(fgbi_backup** out, fgbi_receiver* receiver);
FGBI_SESSION_API void fgbi_backup_free(fgbi_backup* backup);
FGBI_SESSION_API fgbi_status fgbi_backup_set_parameter(fgbi_backup* backup,
                                                       fgbi_session_param param, int64_t value);
FGBI_SESSION_API fgbi_status fgbi_backup_get_parameter(const fgbi_backup* backup,
                                                       fgbi_session_param param, int64_t* value);
FGBI_SESSION_API fgbi_status fgbi_backup_set_key(fgbi_backup* backup, const void* key, size_t size);
FGBI_SESSION_API fgbi_status fgbi_backup_set_log(fgbi_backup* backup, fgbi_log_fn log, void* user);
/* Maps the replica file (created if needed) and reads PATH.meta and
 * PATH.journal next to it: an epoch whose apply a crash interrupted is
 * undone from the journal, so the replica is at the committed epoch that
 * PATH.meta names again. */
FGBI_SESSION_API fgbi_status fgbi_backup_open_replica(fgbi_backup* backup, const char* path);
/* Listens on host:port (port 0: any free port). host NULL: 127.0.0.1
 * without a key, every interface with one. Without a key, an address other
 * than loopback needs FGBI_SP_LISTEN_ANY (else FGBI_E_NEEDS_KEY). */
FGBI_SESSION_API fgbi_status fgbi_backup_listen(fgbi_backup* backup, const char* host,
                                                uint16_t port);
/* The port actually listened on. */
FGBI_SESSION_API fgbi_status fgbi_backup_port(const fgbi_backup* backup, uint16_t* port);
/* Serves primaries, one connection at a time, until failover or stop. On
 * return the replica, PATH.meta (state, committed epoch, digest) and the
 * file system agree. */
FGBI_SESSION_API fgbi_status fgbi_backup_run(fgbi_backup* backup, fgbi_backup_outcome* outcome);
/* Makes fgbi_backup_run() return promptly with FGBI_BACKUP_STOPPED.
 * Async-signal-safe; any thread. */
FGBI_SESSION_API fgbi_status fgbi_backup_stop(fgbi_backup* backup);
FGBI_SESSION_API fgbi_status fgbi_backup_get_stat(const fgbi_backup* backup, fgbi_session_stat stat,
                                                  uint64_t* value);
FGBI_SESSION_API fgbi_status fgbi_backup_last_error(const fgbi_backup* backup, char* buffer,
                                                    size_t capacity);

#ifdef __cplusplus
}
#endif
#endif /* FGBI_SESSION_H */
