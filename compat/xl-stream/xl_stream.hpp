// The streams `xl remus` writes, split into their parts: xl's preamble (the
// save-file header and the domain configuration), the libxl migration stream
// v2 (header, records) and the libxc stream v3 inside it (image header,
// domain header, records). Formats from Xen's docs/specs/
// libxl-migration-stream.pandoc and libxc-migration-stream.pandoc and xl's
// save-file header (tools/xl/xl.h); the parser is our own. Pure code: bytes
// in, parts out, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fgbi::xlstream {

// ---- xl's preamble (tools/xl/xl.h, save_domain_core_writeconfig) ---------
inline constexpr std::string_view kXlMagic{"Xen saved domain, xl format\n \0 \r", 32};
inline constexpr size_t kXlHeaderBytes = 48;  // magic, byte order, 3 flag/length words
inline constexpr uint32_t kXlByteOrder = 0x01020304;
inline constexpr uint32_t kXlFlagJson = 1u;      // mandatory: the config is JSON
inline constexpr uint32_t kXlFlagStreamV2 = 2u;  // mandatory: migration stream v2 follows
inline constexpr uint32_t kXlOptionalDataMax = 16u << 20;

// ---- libxl migration stream v2 -------------------------------------------
inline constexpr uint64_t kLibxlIdent = 0x4c6962786c466d74ull;  // "LibxlFmt"
inline constexpr uint32_t kLibxlVersion = 2;
inline constexpr size_t kLibxlHeaderBytes = 16;
enum LibxlRecord : uint32_t {
  kLibxlEnd = 0,
  kLibxlLibxcContext = 1,
  kLibxlEmulatorXenstoreData = 2,
  kLibxlEmulatorContext = 3,
  kLibxlCheckpointEnd = 4,
  kLibxlCheckpointState = 5,
};

// ---- libxc migration stream v3 -------------------------------------------
inline constexpr uint64_t kLibxcMarker = ~uint64_t{0};
inline constexpr uint32_t kLibxcId = 0x58454E46;  // "XENF"
inline constexpr size_t kLibxcImageHeaderBytes = 24;
inline constexpr size_t kLibxcDomainHeaderBytes = 16;
enum LibxcRecord : uint32_t {
  kLibxcEnd = 0x00,
  kLibxcPageData = 0x01,
  kLibxcCheckpoint = 0x0e,
  kLibxcLastKnown = 0x12,  // X86_MSR_POLICY: 0x00-0x12 are all specified
};
inline constexpr uint32_t kRecordOptional = 0x80000000u;
inline constexpr uint32_t kRecordLengthMax = 128u << 20;  // libxc's REC_LENGTH_MAX
inline constexpr uint64_t kPfnMask = 0x000fffffffffffffull;
inline constexpr unsigned kPageShift = 12;
inline constexpr size_t kPageSize = size_t{1} << kPageShift;

// ---- the proxy link (remus-tx -> remus-rx) ---------------------------------
// The link carries the xl stream unchanged except that PAGE_DATA records with
// page contents become FGBI_PAGE_DATA records, and it starts with a header of
// its own (docs/adapters.md, "fgbi under unmodified xl remus").
inline constexpr std::string_view kLinkMagic{"FGBIXLP1", 8};
inline constexpr uint32_t kLinkVersion = 1;
inline constexpr size_t kLinkHeaderBytes = 24;  // magic, version, flags, tracked pages
// A mandatory libxc record type (bit 31 clear), so that a libxc that is
// handed the link by mistake stops on it instead of skipping pages.
inline constexpr uint32_t kLinkPageData = 0x46474201u;  // "FGB\1"

inline size_t padded(size_t n) { return (n + 7) & ~size_t{7}; }

// Where in the stream a part belongs.
enum class Part {
  link_header,          // the proxy link's header (link streams only)
  xl_header,            // xl's save-file header and its optional data
  libxl_header,         //
  libxl_record,         // type: LibxlRecord or another libxl type
  libxc_image_header,   //
  libxc_domain_header,  //
  libxc_record,         // type: LibxcRecord or another libxc type
  trailer,              // bytes after the libxl END record (xl's own messages)
};
const char* part_name(Part part);

struct Item {
  Part part = Part::trailer;
  uint32_t type = 0;               // record type, for records
  std::span<const uint8_t> bytes;  // the whole part, header to padding
  std::span<const uint8_t> body;   // a record's body without padding; else = bytes
};

// Splits a stream into parts, in pieces of any size. Checks the framing and
// the order the specs give: headers and their versions, record lengths,
// that records are known (or optional), that CHECKPOINT_END follows a
// libxc CHECKPOINT. Record bodies are the caller's to check.
class Parser {
 public:
  // link: the stream starts with the proxy link header and may carry
  // FGBI_PAGE_DATA records (what remus-rx reads); otherwise it is xl's.
  explicit Parser(bool link) : link_(link), state_(link ? Part::link_header : Part::xl_header) {}

  // Appends bytes. Items from next() point into the parser's buffer and stay
  // valid until the next feed().
  void feed(std::span<const uint8_t> data);
  // The next complete part; false when more bytes are needed or on error.
  bool next(Item* item);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Bytes received but not yet returned as a part.
  size_t buffered() const { return buf_.size() - pos_; }
  // What the next bytes would be ("a libxc record", ...), for messages.
  std::string expecting() const;
  // Stream offset of the next unparsed byte.
  uint64_t offset() const { return consumed_; }

  // Position in the checkpoint protocol.
  bool seen_checkpoint() const { return checkpoints_ > 0; }
  uint64_t checkpoints() const { return checkpoints_; }
  bool in_checkpoint() const { return in_checkpoint_; }  // between CHECKPOINT and _END
  bool ended() const { return state_ == Part::trailer; }
  // Domain header's guest type (1 PV, 2 HVM/PVH), 0 before it.
  uint32_t guest_type() const { return guest_type_; }

 private:
  bool fail(const std::string& what);
  bool take(Part part, uint32_t type, size_t size, size_t body_offset, size_t body_size,
            Item* item);
  bool record(Part part, Item* item);

  bool link_;
  Part state_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0;
  std::string error_;
  bool libxc_started_ = false;
  bool libxc_done_ = false;
  bool in_checkpoint_ = false;
  uint64_t checkpoints_ = 0;
  uint32_t guest_type_ = 0;
};

// A PAGE_DATA body: count pfn words with types, and the contents of the pages
// whose type carries data, in order.
struct PageData {
  uint32_t count = 0;
  std::span<const uint8_t> head;  // count, reserved and the pfn words (8 + 8 * count bytes)
  std::vector<uint64_t> pfns;     // the pages with contents, in order
  std::span<const uint8_t> contents;
};
// Whether a PAGE_DATA type (bits 63-60 of a pfn word) carries page contents:
// 1 yes, 0 no (BROKEN, XALLOC, XTAB), -1 not a valid type.
int page_type_has_data(uint64_t word);
// Parses the head of a PAGE_DATA body (count, reserved, the pfn words) and
// lists the pages with contents; sets head and pfns, not contents. False
// with *error set when the count is 0, a type is invalid or the body is
// shorter than the head.
bool parse_page_head(std::span<const uint8_t> body, PageData* out, std::string* error);
// A whole PAGE_DATA body: the head, then exactly a page for each page with
// contents.
bool parse_page_data(std::span<const uint8_t> body, PageData* out, std::string* error);

}  // namespace fgbi::xlstream
