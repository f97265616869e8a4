#include "wire/epoch_writer.hpp"

#include "common/bytes.hpp"

namespace fgbi::wire {

void open_segment(ByteBuffer& segment) {
  segment.clear();
  segment.append(kSegmentHeaderBytes);
}

uint8_t* append_record(ByteBuffer& segment, uint8_t kind, uint64_t pfn, size_t payload_bytes) {
  uint8_t* p = segment.append(kRecordHeaderBytes + payload_bytes);
  RecordHeader rh;
  rh.kind = kind;
  rh.payload_bytes = static_cast<uint32_t>(payload_bytes);
  rh.pfn = pfn;
  encode_record_header(rh, p);
  return p + kRecordHeaderBytes;
}

uint8_t* extend_last_record(ByteBuffer& segment, size_t header_offset, size_t n) {
  uint8_t* p = segment.append(n);
  uint8_t* payload_bytes = segment.data() + header_offset + 4;
  store_le<uint32_t>(payload_bytes, load_le<uint32_t>(payload_bytes) + static_cast<uint32_t>(n));
  return p;
}

void seal_segment(ByteBuffer& segment, uint32_t records, uint32_t epoch_flags,
                  size_t bytes_elsewhere) {
  SegmentHeader sh;
  sh.record_count = records;
  sh.records_bytes = segment.size() + bytes_elsewhere - kSegmentHeaderBytes;
  if ((epoch_flags & kFlagNoRecordsChecksum) == 0)
    sh.records_checksum = xxh3(segment.data() + kSegmentHeaderBytes, sh.records_bytes);
  encode_segment_header(sh, segment.data());
}

void EpochWriter::begin(const EpochHeader& header, uint8_t out[kHeaderBytes]) {
  encode_header(header, out);
  sum_ = Xxh3Stream();
  sum_.update(out, kHeaderBytes);
  trailer_ = Trailer{};
  trailer_.epoch = header.epoch;
}

void EpochWriter::add_segment(const uint8_t* segment, size_t size) {
  sum_.update(segment, kSegmentHeaderBytes);
  ++trailer_.segment_count;
  trailer_.record_count += load_le<uint32_t>(segment + 4);
  trailer_.body_bytes += size;
}

void EpochWriter::finish(uint64_t digest, uint8_t out[kTrailerBytes]) {
  trailer_.digest = digest;
  encode_trailer_prefix(trailer_, out);
  sum_.update(out, kTrailerChecksummedBytes);
  store_le<uint64_t>(out + kTrailerChecksummedBytes, sum_.digest());
}

}  // namespace fgbi::wire
