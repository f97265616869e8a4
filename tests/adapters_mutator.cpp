// adapters_mutator: a small real program the process-adapter tests start and
// capture. It holds a buffer of anonymous memory with known content and
// changes it on command, so that a test can compare what it captured with
// what the program reports.
//
//   adapters_mutator MIB        maps MIB MiB, fills it, prints "ready ADDR BYTES"
// Then one command per stdin line, each answered by one stdout line:
//   mutate N SEED       N random 8-byte writes into the buffer        -> "ok"
//   dump ADDR BYTES PATH  writes [ADDR, ADDR+BYTES) of its memory to PATH -> "ok"
//   map PAGES           maps and fills a new anonymous region         -> "ok ADDR"
//   unmap ADDR PAGES    unmaps a region                               -> "ok"
//   mapfile PATH PAGES  maps a file privately and writably, untouched -> "ok ADDR"
//   spin PAGES          starts two threads: one writes round numbers
//                       1, 2, ... into the first 8 bytes of buffer
//                       pages 0..PAGES-1 in order, the other scribbles
//                       over the rest of the buffer                 -> "ok"
//   still               stops them                                    -> "ok ROUNDS"
//   exit                exits at once with status 0 (no reply)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

namespace {

constexpr size_t kPage = 4096;

uint64_t next(uint64_t& s) {  // xorshift64
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

void fill(uint8_t* p, size_t bytes, uint64_t seed) {
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    // A quarter of each page stays zero, like real memory.
    const uint64_t v = (i % kPage) < kPage / 4 ? 0 : next(seed);
    std::memcpy(p + i, &v, 8);
  }
}

uint8_t* map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  return static_cast<uint8_t*>(p);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: adapters_mutator MIB\n");
    return 2;
  }
  const size_t bytes = std::strtoull(argv[1], nullptr, 10) << 20;
  uint8_t* buf = map(bytes);
  fill(buf, bytes, 1);
  std::cout << "ready " << reinterpret_cast<uintptr_t>(buf) << " " << bytes << std::endl;

  std::atomic<bool> spinning{false};
  std::atomic<uint64_t> rounds{0};
  std::thread counter, scribbler;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "mutate") {
      uint64_t n = 0, seed = 0;
      in >> n >> seed;
      seed |= 1;
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t off = next(seed) % (bytes / 8) * 8;
        const uint64_t v = next(seed);
        std::memcpy(buf + off, &v, 8);
      }
      std::cout << "ok" << std::endl;
    } else if (cmd == "dump") {
      uintptr_t addr = 0;
      size_t len = 0;
      std::string path;
      in >> addr >> len >> path;
      FILE* f = std::fopen(path.c_str(), "wb");
      const bool ok = f && std::fwrite(reinterpret_cast<const void*>(addr), 1, len, f) == len;
      if (f) std::fclose(f);
      std::cout << (ok ? "ok" : "error") << std::endl;
    } else if (cmd == "map") {
      size_t pages = 0;
      in >> pages;
      uint8_t* p = map(pages * kPage);
      fill(p, pages * kPage, reinterpret_cast<uintptr_t>(p));
      std::cout << "ok " << reinterpret_cast<uintptr_t>(p) << std::endl;
    } else if (cmd == "mapfile") {
      std::string path;
      size_t pages = 0;
      in >> path >> pages;
      const int fd = open(path.c_str(), O_RDWR);
      void* p = fd < 0 ? MAP_FAILED
                       : mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (fd >= 0) close(fd);
      if (p == MAP_FAILED)
        std::cout << "error" << std::endl;
      else
        std::cout << "ok " << reinterpret_cast<uintptr_t>(p) << std::endl;
    } else if (cmd == "unmap") {
      uintptr_t addr = 0;
      size_t pages = 0;
      in >> addr >> pages;
      munmap(reinterpret_cast<void*>(addr), pages * kPage);
      std::cout << "ok" << std::endl;
    } else if (cmd == "spin") {
      size_t pages = 0;
      in >> pages;
      spinning = true;
      counter = std::thread([&, pages] {
        for (uint64_t r = 1; spinning; ++r) {
          for (size_t p = 0; p < pages; ++p)
            *reinterpret_cast<volatile uint64_t*>(buf + p * kPage) = r;
          rounds = r;
        }
      });
      scribbler = std::thread([&, pages] {
        uint64_t s = 99;
        while (spinning) {
          const size_t off = pages * kPage + next(s) % (bytes - pages * kPage - 8);
          *reinterpret_cast<volatile uint64_t*>(buf + off) = next(s);
        }
      });
      std::cout << "ok" << std::endl;
    } else if (cmd == "still") {
      spinning = false;
      if (counter.joinable()) counter.join();
      if (scribbler.joinable()) scribbler.join();
      std::cout << "ok " << rounds << std::endl;
    } else if (cmd == "exit") {
      std::_Exit(0);
    } else {
      std::cout << "error unknown command" << std::endl;
    }
  }
  spinning = false;
  if (counter.joinable()) counter.join();
  if (scribbler.joinable()) scribbler.join();
  return 0;
}
