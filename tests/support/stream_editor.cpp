#include "support/stream_editor.hpp"

#include <gtest/gtest.h>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"

namespace fgbi::test {

EditableEpoch EditableEpoch::parse(const std::vector<uint8_t>& stream) {
  EditableEpoch e;
  size_t pos = 0;
  EXPECT_GE(stream.size(), wire::kHeaderBytes + wire::kTrailerBytes);
  EXPECT_EQ(wire::decode_header(stream.data(), &e.header), FGBI_OK);
  pos += wire::kHeaderBytes;
  for (uint32_t i = 0; i < e.header.segment_count; ++i) {
    Segment seg;
    EXPECT_EQ(wire::decode_segment_header(stream.data() + pos, &seg.header), FGBI_OK);
    pos += wire::kSegmentHeaderBytes;
    seg.records.assign(stream.begin() + pos, stream.begin() + pos + seg.header.records_bytes);
    pos += seg.header.records_bytes;
    e.segments.push_back(std::move(seg));
  }
  EXPECT_EQ(wire::decode_trailer(stream.data() + pos, &e.trailer), FGBI_OK);
  EXPECT_EQ(pos + wire::kTrailerBytes, stream.size());
  return e;
}

std::vector<uint8_t> EditableEpoch::serialize(bool reseal) const {
  wire::EpochHeader h = header;
  std::vector<wire::SegmentHeader> seg_headers;
  if (reseal) h.body_bytes = 0;
  for (const Segment& seg : segments) {
    wire::SegmentHeader sh = seg.header;
    if (reseal) {
      sh.records_bytes = seg.records.size();
      sh.records_checksum = xxh3(seg.records.data(), seg.records.size());
      h.body_bytes += wire::kSegmentHeaderBytes + seg.records.size();
    }
    seg_headers.push_back(sh);
  }
  std::vector<uint8_t> out(wire::kHeaderBytes);
  wire::encode_header(h, out.data());
  Xxh3Stream sum;
  sum.update(out.data(), wire::kHeaderBytes);
  for (size_t i = 0; i < segments.size(); ++i) {
    uint8_t sh[wire::kSegmentHeaderBytes];
    wire::encode_segment_header(seg_headers[i], sh);
    sum.update(sh, sizeof sh);
    out.insert(out.end(), sh, sh + sizeof sh);
    out.insert(out.end(), segments[i].records.begin(), segments[i].records.end());
  }
  uint8_t t[wire::kTrailerBytes];
  wire::encode_trailer_prefix(trailer, t);
  sum.update(t, wire::kTrailerChecksummedBytes);
  store_le<uint64_t>(t + wire::kTrailerChecksummedBytes, reseal ? sum.digest() : trailer.checksum);
  out.insert(out.end(), t, t + sizeof t);
  return out;
}

size_t EditableEpoch::record_offset(const Segment& segment, size_t n) {
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i)
    pos += wire::kRecordHeaderBytes + load_le<uint32_t>(segment.records.data() + pos + 4);
  return pos;
}

}  // namespace fgbi::test
