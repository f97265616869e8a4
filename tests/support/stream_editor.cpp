#include "support/stream_editor.hpp"

#include <gtest/gtest.h>

#include "common/bytes.hpp"
#include "common/xxh3.hpp"
#include "wire/epoch_reader.hpp"

namespace fgbi::test {

EditableEpoch EditableEpoch::parse(const std::vector<uint8_t>& stream) {
  EditableEpoch e;
  wire::EpochReader reader(stream.size(), UINT64_MAX);
  size_t used = 0;
  const fgbi_status st =
      reader.read_whole(stream.data(), stream.size(), &used,
                        [&](wire::EpochReader::Event event, const uint8_t* unit, size_t bytes) {
                          if (event == wire::EpochReader::Event::kSegment)
                            e.segments.push_back({reader.segment(), {}});
                          if (event == wire::EpochReader::Event::kRecords)
                            e.segments.back().records.assign(unit, unit + bytes);
                          return fgbi_status{FGBI_OK};
                        });
  EXPECT_EQ(st, FGBI_OK) << fgbi_error_name(st);
  EXPECT_EQ(used, stream.size());
  e.header = reader.header();
  e.trailer = reader.trailer();
  return e;
}

std::vector<uint8_t> EditableEpoch::serialize(bool reseal) const {
  wire::Trailer t = trailer;
  std::vector<uint8_t> out(wire::kHeaderBytes);
  wire::encode_header(header, out.data());
  Xxh3Stream sum;
  sum.update(out.data(), wire::kHeaderBytes);
  if (reseal) t.body_bytes = t.segment_count = 0;
  for (const Segment& seg : segments) {
    wire::SegmentHeader sh = seg.header;
    if (reseal) {
      sh.records_bytes = seg.records.size();
      sh.records_checksum = (header.flags & wire::kFlagNoRecordsChecksum)
                                ? 0
                                : xxh3(seg.records.data(), seg.records.size());
      t.body_bytes += wire::kSegmentHeaderBytes + seg.records.size();
      ++t.segment_count;
    }
    uint8_t bytes[wire::kSegmentHeaderBytes];
    wire::encode_segment_header(sh, bytes);
    sum.update(bytes, sizeof bytes);
    out.insert(out.end(), bytes, bytes + sizeof bytes);
    out.insert(out.end(), seg.records.begin(), seg.records.end());
  }
  uint8_t tail[wire::kTrailerBytes];
  wire::encode_trailer_prefix(t, tail);
  sum.update(tail, wire::kTrailerChecksummedBytes);
  store_le<uint64_t>(tail + wire::kTrailerChecksummedBytes, reseal ? sum.digest() : t.checksum);
  out.insert(out.end(), tail, tail + sizeof tail);
  return out;
}

size_t EditableEpoch::record_offset(const Segment& segment, size_t n) {
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i)
    pos += wire::kRecordHeaderBytes + load_le<uint32_t>(segment.records.data() + pos + 4);
  return pos;
}

}  // namespace fgbi::test
