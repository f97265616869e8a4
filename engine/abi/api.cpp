// The C ABI over the sender and receiver engines. Nothing throws across it:
// every entry point catches and maps to an fgbi_status.
#include <new>

#include "abi/guarded.hpp"
#include "common/xxh3.hpp"
#include "fgbi.h"
#include "receiver/receiver.hpp"
#include "sender/sender.hpp"

struct fgbi_sender : fgbi::Sender {};
struct fgbi_receiver : fgbi::Receiver {};

namespace {

using fgbi::guarded;

template <typename Ctx>
fgbi_status create(Ctx** out) noexcept {
  if (out == nullptr) return FGBI_E_NULL_ARGUMENT;
  *out = new (std::nothrow) Ctx();
  return *out ? FGBI_OK : FGBI_E_NO_MEMORY;
}

}  // namespace

#define FGBI_STR2(x) #x
#define FGBI_STR(x) FGBI_STR2(x)

extern "C" {

FGBI_API unsigned fgbi_version_number(void) { return FGBI_VERSION_NUMBER; }

FGBI_API const char* fgbi_version_string(void) {
  return FGBI_STR(FGBI_VERSION_MAJOR) "." FGBI_STR(FGBI_VERSION_MINOR) "." FGBI_STR(
      FGBI_VERSION_PATCH);
}

/* ---- sender ---- */

FGBI_API fgbi_status fgbi_sender_create(fgbi_sender** out) { return create(out); }

FGBI_API void fgbi_sender_free(fgbi_sender* sender) { delete sender; }

FGBI_API fgbi_status fgbi_sender_set_parameter(fgbi_sender* s, fgbi_param param, int64_t value) {
  return guarded(s, [&](fgbi::Sender& x) { return x.set_parameter(param, value); });
}

FGBI_API fgbi_status fgbi_sender_get_parameter(const fgbi_sender* s, fgbi_param param,
                                               int64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(s, [&](const fgbi::Sender& x) { return x.get_parameter(param, value); });
}

FGBI_API fgbi_status fgbi_sender_begin_epoch(fgbi_sender* s, uint64_t* epoch) {
  return guarded(s, [&](fgbi::Sender& x) { return x.begin_epoch(epoch); });
}

FGBI_API fgbi_status fgbi_sender_add_pages(fgbi_sender* s, const uint64_t* pfns,
                                           const void* const* pages, size_t n,
                                           fgbi_status* per_page_status) {
  return guarded(s, [&](fgbi::Sender& x) { return x.add_pages(pfns, pages, n, per_page_status); });
}

FGBI_API size_t fgbi_sender_epoch_bound(const fgbi_sender* s, size_t n_pages) {
  return s ? s->epoch_bound(n_pages) : 0;
}

FGBI_API fgbi_status fgbi_sender_end_epoch(fgbi_sender* s, void* dst, size_t capacity,
                                           size_t* written) {
  return guarded(s, [&](fgbi::Sender& x) {
    return x.end_epoch(static_cast<uint8_t*>(dst), capacity, written);
  });
}

FGBI_API fgbi_status fgbi_sender_end_epoch_cb(fgbi_sender* s, fgbi_write_fn write, void* user) {
  return guarded(s, [&](fgbi::Sender& x) { return x.end_epoch(write, user); });
}

FGBI_API fgbi_status fgbi_sender_rewind(fgbi_sender* s, uint64_t committed) {
  return guarded(s, [&](fgbi::Sender& x) { return x.rewind(committed); });
}

FGBI_API fgbi_status fgbi_sender_pending_pages(const fgbi_sender* s, uint64_t* pfns,
                                               size_t capacity, size_t* count) {
  return guarded(s, [&](const fgbi::Sender& x) { return x.pending_pages(pfns, capacity, count); });
}

FGBI_API fgbi_status fgbi_sender_get_stat(const fgbi_sender* s, fgbi_stat stat, uint64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(s, [&](const fgbi::Sender& x) { return x.get_stat(stat, value); });
}

/* ---- receiver ---- */

FGBI_API fgbi_status fgbi_receiver_create(fgbi_receiver** out) { return create(out); }

FGBI_API void fgbi_receiver_free(fgbi_receiver* receiver) { delete receiver; }

FGBI_API fgbi_status fgbi_receiver_set_parameter(fgbi_receiver* r, fgbi_param param,
                                                 int64_t value) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.set_parameter(param, value); });
}

FGBI_API fgbi_status fgbi_receiver_get_parameter(const fgbi_receiver* r, fgbi_param param,
                                                 int64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(r, [&](const fgbi::Receiver& x) { return x.get_parameter(param, value); });
}

FGBI_API fgbi_status fgbi_receiver_attach_memory(fgbi_receiver* r, void* memory, size_t size) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.attach_memory(memory, size); });
}

FGBI_API fgbi_status fgbi_receiver_map_file(fgbi_receiver* r, const char* path) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.map_file(path); });
}

FGBI_API fgbi_status fgbi_receiver_replica(const fgbi_receiver* r, const void** memory,
                                           size_t* size) {
  return guarded(r, [&](const fgbi::Receiver& x) { return x.replica(memory, size); });
}

FGBI_API fgbi_status fgbi_receiver_set_committed_epoch(fgbi_receiver* r, uint64_t committed) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.set_committed_epoch(committed); });
}

FGBI_API fgbi_status fgbi_receiver_feed(fgbi_receiver* r, const void* data, size_t size) {
  return guarded(
      r, [&](fgbi::Receiver& x) { return x.feed(static_cast<const uint8_t*>(data), size); });
}

FGBI_API fgbi_status fgbi_receiver_end_stream(fgbi_receiver* r) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.end_stream(); });
}

FGBI_API fgbi_status fgbi_receiver_reset_stream(fgbi_receiver* r) {
  return guarded(r, [&](fgbi::Receiver& x) { return x.reset_stream(); });
}

FGBI_API fgbi_status fgbi_receiver_committed_epoch(const fgbi_receiver* r, uint64_t* epoch) {
  if (epoch == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(r, [&](const fgbi::Receiver& x) {
    *epoch = x.committed_epoch();
    return FGBI_OK;
  });
}

FGBI_API fgbi_status fgbi_receiver_get_stat(const fgbi_receiver* r, fgbi_stat stat,
                                            uint64_t* value) {
  if (value == nullptr) return FGBI_E_NULL_ARGUMENT;
  return guarded(r, [&](const fgbi::Receiver& x) { return x.get_stat(stat, value); });
}

FGBI_API fgbi_status fgbi_receiver_set_before_apply(fgbi_receiver* r, fgbi_before_apply_fn hook,
                                                    void* user) {
  return guarded(r, [&](fgbi::Receiver& x) {
    x.set_before_apply(hook, user);
    return FGBI_OK;
  });
}

FGBI_API uint64_t fgbi_memory_digest(const void* memory, size_t size) {
  return memory == nullptr && size != 0 ? 0 : fgbi::xxh3(memory, size);
}

}  // extern "C"
