// The parts of xl's migration stream (xl_stream.hpp).
#include "xl_stream.hpp"

#include <cstdio>
#include <cstring>

#include "common/bytes.hpp"

namespace fgbi::xlstream {

namespace {

// The libxl and libxc stream headers are big-endian; everything else is
// little-endian.
template <typename T>
T load_be(const uint8_t* p) {
  return byteswap(load_le<T>(p));
}

}  // namespace

const char* part_name(Part part) {
  switch (part) {
    case Part::link_header: return "the fgbi link header";
    case Part::xl_header: return "xl's save-file header";
    case Part::libxl_header: return "the libxl stream header";
    case Part::libxl_record: return "a libxl record";
    case Part::libxc_image_header: return "the libxc image header";
    case Part::libxc_domain_header: return "the libxc domain header";
    case Part::libxc_record: return "a libxc record";
    case Part::trailer: return "xl's messages after the stream";
  }
  return "?";
}

static std::string hex(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

void Parser::feed(std::span<const uint8_t> data) {
  if (failed()) return;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // drop what was returned
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

std::string Parser::expecting() const { return part_name(state_); }

bool Parser::fail(const std::string& what) {
  error_ = "at stream offset " + std::to_string(consumed_) + ", " + part_name(state_) + ": " + what;
  return false;
}

bool Parser::take(Part part, uint32_t type, size_t size, size_t body_offset, size_t body_size,
                  Item* item) {
  const uint8_t* p = buf_.data() + pos_;
  item->part = part;
  item->type = type;
  item->bytes = {p, size};
  item->body = {p + body_offset, body_size};
  pos_ += size;
  consumed_ += size;
  return true;
}

bool Parser::next(Item* item) {
  if (failed()) return false;
  const size_t have = buf_.size() - pos_;
  const uint8_t* p = buf_.data() + pos_;
  switch (state_) {
    case Part::link_header: {
      if (have < kLinkHeaderBytes) return false;
      if (std::memcmp(p, kLinkMagic.data(), kLinkMagic.size()) != 0)
        return fail("not an fgbi link: remus-rx reads what remus-tx writes");
      if (const uint32_t v = load_le<uint32_t>(p + 8); v != kLinkVersion)
        return fail("link version " + std::to_string(v) + " (this fgbi-engine reads " +
                    std::to_string(kLinkVersion) + ")");
      if (load_le<uint32_t>(p + 12) != 0)
        return fail("unknown link flags " + hex(load_le<uint32_t>(p + 12)));
      state_ = Part::xl_header;
      return take(Part::link_header, 0, kLinkHeaderBytes, 0, kLinkHeaderBytes, item);
    }
    case Part::xl_header: {
      if (have < kXlHeaderBytes) return false;
      if (std::memcmp(p, kXlMagic.data(), kXlMagic.size()) != 0)
        return fail("no \"Xen saved domain, xl format\" magic: not a stream that xl wrote");
      if (load_le<uint32_t>(p + 32) != kXlByteOrder)
        return fail("byte order mark " + hex(load_le<uint32_t>(p + 32)) +
                    " (only little-endian streams are handled)");
      const uint32_t mandatory = load_le<uint32_t>(p + 36), optional = load_le<uint32_t>(p + 40);
      if (mandatory & ~(kXlFlagJson | kXlFlagStreamV2))
        return fail("unknown mandatory flags " + hex(mandatory));
      if (!(mandatory & kXlFlagStreamV2))
        return fail("not a migration stream v2 (legacy streams of Xen 4.5 and older)");
      if (optional != 0) return fail("unknown optional flags " + hex(optional));
      const uint32_t extra = load_le<uint32_t>(p + 44);
      if (extra > kXlOptionalDataMax)
        return fail("optional data of " + std::to_string(extra) + " bytes (at most " +
                    std::to_string(kXlOptionalDataMax) + ")");
      if (have < kXlHeaderBytes + extra) return false;
      state_ = Part::libxl_header;
      return take(Part::xl_header, 0, kXlHeaderBytes + extra, 0, kXlHeaderBytes + extra, item);
    }
    case Part::libxl_header: {
      if (have < kLibxlHeaderBytes) return false;
      if (load_be<uint64_t>(p) != kLibxlIdent) return fail("no \"LibxlFmt\" ident");
      if (const uint32_t v = load_be<uint32_t>(p + 8); v != kLibxlVersion)
        return fail("libxl stream version " + std::to_string(v) + " (handled: 2)");
      const uint32_t options = load_be<uint32_t>(p + 12);
      if (options & 1u) return fail("a big-endian stream (only little-endian is handled)");
      if (options & ~3u) return fail("reserved option bits " + hex(options));
      state_ = Part::libxl_record;
      return take(Part::libxl_header, 0, kLibxlHeaderBytes, 0, kLibxlHeaderBytes, item);
    }
    case Part::libxc_image_header: {
      if (have < kLibxcImageHeaderBytes) return false;
      if (load_be<uint64_t>(p) != kLibxcMarker) return fail("no marker (a legacy libxc image?)");
      if (load_be<uint32_t>(p + 8) != kLibxcId) return fail("no \"XENF\" id");
      if (const uint32_t v = load_be<uint32_t>(p + 12); v != 2 && v != 3)
        return fail("libxc stream version " + std::to_string(v) + " (handled: 2, 3)");
      const uint16_t options = load_be<uint16_t>(p + 16);
      if (options & 1u) return fail("a big-endian stream (only little-endian is handled)");
      state_ = Part::libxc_domain_header;
      return take(Part::libxc_image_header, 0, kLibxcImageHeaderBytes, 0, kLibxcImageHeaderBytes,
                  item);
    }
    case Part::libxc_domain_header: {
      if (have < kLibxcDomainHeaderBytes) return false;
      const uint32_t type = load_le<uint32_t>(p);
      if (type != 1 && type != 2)
        return fail("guest type " + std::to_string(type) + " (handled: 1 x86 PV, 2 x86 HVM/PVH)");
      const unsigned shift = load_le<uint16_t>(p + 4);
      if (shift != kPageShift)
        return fail("page shift " + std::to_string(shift) + " (handled: 12, 4 KiB pages)");
      guest_type_ = type;
      state_ = Part::libxc_record;
      return take(Part::libxc_domain_header, 0, kLibxcDomainHeaderBytes, 0, kLibxcDomainHeaderBytes,
                  item);
    }
    case Part::libxl_record:
    case Part::libxc_record: return record(state_, item);
    case Part::trailer: {
      if (have == 0) return false;
      return take(Part::trailer, 0, have, 0, have, item);
    }
  }
  return false;
}

bool Parser::record(Part part, Item* item) {
  const size_t have = buf_.size() - pos_;
  if (have < 8) return false;
  const uint8_t* p = buf_.data() + pos_;
  const uint32_t type = load_le<uint32_t>(p), length = load_le<uint32_t>(p + 4);
  const bool libxc = part == Part::libxc_record;
  if (length > kRecordLengthMax)
    return fail("record type " + hex(type) + " of " + std::to_string(length) + " bytes (at most " +
                std::to_string(kRecordLengthMax) + ")");
  // Check the type before waiting for the body, so that a bad record is
  // reported where it starts.
  const bool optional = (type & kRecordOptional) != 0;
  if (libxc) {
    const bool known = type <= kLibxcLastKnown || (link_ && type == kLinkPageData);
    if (!known && !optional) return fail("unknown mandatory record type " + hex(type));
    if ((type == kLibxcEnd || type == kLibxcCheckpoint) && length != 0)
      return fail("record type " + hex(type) + " with a body of " + std::to_string(length) +
                  " bytes (it has none)");
  } else {
    if (type > kLibxlCheckpointState && !optional)
      return fail("unknown mandatory record type " + hex(type));
    if (type == kLibxlLibxcContext && libxc_started_) return fail("a second LIBXC_CONTEXT record");
    if (type == kLibxlCheckpointEnd && !in_checkpoint_)
      return fail("CHECKPOINT_END without a libxc CHECKPOINT before it");
    if ((type == kLibxlEnd || type == kLibxlLibxcContext || type == kLibxlCheckpointEnd) &&
        length != 0)
      return fail("record type " + hex(type) + " with a body of " + std::to_string(length) +
                  " bytes (it has none)");
    if (type == kLibxlEnd && in_checkpoint_)
      return fail("END inside a checkpoint (before its CHECKPOINT_END)");
  }
  const size_t size = 8 + padded(length);
  if (have < size) return false;
  for (size_t i = 8 + length; i < size; ++i)
    if (p[i] != 0) return fail("record type " + hex(type) + " has nonzero padding");
  if (libxc) {
    if (type == kLibxcEnd) {
      libxc_done_ = true;
      state_ = Part::libxl_record;
    } else if (type == kLibxcCheckpoint) {
      ++checkpoints_;
      in_checkpoint_ = true;
      state_ = Part::libxl_record;
    }
  } else if (type == kLibxlEnd) {
    state_ = Part::trailer;
  } else if (type == kLibxlLibxcContext) {
    libxc_started_ = true;
    state_ = Part::libxc_image_header;
  } else if (type == kLibxlCheckpointEnd) {
    in_checkpoint_ = false;
    if (!libxc_done_) state_ = Part::libxc_record;  // libxc goes on with the next checkpoint
  }
  return take(part, type, size, 8, length, item);
}

int page_type_has_data(uint64_t word) {
  switch (word >> 60) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x4:  // NOTAB, L1-L4TAB
    case 0x9:
    case 0xa:
    case 0xb:
    case 0xc:  // L1-L4TAB_PIN
      return 1;
    case 0xd:
    case 0xe:
    case 0xf: return 0;  // BROKEN, XALLOC, XTAB
    default: return -1;
  }
}

bool parse_page_head(std::span<const uint8_t> body, PageData* out, std::string* error) {
  if (body.size() < 8) {
    *error = "PAGE_DATA body of " + std::to_string(body.size()) + " bytes (at least 8)";
    return false;
  }
  const uint32_t count = load_le<uint32_t>(body.data());
  if (count == 0) {
    *error = "PAGE_DATA with a count of 0";
    return false;
  }
  const size_t head = 8 + size_t{count} * 8;
  if (body.size() < head) {
    *error = "PAGE_DATA of " + std::to_string(count) + " pfns in " + std::to_string(body.size()) +
             " bytes";
    return false;
  }
  out->count = count;
  out->head = body.first(head);
  out->pfns.clear();
  for (size_t i = 0; i < count; ++i) {
    const uint64_t word = load_le<uint64_t>(body.data() + 8 + 8 * i);
    const int data = page_type_has_data(word);
    if (data < 0) {
      *error = "PAGE_DATA pfn word " + hex(word) + " has an invalid page type " + hex(word >> 60);
      return false;
    }
    if (data == 1) out->pfns.push_back(word & kPfnMask);
  }
  return true;
}

bool parse_page_data(std::span<const uint8_t> body, PageData* out, std::string* error) {
  if (!parse_page_head(body, out, error)) return false;
  const size_t want = out->head.size() + out->pfns.size() * kPageSize;
  if (body.size() != want) {
    *error = "PAGE_DATA of " + std::to_string(out->pfns.size()) + " pages with contents holds " +
             std::to_string(body.size()) + " bytes (" + std::to_string(want) + " expected)";
    return false;
  }
  out->contents = body.subspan(out->head.size());
  return true;
}

}  // namespace fgbi::xlstream
