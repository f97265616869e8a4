/* The public header compiled as C11 and exercised from C: a sender and a
 * receiver replicate two epochs through the shared library. */
#include <fgbi.h>

/* The stable API alone: what may change stays behind FGBI_STATIC_LINKING_ONLY. */
#if defined(FGBI_P_PAGE_SIZE) || defined(FGBI_P_TEST_HASH_BITS)
#error "fgbi.h shows static-linking-only parameters without FGBI_STATIC_LINKING_ONLY"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES 8
#define PAGE 4096

#include "support/c_check.h"

struct sink {
  unsigned char* data;
  size_t size;
  size_t capacity;
};

static int write_to_sink(void* user, const void* data, size_t size) {
  struct sink* s = (struct sink*)user;
  if (s->size + size > s->capacity) return 1;
  memcpy(s->data + s->size, data, size);
  s->size += size;
  return 0;
}

int main(void) {
  static unsigned char primary[PAGES * PAGE];
  static unsigned char replica[PAGES * PAGE];
  uint64_t pfns[PAGES];
  const void* pages[PAGES];
  uint8_t* held[PAGES]; /* page pointers as C callers often hold them */
  fgbi_sender* sender = NULL;
  fgbi_receiver* receiver = NULL;
  unsigned char* stream;
  size_t bound, written = 0, i;
  uint64_t epoch = 0, value = 0;
  int64_t block = 0;
  struct sink sink;

  CHECK(fgbi_version_number() == FGBI_VERSION_NUMBER);
  CHECK(strcmp(fgbi_error_name(FGBI_E_TRUNCATED), "FGBI_E_TRUNCATED") == 0);
  CHECK(fgbi_param_bounds(FGBI_P_BLOCK_SIZE, NULL, NULL, &block) == FGBI_OK && block == 64);

  for (i = 0; i < sizeof primary; ++i) primary[i] = (unsigned char)(i * 31 + i / 4096);
  for (i = 0; i < PAGES; ++i) {
    pfns[i] = i;
    pages[i] = primary + i * PAGE;
    held[i] = primary + i * PAGE;
  }
  CHECK(fgbi_sender_create(&sender) == FGBI_OK);
  CHECK(fgbi_receiver_create(&receiver) == FGBI_OK);
  CHECK(fgbi_sender_set_parameter(sender, FGBI_P_TRACKED_PAGES, PAGES) == FGBI_OK);
  CHECK(fgbi_receiver_set_parameter(receiver, FGBI_P_TRACKED_PAGES, PAGES) == FGBI_OK);
  CHECK(fgbi_receiver_attach_memory(receiver, replica, sizeof replica) == FGBI_OK);

  /* Epoch 1 into a caller buffer sized by the bound. */
  bound = fgbi_sender_epoch_bound(sender, PAGES);
  stream = (unsigned char*)malloc(bound);
  CHECK(stream != NULL);
  CHECK(fgbi_sender_begin_epoch(sender, &epoch) == FGBI_OK && epoch == 1);
  CHECK(fgbi_sender_add_pages(sender, pfns, pages, PAGES, NULL) == FGBI_OK);
  CHECK(fgbi_sender_end_epoch(sender, stream, bound, &written) == FGBI_OK);
  CHECK(written > 0 && written <= bound);
  /* Fed one byte at a time. */
  for (i = 0; i < written; ++i) CHECK(fgbi_receiver_feed(receiver, stream + i, 1) == FGBI_OK);
  CHECK(fgbi_receiver_committed_epoch(receiver, &epoch) == FGBI_OK && epoch == 1);
  CHECK(memcmp(primary, replica, sizeof primary) == 0);

  /* Epoch 2 through the write callback: one byte changed. */
  primary[3 * PAGE + 200] ^= 0x5A;
  sink.data = stream;
  sink.size = 0;
  sink.capacity = bound;
  CHECK(fgbi_sender_begin_epoch(sender, NULL) == FGBI_OK);
  /* uint8_t* pages go in through the cast fgbi.h documents (no warning). */
  CHECK(fgbi_sender_add_pages(sender, pfns + 3, (const void* const*)(held + 3), 1, NULL) ==
        FGBI_OK);
  CHECK(fgbi_sender_end_epoch_cb(sender, write_to_sink, &sink) == FGBI_OK);
  CHECK(sink.size < 300);
  CHECK(fgbi_receiver_feed(receiver, stream, sink.size) == FGBI_OK);
  CHECK(fgbi_receiver_end_stream(receiver) == FGBI_OK);
  CHECK(memcmp(primary, replica, sizeof primary) == 0);
  CHECK(fgbi_sender_get_stat(sender, FGBI_S_BLOCKS_CHANGED, &value) == FGBI_OK &&
        value == PAGES * 64 + 1);

  /* Replaying it is refused with a precise error. */
  CHECK(fgbi_receiver_feed(receiver, stream, sink.size) == FGBI_E_EPOCH_REPLAYED);
  CHECK(fgbi_receiver_reset_stream(receiver) == FGBI_OK);

  free(stream);
  fgbi_sender_free(sender);
  fgbi_receiver_free(receiver);
  if (failures == 0) printf("c_api_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
