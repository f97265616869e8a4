/* The receiver's before-apply hook (static-linking-only section of fgbi.h),
 * from C11 through the shared library: it is told which pages an epoch is
 * about to write, ascending, while the replica still holds the committed
 * content, and a status other than FGBI_OK discards the epoch. */
#define FGBI_STATIC_LINKING_ONLY
#include <fgbi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES 8
#define PAGE 4096

#include "support/c_check.h"

static unsigned char primary[PAGES * PAGE];
static unsigned char replica[PAGES * PAGE];
static unsigned char committed[PAGES * PAGE]; /* the replica after the last commit */

struct seen {
  int calls;
  uint64_t epoch;
  uint64_t pfns[PAGES];
  size_t count;
  int replica_untouched; /* the replica held the committed content during the call */
  fgbi_status answer;
};

static fgbi_status record(void* user, uint64_t epoch, const uint64_t* pfns, size_t count) {
  struct seen* s = (struct seen*)user;
  ++s->calls;
  s->epoch = epoch;
  s->count = count;
  if (count <= PAGES) memcpy(s->pfns, pfns, count * sizeof *pfns);
  s->replica_untouched = memcmp(replica, committed, sizeof replica) == 0;
  return s->answer;
}

/* One epoch of the given pages, fed whole; returns the feed's status. */
static fgbi_status replicate(fgbi_sender* sender, fgbi_receiver* receiver, const uint64_t* pfns,
                             size_t n, unsigned char* stream, size_t bound) {
  const void* pages[PAGES];
  size_t i, written = 0;
  for (i = 0; i < n; ++i) pages[i] = primary + pfns[i] * PAGE;
  CHECK(fgbi_sender_begin_epoch(sender, NULL) == FGBI_OK);
  CHECK(fgbi_sender_add_pages(sender, pfns, pages, n, NULL) == FGBI_OK);
  CHECK(fgbi_sender_end_epoch(sender, stream, bound, &written) == FGBI_OK);
  return fgbi_receiver_feed(receiver, stream, written);
}

int main(void) {
  const uint64_t all[PAGES] = {0, 1, 2, 3, 4, 5, 6, 7};
  const uint64_t some[3] = {5, 6, 2}; /* page 6 is added unchanged */
  fgbi_sender* sender = NULL;
  fgbi_receiver* receiver = NULL;
  struct seen seen;
  unsigned char* stream;
  size_t bound, i;
  uint64_t epoch = 0;

  memset(&seen, 0, sizeof seen);
  for (i = 0; i < sizeof primary; ++i) primary[i] = (unsigned char)(i * 7 + i / 4096);
  CHECK(fgbi_sender_create(&sender) == FGBI_OK);
  CHECK(fgbi_receiver_create(&receiver) == FGBI_OK);
  CHECK(fgbi_receiver_set_before_apply(NULL, record, &seen) == FGBI_E_NULL_ARGUMENT);
  CHECK(fgbi_sender_set_parameter(sender, FGBI_P_TRACKED_PAGES, PAGES) == FGBI_OK);
  CHECK(fgbi_receiver_set_parameter(receiver, FGBI_P_TRACKED_PAGES, PAGES) == FGBI_OK);
  CHECK(fgbi_receiver_attach_memory(receiver, replica, sizeof replica) == FGBI_OK);
  CHECK(fgbi_receiver_set_before_apply(receiver, record, &seen) == FGBI_OK);
  bound = fgbi_sender_epoch_bound(sender, PAGES);
  stream = (unsigned char*)malloc(bound);
  CHECK(stream != NULL);

  /* Epoch 1 writes every page. */
  CHECK(replicate(sender, receiver, all, PAGES, stream, bound) == FGBI_OK);
  CHECK(seen.calls == 1 && seen.epoch == 1 && seen.count == PAGES && seen.replica_untouched);
  for (i = 0; i < PAGES && i < seen.count; ++i) CHECK(seen.pfns[i] == i);
  CHECK(memcmp(primary, replica, sizeof primary) == 0);
  memcpy(committed, replica, sizeof replica);

  /* Epoch 2: pages 5 and 2 change, page 6 does not; the hook gets 2, 5. */
  primary[5 * PAGE + 100] ^= 0x11;
  primary[2 * PAGE + 4000] ^= 0x22;
  CHECK(replicate(sender, receiver, some, 3, stream, bound) == FGBI_OK);
  CHECK(seen.calls == 2 && seen.epoch == 2 && seen.count == 2 && seen.replica_untouched);
  CHECK(seen.count == 2 && seen.pfns[0] == 2 && seen.pfns[1] == 5);
  CHECK(memcmp(primary, replica, sizeof primary) == 0);
  memcpy(committed, replica, sizeof replica);

  /* A refusal discards epoch 3: the replica keeps epoch 2, the feed returns
   * the hook's status, and the stream must be reset before more input. */
  primary[7 * PAGE] ^= 0x33;
  seen.answer = FGBI_E_IO;
  CHECK(replicate(sender, receiver, all + 7, 1, stream, bound) == FGBI_E_IO);
  CHECK(seen.calls == 3 && seen.epoch == 3 && seen.count == 1 && seen.pfns[0] == 7);
  CHECK(memcmp(committed, replica, sizeof replica) == 0);
  CHECK(fgbi_receiver_committed_epoch(receiver, &epoch) == FGBI_OK && epoch == 2);
  CHECK(fgbi_receiver_feed(receiver, stream, 1) == FGBI_E_STREAM_FAILED);
  CHECK(fgbi_receiver_reset_stream(receiver) == FGBI_OK);

  /* Without the hook, the sender's epoch 3 (rewound) commits untold. */
  CHECK(fgbi_receiver_set_before_apply(receiver, NULL, NULL) == FGBI_OK);
  CHECK(fgbi_sender_rewind(sender, 2) == FGBI_OK);
  CHECK(replicate(sender, receiver, all + 7, 1, stream, bound) == FGBI_OK);
  CHECK(seen.calls == 3);
  CHECK(fgbi_receiver_committed_epoch(receiver, &epoch) == FGBI_OK && epoch == 3);
  CHECK(memcmp(primary, replica, sizeof primary) == 0);

  free(stream);
  fgbi_sender_free(sender);
  fgbi_receiver_free(receiver);
  if (failures == 0) printf("c_before_apply_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
