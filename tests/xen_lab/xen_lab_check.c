/* xen_lab_check: the Xen lab's independent view of a guest's memory
 * (scripts/xen-lab, docs/adapters.md "Xen lab"). It shares no code with the
 * Xen adapter or the trace reader: it maps every pfn of the guest's p2m with
 * xenforeignmemory_map directly, without asking for page types first, and
 * walks trace files (docs/trace-format.md, codec none) by itself.
 *
 *   xen_lab_check pages DOMID            print the guest's p2m size in pages
 *                                        (xc_domain_maximum_gpfn + 1)
 *   xen_lab_check epochs TRACE           print how many epochs of a trace,
 *                                        possibly still being recorded, are
 *                                        complete in the file
 *   xen_lab_check replay TRACE IMAGE     write every page of every complete
 *                                        epoch, in order, into IMAGE (a sparse
 *                                        file) at pfn * 4096: the memory the
 *                                        trace says the guest had at the end
 *   xen_lab_check compare DOMID IMAGE    the domain must be paused: compare
 *                                        every pfn of it with IMAGE
 *   xen_lab_check compare-data DOMID IMAGE
 *                                        the same check, faster: map only the
 *                                        pfns Xen does not type as holes (see
 *                                        compare_data)
 *   xen_lab_check paused-writes DOMID S  the domain must be paused: does its
 *                                        memory change while it stays paused
 *                                        for S seconds (Xen's own writes, e.g.
 *                                        event delivery), and does log-dirty
 *                                        report the pages? Copies every page
 *                                        with data (holes skipped by type),
 *                                        cleans the log-dirty bitmap, waits,
 *                                        compares and reads the bitmap again;
 *                                        lists each changed page, its bytes and
 *                                        whether it was logged. Leaves
 *                                        log-dirty off. Exit status 0 when
 *                                        nothing changed, 1 when pages did
 *   xen_lab_check xen-areas DOMID SYMBOLS
 *                                        the domain must be paused: print where
 *                                        in its memory Xen writes the guest's
 *                                        event-channel state itself (below),
 *                                        found with SYMBOLS, the guest kernel's
 *                                        /proc/kallsyms lines (guest-init prints
 *                                        them on its console)
 *   xen_lab_check logdirty DOMID [on]    can this hypervisor track the guest's
 *                                        dirty pages? Turns log-dirty mode on
 *                                        and off again (with "on": leaves it
 *                                        on, as a killed xl remus does); exit
 *                                        status 0 when it can, 3 when Xen says
 *                                        EOPNOTSUPP
 *
 * compare: a pfn that maps must equal the image's page at pfn * 4096; a pfn
 * that does not map (a hole) must be zeros in the image (the adapter never
 * ships a hole, and a replica starts as zeros). One exception, reported
 * apart: a differing page that Xen itself types XTAB
 * (XEN_DOMCTL_getpageframeinfo3) is a page of Xen's own that the guest maps
 * into its physical address space, the shared info page or a grant table
 * frame. Such pages map, but they are not guest memory: Xen's save code
 * skips them too and a restored guest maps fresh ones. Prints a summary and
 * the first differing pfns; exit status 0 when everything else matches, 1
 * when something differs, 2 when the check cannot run.
 *
 * compare and compare-data take the guest's SYMBOLS as an optional last
 * argument. Xen writes a guest's event-channel state into guest memory
 * through mappings of its own, which log-dirty never sees: a Linux guest's
 * vcpu_info (evtchn_upcall_pending, the pending selector, the time info) and,
 * with FIFO event channels, its per-vCPU control blocks and event array
 * pages (the PENDING and LINKED bits and the links). An event that Xen
 * delivers after the guest last wrote such a page, and that the guest has
 * not handled before it is paused, is in the guest's memory but in no
 * epoch; the guest resets this state when it resumes from a checkpoint
 * (Linux re-registers vcpu_info, and Xen then marks every event pending, and
 * rebuilds its FIFO queues), and Xen's own save code misses the same writes.
 * With SYMBOLS, a page whose differing bytes all lie inside such an area is
 * reported apart and allowed; any other byte that differs still fails. */
#define _GNU_SOURCE /* SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>

#define PAGE 4096u
#define BATCH 1024u

/* Exported by libxenctrl 4.17, declared only in its private header (as in
 * adapters/xen/libxc_backend.c). Used here only to explain a difference. */
int xc_get_pfn_type_batch(xc_interface* xch, uint32_t dom, unsigned int num, xen_pfn_t* arr);

static int usage(void) {
  fprintf(stderr,
          "usage: xen_lab_check pages DOMID | epochs TRACE | replay TRACE IMAGE | "
          "compare[-data] DOMID IMAGE [SYMBOLS] | xen-areas DOMID SYMBOLS | "
          "paused-writes DOMID SECONDS | logdirty DOMID [on]\n");
  return 2;
}

static uint32_t le32(const unsigned char* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char* p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Reads up to n bytes at `at`, fewer only at the end of the file; returns
 * how many, or -1 on an error (errno set). */
static ssize_t read_upto(int fd, void* buf, size_t n, off_t at) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = pread(fd, (unsigned char*)buf + got, n - got, at + (off_t)got);
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static int read_at(int fd, void* buf, size_t n, off_t at) {
  /* an error or the end of the file: not there (yet) */
  return read_upto(fd, buf, n, at) == (ssize_t)n ? 0 : -1;
}

/* Walks the complete epochs of a trace (docs/trace-format.md) that is
 * possibly still being written; with image >= 0, writes their pages into it.
 * Returns the number of complete epochs, or -1 (with a message). */
static long long walk_trace(const char* path, int image) {
  const int fd = open(path, O_RDONLY);
  if (fd < 0) {
    perror(path);
    return -1;
  }
  unsigned char h[64];
  if (read_at(fd, h, sizeof h, 0) != 0 || memcmp(h, "FGBTRACE", 8) != 0 || le32(h + 12) != PAGE) {
    close(fd);
    return 0; /* no header yet */
  }
  const uint64_t tracked = le64(h + 16);
  off_t at = 64 + (off_t)le32(h + 36);
  long long epochs = 0;
  const size_t raw_max = 1024u * (8 + PAGE);
  unsigned char* raw = malloc(raw_max);
  if (!raw) return -1;
  for (;;) {
    unsigned char e[32];
    if (read_at(fd, e, sizeof e, at) != 0 || memcmp(e, "FGTE", 4) != 0)
      break; /* index, or not yet */
    const uint32_t chunks = le32(e + 4);
    const uint64_t pages = le64(e + 16);
    off_t c = at + 32;
    uint64_t seen = 0;
    int complete = 1;
    for (uint32_t i = 0; i < chunks && complete; ++i) {
      unsigned char ch[32];
      if (read_at(fd, ch, sizeof ch, c) != 0) {
        complete = 0;
        break;
      }
      const uint32_t n = le32(ch + 8), stored = le32(ch + 12);
      if (memcmp(ch, "FGTC", 4) != 0 || n == 0 || n > 1024) {
        fprintf(stderr, "%s: bad chunk header at offset %lld\n", path, (long long)c);
        free(raw);
        close(fd);
        return -1;
      }
      if (image >= 0 && ch[4] != 0) {
        fprintf(stderr, "%s: record with --codec none to replay\n", path);
        free(raw);
        close(fd);
        return -1;
      }
      if (image >= 0) {
        if (stored != n * (8 + PAGE) || read_at(fd, raw, stored, c + 32) != 0) {
          complete = 0;
          break;
        }
      } else {
        struct stat st;
        if (fstat(fd, &st) != 0 || c + 32 + (off_t)stored > st.st_size) {
          complete = 0;
          break;
        }
      }
      /* Replays chunk by chunk: an epoch cut short is only possible at the end of a
       * trace still being written, which replay is not run on. */
      for (uint32_t k = 0; image >= 0 && k < n; ++k) {
        const uint64_t pfn = le64(raw + 8 * (size_t)k);
        if (pfn >= tracked) {
          fprintf(stderr, "%s: pfn %#" PRIx64 " beyond %" PRIu64 " tracked pages\n", path, pfn,
                  tracked);
          free(raw);
          close(fd);
          return -1;
        }
        const unsigned char* page = raw + 8 * (size_t)n + (size_t)k * PAGE;
        if (pwrite(image, page, PAGE, (off_t)(pfn * PAGE)) != (ssize_t)PAGE) {
          perror("pwrite");
          free(raw);
          close(fd);
          return -1;
        }
      }
      seen += n;
      c += 32 + (off_t)stored;
    }
    if (!complete || seen != pages) break;
    ++epochs;
    at = c;
  }
  free(raw);
  close(fd);
  return epochs;
}

static int all_zero(const unsigned char* p) {
  for (unsigned i = 0; i < PAGE; ++i)
    if (p[i]) return 0;
  return 1;
}

/* An area of a guest page that Xen writes itself (find_xen_areas). */
#define MAX_AREAS 64u
struct xen_area {
  uint64_t pfn;
  unsigned offset, length;
  char what[48];
};

struct xen_areas {
  struct xen_area area[MAX_AREAS];
  unsigned count;
};

/* Prints how guest page `page` differs from the image's `want`. */
static void show_difference(uint64_t pfn, const unsigned char* page, const unsigned char* want,
                            const char* type, const struct xen_area* allowed) {
  unsigned bytes = 0, first = PAGE;
  for (unsigned b = 0; b < PAGE; ++b)
    if (page[b] != want[b]) {
      ++bytes;
      if (first == PAGE) first = b;
    }
  printf("pfn %#" PRIx64 ": %u bytes differ, the first at offset %u%s; Xen types it %s", pfn, bytes,
         first, all_zero(want) ? " (zeros in the image)" : "", type);
  if (allowed)
    printf("; all inside %s (bytes %u..%u), which Xen writes without logging it: allowed",
           allowed->what, allowed->offset, allowed->offset + allowed->length - 1);
  printf("\n");
  if (bytes <= 8) { /* a few bytes: show them (offset: image -> guest) */
    printf("    ");
    for (unsigned b = 0; b < PAGE; ++b)
      if (page[b] != want[b]) printf(" %u: %02x -> %02x", b, want[b], page[b]);
    printf("\n");
  }
}

/* Holes are typed so by Xen: XTAB (nothing there, or a page of Xen's own),
 * XALLOC (allocated, never populated) or BROKEN. */
static int typed_hole(xen_pfn_t type) {
  const xen_pfn_t t = type & XEN_DOMCTL_PFINFO_LTAB_MASK;
  return t == XEN_DOMCTL_PFINFO_XTAB || t == XEN_DOMCTL_PFINFO_XALLOC ||
         t == XEN_DOMCTL_PFINFO_BROKEN;
}

/* ------------------------------------------------------------------------
 * Where Xen writes a Linux guest's event-channel state (see the top), found
 * through the guest kernel's symbols and its own memory. A PVH guest's kernel
 * runs where it was linked (no KASLR: that is the bzImage decompressor's,
 * which a PVH boot skips), so a kernel-image address is its physical address
 * plus __START_KERNEL_map, and a direct-map address is its physical address
 * plus page_offset_base. */
#define KERNEL_MAP 0xffffffff80000000ull /* __START_KERNEL_map */
struct guest_kernel {
  xenforeignmemory_handle* fmem;
  uint32_t dom;
  uint64_t page_offset_base; /* 0 until read */
  const char* symbols;       /* the file's text */
};

/* The address of `name` in the kallsyms lines of k->symbols (each
 * "ADDRESS TYPE NAME", possibly after "kallsyms: " on a console line). */
static int symbol(const struct guest_kernel* k, const char* name, uint64_t* address) {
  for (const char* line = k->symbols; line && *line;) {
    const char* next = strchr(line, '\n');
    const char* at = strstr(line, "kallsyms: ");
    at = at && (!next || at < next) ? at + 10 : line;
    unsigned long long a;
    char type, sym[128];
    if (sscanf(at, "%llx %c %127s", &a, &type, sym) == 3 && strcmp(sym, name) == 0) {
      *address = a;
      return 0;
    }
    line = next ? next + 1 : NULL;
  }
  fprintf(stderr, "xen_lab_check: the guest's symbols do not name %s\n", name);
  return -1;
}

static int guest_pa(const struct guest_kernel* k, uint64_t va, uint64_t* pa) {
  if (va >= KERNEL_MAP)
    *pa = va - KERNEL_MAP;
  else if (k->page_offset_base && va >= k->page_offset_base &&
           va - k->page_offset_base < (1ull << 46))
    *pa = va - k->page_offset_base;
  else {
    fprintf(stderr,
            "xen_lab_check: guest address %#" PRIx64
            " is neither the kernel image nor "
            "the direct map\n",
            va);
    return -1;
  }
  return 0;
}

/* Reads n bytes (within one page) of the guest's kernel memory at va. */
static int read_guest(const struct guest_kernel* k, uint64_t va, void* out, size_t n) {
  uint64_t pa;
  if (guest_pa(k, va, &pa) != 0) return -1;
  if (pa % PAGE + n > PAGE) {
    fprintf(stderr, "xen_lab_check: a read at %#" PRIx64 " crosses a page\n", va);
    return -1;
  }
  xen_pfn_t pfn = pa / PAGE;
  int err = 0;
  const unsigned char* m = xenforeignmemory_map(k->fmem, k->dom, PROT_READ, 1, &pfn, &err);
  if (!m || err) {
    fprintf(stderr, "xen_lab_check: guest pfn %#" PRIx64 " does not map\n", (uint64_t)pfn);
    if (m) xenforeignmemory_unmap(k->fmem, (void*)m, 1);
    return -1;
  }
  memcpy(out, m + pa % PAGE, n);
  xenforeignmemory_unmap(k->fmem, (void*)m, 1);
  return 0;
}

static int read_u64(const struct guest_kernel* k, uint64_t va, uint64_t* v) {
  unsigned char b[8];
  if (read_guest(k, va, b, sizeof b) != 0) return -1;
  *v = le64(b);
  return 0;
}

static int read_u32(const struct guest_kernel* k, uint64_t va, uint32_t* v) {
  unsigned char b[4];
  if (read_guest(k, va, b, sizeof b) != 0) return -1;
  *v = le32(b);
  return 0;
}

static int add_area(const struct guest_kernel* k, struct xen_areas* x, uint64_t va, unsigned length,
                    const char* what) {
  uint64_t pa;
  if (guest_pa(k, va, &pa) != 0) return -1;
  if (x->count == MAX_AREAS) {
    fprintf(stderr, "xen_lab_check: more than %u event-channel areas\n", MAX_AREAS);
    return -1;
  }
  struct xen_area* a = &x->area[x->count++];
  a->pfn = pa / PAGE;
  a->offset = (unsigned)(pa % PAGE);
  a->length = length < PAGE - a->offset ? length : PAGE - a->offset;
  snprintf(a->what, sizeof a->what, "%s", what);
  return 0;
}

/* Finds, per vCPU, the vcpu_info in use (Linux's per-CPU pointer xen_vcpu:
 * the registered copy, or the shared info page's) and the FIFO control block
 * (cpu_control_block), and the FIFO event array pages (event_array,
 * event_array_pages). Without FIFO event channels the last two are absent
 * and Xen's pending bits live in the shared info page, a page of its own. */
static int find_xen_areas(xenforeignmemory_handle* fmem, uint32_t dom, const char* path,
                          struct xen_areas* x) {
  FILE* f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char* text = NULL;
  size_t cap = 0;
  const ssize_t len = getdelim(&text, &cap, '\0', f); /* the whole file */
  fclose(f);
  if (len <= 0) {
    fprintf(stderr, "xen_lab_check: %s is empty\n", path);
    free(text);
    return -1;
  }
  struct guest_kernel k = {fmem, dom, 0, text};
  x->count = 0;
  uint64_t phys_base_at, page_offset_at, nr_cpus_at, per_cpu_offset_at, xen_vcpu_at, phys_base;
  uint32_t cpus;
  int rc = -1;
  if (symbol(&k, "phys_base", &phys_base_at) || symbol(&k, "page_offset_base", &page_offset_at) ||
      symbol(&k, "nr_cpu_ids", &nr_cpus_at) || symbol(&k, "__per_cpu_offset", &per_cpu_offset_at) ||
      symbol(&k, "xen_vcpu", &xen_vcpu_at) || read_u64(&k, phys_base_at, &phys_base))
    goto out;
  if (phys_base != 0) {
    fprintf(stderr,
            "xen_lab_check: the guest kernel does not run where it was linked "
            "(phys_base %#" PRIx64 ")\n",
            phys_base);
    goto out;
  }
  if (read_u64(&k, page_offset_at, &k.page_offset_base) || read_u32(&k, nr_cpus_at, &cpus))
    goto out;
  uint64_t control_block_at = 0, array_at = 0, array_pages_at = 0;
  const int fifo = strstr(text, " cpu_control_block") != NULL;
  if (fifo &&
      (symbol(&k, "cpu_control_block", &control_block_at) || symbol(&k, "event_array", &array_at) ||
       symbol(&k, "event_array_pages", &array_pages_at)))
    goto out;
  char what[48];
  for (uint32_t cpu = 0; cpu < cpus && cpu < 32; ++cpu) {
    uint64_t offset, vcpu_info, control_block = 0;
    if (read_u64(&k, per_cpu_offset_at + 8ull * cpu, &offset) ||
        read_u64(&k, offset + xen_vcpu_at, &vcpu_info) ||
        (fifo && read_u64(&k, offset + control_block_at, &control_block)))
      goto out;
    snprintf(what, sizeof what, "vCPU %u's vcpu_info", cpu);
    if (vcpu_info && add_area(&k, x, vcpu_info, 64, what)) goto out;
    snprintf(what, sizeof what, "vCPU %u's FIFO control block", cpu);
    if (control_block && add_area(&k, x, control_block, 72, what)) goto out;
  }
  uint32_t array_pages = 0;
  if (fifo && read_u32(&k, array_pages_at, &array_pages)) goto out;
  for (uint32_t i = 0; i < array_pages; ++i) {
    uint64_t page;
    if (read_u64(&k, array_at + 8ull * i, &page)) goto out;
    snprintf(what, sizeof what, "FIFO event array page %u", i);
    if (add_area(&k, x, page, PAGE, what)) goto out;
  }
  rc = 0;
out:
  free(text);
  return rc;
}

/* The area of pfn that holds every byte in which page and want differ, or NULL. */
static const struct xen_area* holding_area(const struct xen_areas* x, uint64_t pfn,
                                           const unsigned char* page, const unsigned char* want) {
  for (unsigned i = 0; x && i < x->count; ++i) {
    const struct xen_area* a = &x->area[i];
    if (a->pfn != pfn) continue;
    unsigned b = 0;
    while (b < PAGE && (page[b] == want[b] || (b >= a->offset && b < a->offset + a->length))) ++b;
    if (b == PAGE) return a;
  }
  return NULL;
}

/* Ends a compare summary line: with the areas, how many pages differed only
 * inside them. */
static void end_summary(const struct xen_areas* x, uint64_t xen_state) {
  if (x)
    printf("; %" PRIu64 " pages differ only in Xen's event-channel state (%u areas; allowed)",
           xen_state, x->count);
  printf("\n");
}

static void print_areas(const struct xen_areas* x) {
  for (unsigned i = 0; i < x->count; ++i)
    printf("Xen writes pfn %#" PRIx64 " bytes %u..%u: %s\n", x->area[i].pfn, x->area[i].offset,
           x->area[i].offset + x->area[i].length - 1, x->area[i].what);
}

/* Copies the pages with data among pfns [0, pages) into *copy (malloc'd),
 * their pfns into *list; returns how many, or -1. */
static long long copy_present(xc_interface* xch, xenforeignmemory_handle* fmem, uint32_t dom,
                              uint64_t pages, xen_pfn_t** list, unsigned char** copy) {
  size_t cap = 0, n = 0;
  *list = NULL;
  *copy = NULL;
  xen_pfn_t types[BATCH], pfns[BATCH];
  int errs[BATCH];
  for (uint64_t base = 0; base < pages; base += BATCH) {
    const unsigned k = (unsigned)(pages - base < BATCH ? pages - base : BATCH);
    for (unsigned i = 0; i < k; ++i) types[i] = base + i;
    if (xc_get_pfn_type_batch(xch, dom, k, types) != 0) {
      perror("xc_get_pfn_type_batch");
      return -1;
    }
    unsigned m = 0;
    for (unsigned i = 0; i < k; ++i)
      if (!typed_hole(types[i])) pfns[m++] = base + i;
    if (m == 0) continue;
    if (n + m > cap) {
      cap = (n + m) * 2;
      *list = realloc(*list, cap * sizeof **list);
      *copy = realloc(*copy, cap * PAGE);
      if (!*list || !*copy) return -1;
    }
    const unsigned char* mem = xenforeignmemory_map(fmem, dom, PROT_READ, m, pfns, errs);
    if (!mem) {
      perror("xenforeignmemory_map");
      return -1;
    }
    for (unsigned i = 0; i < m; ++i) {
      (*list)[n] = pfns[i];
      if (errs[i])
        memset(*copy + n * PAGE, 0, PAGE);
      else
        memcpy(*copy + n * PAGE, mem + (size_t)i * PAGE, PAGE);
      ++n;
    }
    xenforeignmemory_unmap(fmem, (void*)mem, m);
  }
  return (long long)n;
}

/* Reads `count` image pages from `pfn` into `buf`; beyond the end of the
 * file they are zeros. */
static int read_image_pages(int fd, uint64_t pfn, size_t count, unsigned char* buf) {
  const size_t want = count * PAGE;
  const ssize_t got = read_upto(fd, buf, want, (off_t)(pfn * PAGE));
  if (got < 0) {
    perror("pread");
    return -1;
  }
  memset(buf + got, 0, want - (size_t)got);
  return 0;
}

/* The pfns of an image that are not typed as memory must be zeros. */
struct hole_check {
  int fd;
  uint64_t pages;
  const uint64_t* typed_data; /* bit per pfn: typed as memory, compared apart */
  unsigned char* buf;         /* a page */
  uint64_t read, with_data;
  uint64_t* shown;
};

/* Reads the image's pfns in bytes [from, to) that are not typed as memory. */
static int check_range(struct hole_check* h, uint64_t from, uint64_t to) {
  const uint64_t last = (to + PAGE - 1) / PAGE;
  for (uint64_t pfn = from / PAGE; pfn < last && pfn < h->pages; ++pfn) {
    if ((h->typed_data[pfn / 64] >> (pfn % 64)) & 1) continue;
    ++h->read;
    if (read_image_pages(h->fd, pfn, 1, h->buf) != 0) return -1;
    if (!all_zero(h->buf)) {
      ++h->with_data;
      if ((*h->shown)++ < 32)
        printf("pfn %#" PRIx64 ": a hole in the guest, data in the replica\n", pfn);
    }
  }
  return 0;
}

/* Reads what of the image can hold data: the extents the file system has
 * written (FIEMAP after syncing the file: a hole of the file, or an
 * unwritten extent as recv's fallocate leaves them, reads as zeros). Where
 * FIEMAP is not supported, what SEEK_DATA calls data (on ext4 that includes
 * unwritten extents with pages in the page cache). Sets *how to the method. */
static int holes_are_zeros(struct hole_check* h, const char** how) {
  struct stat st;
  if (fstat(h->fd, &st) != 0) {
    perror("fstat");
    return -1;
  }
  const uint64_t end =
      (uint64_t)st.st_size < h->pages * PAGE ? (uint64_t)st.st_size : h->pages * PAGE;
  enum { EXTENTS = 512 };
  struct fiemap* fm = calloc(1, sizeof *fm + EXTENTS * sizeof(struct fiemap_extent));
  if (!fm) return -1;
  uint64_t at = 0;
  int first = 1;
  *how = "FIEMAP (holes and unwritten extents of the file)";
  while (at < end) {
    memset(fm, 0, sizeof *fm);
    fm->fm_start = at;
    fm->fm_length = end - at;
    fm->fm_flags = first ? FIEMAP_FLAG_SYNC : 0;
    fm->fm_extent_count = EXTENTS;
    if (ioctl(h->fd, FS_IOC_FIEMAP, fm) != 0) {
      if (first && (errno == EOPNOTSUPP || errno == ENOTTY)) break; /* SEEK_DATA below */
      perror("ioctl(FS_IOC_FIEMAP)");
      free(fm);
      return -1;
    }
    first = 0;
    if (fm->fm_mapped_extents == 0) {
      free(fm);
      return 0;
    }
    int last = 0;
    for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
      const struct fiemap_extent* e = &fm->fm_extents[i];
      if (!(e->fe_flags & FIEMAP_EXTENT_UNWRITTEN) &&
          check_range(h, e->fe_logical, e->fe_logical + e->fe_length) != 0) {
        free(fm);
        return -1;
      }
      last = (e->fe_flags & FIEMAP_EXTENT_LAST) != 0;
      at = e->fe_logical + e->fe_length;
    }
    if (last) {
      free(fm);
      return 0;
    }
  }
  free(fm);
  if (!first) return 0;
  *how = "SEEK_DATA (holes of the file)";
  for (off_t pos = 0; pos < (off_t)end;) {
    const off_t from = lseek(h->fd, pos, SEEK_DATA);
    if (from < 0 && errno == ENXIO) break;
    const off_t to = from < 0 ? -1 : lseek(h->fd, from, SEEK_HOLE);
    if (from < 0 || to < 0) {
      perror("lseek(SEEK_DATA/SEEK_HOLE)");
      return -1;
    }
    if (from >= (off_t)end) break;
    if (check_range(h, (uint64_t)from, (uint64_t)to) != 0) return -1;
    pos = to;
  }
  return 0;
}

/* compare-data: the domain must be paused. Maps only the pfns that Xen does
 * not type as holes (typed_hole; the adapter and Xen's save code skip the
 * same), instead of every pfn of the p2m, and compares them with the image;
 * every other pfn must be zeros in the image, which is read wherever it
 * can hold data (holes_are_zeros). Since the types are
 * the adapter's own criterion, they are checked against something else:
 * every page the domain owns (xc_domain_getinfo's nr_pages, which leaves
 * out pages of Xen's own) must be among the pfns that mapped, so a page with
 * data cannot hide behind a hole's type. */
static int compare_data(xc_interface* xch, xenforeignmemory_handle* fmem, uint32_t dom,
                        uint64_t owned, uint64_t pages, int fd, const char* path,
                        const struct xen_areas* x) {
  uint64_t* typed_data = calloc((pages + 63) / 64, sizeof(uint64_t));
  unsigned char* want = malloc(PAGE);
  if (!typed_data || !want) {
    perror("xen_lab_check");
    return 2;
  }
  xen_pfn_t types[BATCH], pfns[BATCH];
  int errs[BATCH];
  uint64_t data = 0, mapped = 0, differ = 0, xen_state = 0, hole_with_data = 0, holes_read = 0,
           shown = 0;
  for (uint64_t base = 0; base < pages; base += BATCH) {
    const unsigned k = (unsigned)(pages - base < BATCH ? pages - base : BATCH);
    for (unsigned i = 0; i < k; ++i) types[i] = base + i;
    if (xc_get_pfn_type_batch(xch, dom, k, types) != 0) {
      perror("xc_get_pfn_type_batch");
      return 2;
    }
    unsigned m = 0;
    for (unsigned i = 0; i < k; ++i)
      if (!typed_hole(types[i])) {
        pfns[m++] = base + i;
        typed_data[(base + i) / 64] |= 1ull << ((base + i) % 64);
      }
    if (m == 0) continue;
    data += m;
    const unsigned char* mem = xenforeignmemory_map(fmem, dom, PROT_READ, m, pfns, errs);
    if (!mem) {
      fprintf(stderr, "xenforeignmemory_map(%u pfns from %" PRIu64 "): %s\n", m, base,
              strerror(errno));
      return 2;
    }
    for (unsigned i = 0; i < m; ++i) {
      if (read_image_pages(fd, pfns[i], 1, want) != 0) return 2;
      if (errs[i]) { /* typed as memory, yet it does not map: a hole all the same */
        if (!all_zero(want)) {
          ++hole_with_data;
          if (shown++ < 32)
            printf("pfn %#" PRIx64 ": does not map in the guest, data in the replica\n",
                   (uint64_t)pfns[i]);
        }
        continue;
      }
      ++mapped;
      const unsigned char* page = mem + (size_t)i * PAGE;
      if (memcmp(page, want, PAGE) != 0) {
        const struct xen_area* allowed = holding_area(x, pfns[i], page, want);
        ++*(allowed ? &xen_state : &differ);
        if (shown++ < 32) show_difference(pfns[i], page, want, "as guest memory", allowed);
      }
    }
    xenforeignmemory_unmap(fmem, (void*)mem, m);
  }
  /* The holes: zeros wherever the image can hold data. */
  struct hole_check h = {fd, pages, typed_data, want, 0, 0, &shown};
  const char* how = NULL;
  if (holes_are_zeros(&h, &how) != 0) return 2;
  holes_read = h.read;
  hole_with_data += h.with_data;
  printf("compared domain %u with %s: %" PRIu64 " pfns, %" PRIu64 " typed as memory, %" PRIu64
         " of them map (%" PRIu64 " MiB; the domain owns %" PRIu64 " pages), %" PRIu64
         " holes (%" PRIu64 " read in the image, the rest zeros by %s); %" PRIu64
         " pages of guest memory differ, %" PRIu64 " holes hold data in the image",
         dom, path, pages, data, mapped, mapped * PAGE >> 20, owned, pages - data, holes_read, how,
         differ, hole_with_data);
  end_summary(x, xen_state);
  const int unseen = mapped < owned;
  if (unseen)
    printf("only %" PRIu64 " of the domain's %" PRIu64
           " pages were compared: the others are typed as holes or do not map\n",
           mapped, owned);
  free(want);
  free(typed_data);
  return differ || hole_with_data || unseen ? 1 : 0;
}

static int paused_writes(xc_interface* xch, uint32_t dom, uint64_t pages, unsigned seconds) {
  xenforeignmemory_handle* fmem = xenforeignmemory_open(NULL, 0);
  if (!fmem) {
    perror("xenforeignmemory_open");
    return 2;
  }
  if (xc_shadow_control(xch, dom, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0 &&
      (xc_shadow_control(xch, dom, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0) < 0 ||
       xc_shadow_control(xch, dom, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) < 0)) {
    perror("xc_shadow_control(ENABLE_LOGDIRTY)");
    return 2;
  }
  const int bitmap_pages = (int)((pages + 8 * XC_PAGE_SIZE - 1) / (8 * XC_PAGE_SIZE));
  xc_hypercall_buffer_t bitmap = {.ubuf = (void*)-1};
  if (!xc__hypercall_buffer_alloc_pages(xch, &bitmap, bitmap_pages)) {
    perror("xc_hypercall_buffer_alloc_pages");
    return 2;
  }
  xc_shadow_op_stats_t stats;
  if (xc_logdirty_control(xch, dom, XEN_DOMCTL_SHADOW_OP_CLEAN, &bitmap, pages, 0, &stats) < 0) {
    perror("xc_logdirty_control(CLEAN)");
    return 2;
  }
  xen_pfn_t *list = NULL, *list2 = NULL;
  unsigned char *before = NULL, *after = NULL;
  const long long n = copy_present(xch, fmem, dom, pages, &list, &before);
  if (n < 0) return 2;
  sleep(seconds);
  if (xc_logdirty_control(xch, dom, XEN_DOMCTL_SHADOW_OP_CLEAN, &bitmap, pages, 0, &stats) < 0) {
    perror("xc_logdirty_control(CLEAN)");
    return 2;
  }
  const long long n2 = copy_present(xch, fmem, dom, pages, &list2, &after);
  if (n2 != n || memcmp(list, list2, (size_t)n * sizeof *list) != 0) {
    printf("the pages with data changed while the domain was paused (%lld, then %lld)\n", n, n2);
    return 1;
  }
  const unsigned long* dirty = (const unsigned long*)bitmap.hbuf;
  uint64_t changed = 0, logged = 0, logged_total = 0;
  for (uint64_t pfn = 0; pfn < pages; ++pfn) logged_total += (dirty[pfn / 64] >> (pfn % 64)) & 1;
  for (long long i = 0; i < n; ++i) {
    const unsigned char *a = before + (size_t)i * PAGE, *b = after + (size_t)i * PAGE;
    if (memcmp(a, b, PAGE) == 0) continue;
    ++changed;
    const int is_logged = (int)((dirty[list[i] / 64] >> (list[i] % 64)) & 1);
    logged += (uint64_t)is_logged;
    printf("pfn %#" PRIx64 " changed while paused (%s):", (uint64_t)list[i],
           is_logged ? "logged dirty" : "NOT logged dirty");
    unsigned shown = 0;
    for (unsigned o = 0; o < PAGE && shown < 8; ++o)
      if (a[o] != b[o]) {
        printf(" %u: %02x -> %02x", o, a[o], b[o]);
        ++shown;
      }
    printf("\n");
  }
  printf("domain %u paused for %u s: %lld pages with data, %" PRIu64 " changed, %" PRIu64
         " of them logged dirty; %" PRIu64 " pfns logged dirty in all\n",
         dom, seconds, n, changed, logged, logged_total);
  xc_shadow_control(xch, dom, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
  xc__hypercall_buffer_free_pages(xch, &bitmap, bitmap_pages);
  xenforeignmemory_close(fmem);
  free(list);
  free(list2);
  free(before);
  free(after);
  return changed ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  if (strcmp(argv[1], "epochs") == 0 || strcmp(argv[1], "replay") == 0) {
    const int replay = argv[1][0] == 'r';
    if (argc != (replay ? 4 : 3)) return usage();
    int image = -1;
    if (replay && (image = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
      perror(argv[3]);
      return 2;
    }
    const long long epochs = walk_trace(argv[2], image);
    if (epochs < 0) return 2;
    if (replay) {
      if (fsync(image) != 0 || close(image) != 0) {
        perror(argv[3]);
        return 2;
      }
      printf("replayed %lld epochs of %s into %s\n", epochs, argv[2], argv[3]);
    } else {
      printf("%lld\n", epochs);
    }
    return 0;
  }
  char* end = NULL;
  const unsigned long domid = strtoul(argv[2], &end, 10);
  if (*end || domid == 0) return usage();
  const int data_only = strcmp(argv[1], "compare-data") == 0;
  const int compare = data_only || strcmp(argv[1], "compare") == 0;
  const int logdirty = strcmp(argv[1], "logdirty") == 0;
  const int writes = strcmp(argv[1], "paused-writes") == 0;
  const int areas = strcmp(argv[1], "xen-areas") == 0;
  if (!compare && !logdirty && !writes && !areas && strcmp(argv[1], "pages") != 0) return usage();
  const int leave_on = logdirty && argc == 4 && strcmp(argv[3], "on") == 0;
  if (compare ? argc != 4 && argc != 5 : argc != (leave_on || writes || areas ? 4 : 3))
    return usage();

  xc_interface* xch = xc_interface_open(NULL, NULL, 0);
  if (!xch) {
    perror("xc_interface_open");
    return 2;
  }
  xc_dominfo_t info;
  if (xc_domain_getinfo(xch, (uint32_t)domid, 1, &info) != 1 || info.domid != domid) {
    fprintf(stderr, "xen_lab_check: no domain %lu\n", domid);
    return 2;
  }
  xen_pfn_t max_gpfn = 0;
  if (xc_domain_maximum_gpfn(xch, (uint32_t)domid, &max_gpfn) < 0) {
    perror("xc_domain_maximum_gpfn");
    return 2;
  }
  const uint64_t pages = (uint64_t)max_gpfn + 1;
  if (logdirty) {
    if (xc_shadow_control(xch, (uint32_t)domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) <
        0) {
      const int err = errno;
      printf("log-dirty for domain %lu: %s\n", domid, strerror(err));
      return err == EOPNOTSUPP ? 3 : 1;
    }
    if (leave_on) {
      printf("log-dirty for domain %lu: on, and left on\n", domid);
      return 0;
    }
    if (xc_shadow_control(xch, (uint32_t)domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0) < 0) {
      perror("xc_shadow_control(OFF)");
      return 1;
    }
    printf("log-dirty for domain %lu: on, then off again\n", domid);
    return 0;
  }
  if (!compare && !writes && !areas) {
    printf("%" PRIu64 "\n", pages);
    return 0;
  }
  if (!info.paused) {
    fprintf(stderr, "xen_lab_check: domain %lu is running; pause it first\n", domid);
    return 2;
  }
  if (info.hvm == 0) {
    fprintf(stderr, "xen_lab_check: domain %lu is PV: its pages map by mfn, not compared\n", domid);
    return 2;
  }
  if (writes) return paused_writes(xch, (uint32_t)domid, pages, (unsigned)atoi(argv[3]));
  xenforeignmemory_handle* fmem = xenforeignmemory_open(NULL, 0);
  if (!fmem) {
    perror("xenforeignmemory_open");
    return 2;
  }
  static struct xen_areas xen_written;
  const char* symbols = areas ? argv[3] : argc == 5 ? argv[4] : NULL;
  if (symbols) {
    if (find_xen_areas(fmem, (uint32_t)domid, symbols, &xen_written) != 0) return 2;
    print_areas(&xen_written);
    if (areas) return 0;
  }
  const struct xen_areas* x = symbols ? &xen_written : NULL;
  const int fd = open(argv[3], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(argv[3]);
    return 2;
  }
  if (data_only)
    return compare_data(xch, fmem, (uint32_t)domid, info.nr_pages, pages, fd, argv[3], x);
  xen_pfn_t pfns[BATCH];
  int errs[BATCH];
  unsigned char* replica = malloc((size_t)BATCH * PAGE);
  if (!replica) return 2;
  uint64_t data = 0, holes = 0, differ = 0, hole_with_data = 0, xen_pages = 0, xen_state = 0,
           shown = 0;
  for (uint64_t base = 0; base < pages; base += BATCH) {
    const unsigned n = (unsigned)(pages - base < BATCH ? pages - base : BATCH);
    for (unsigned i = 0; i < n; ++i) pfns[i] = base + i;
    const off_t at = (off_t)(base * PAGE);
    /* Most of a PVH guest's 4 GiB p2m is a hole in the replica too: no need to read zeros. */
    const off_t next_data = lseek(fd, at, SEEK_DATA);
    const int hole = next_data < 0 ? errno == ENXIO : next_data >= at + (off_t)n * PAGE;
    if (at < st.st_size && !hole) {
      if (read_image_pages(fd, base, n, replica) != 0) return 2;
    } else {
      memset(replica, 0, (size_t)n * PAGE);
    }
    const unsigned char* mem =
        xenforeignmemory_map(fmem, (uint32_t)domid, PROT_READ, n, pfns, errs);
    if (!mem) {
      fprintf(stderr, "xenforeignmemory_map(pfns %" PRIu64 "..%" PRIu64 "): %s\n", base,
              base + n - 1, strerror(errno));
      return 2;
    }
    for (unsigned i = 0; i < n; ++i) {
      const unsigned char* want = replica + (size_t)i * PAGE;
      if (errs[i]) {
        ++holes;
        if (!all_zero(want)) {
          ++hole_with_data;
          if (shown++ < 32)
            printf("pfn %#" PRIx64 ": a hole in the guest, data in the replica\n", base + i);
        }
        continue;
      }
      ++data;
      const unsigned char* page = mem + (size_t)i * PAGE;
      if (memcmp(page, want, PAGE) != 0) {
        xen_pfn_t type = base + i;
        const int typed = xc_get_pfn_type_batch(xch, (uint32_t)domid, 1, &type) == 0;
        const int xens = typed && (type & XEN_DOMCTL_PFINFO_LTAB_MASK) == XEN_DOMCTL_PFINFO_XTAB;
        const struct xen_area* allowed = xens ? NULL : holding_area(x, base + i, page, want);
        ++*(xens ? &xen_pages : allowed ? &xen_state : &differ);
        if (shown++ < 32)
          show_difference(base + i, page, want,
                          !typed ? "(getpageframeinfo3 failed)"
                          : xens ? "XTAB: a page of Xen's own mapped by the guest, not guest memory"
                                 : "as guest memory",
                          allowed);
      }
    }
    xenforeignmemory_unmap(fmem, (void*)mem, n);
  }
  printf("compared domain %lu with %s: %" PRIu64 " pfns, %" PRIu64 " pages map (%" PRIu64
         " MiB), %" PRIu64 " holes; %" PRIu64 " pages of guest memory differ, %" PRIu64
         " holes hold data in the image; %" PRIu64 " pages of Xen's own differ (not compared)",
         domid, argv[3], pages, data, data * PAGE >> 20, holes, differ, hole_with_data, xen_pages);
  end_summary(x, xen_state);
  free(replica);
  close(fd);
  xenforeignmemory_close(fmem);
  xc_interface_close(xch);
  return differ || hole_with_data ? 1 : 0;
}
