// The xl stream parser and the remus-tx/remus-rx rewriters
// (compat/xl-stream/) on synthetic `xl remus` streams built from Xen's specs
// (tests/support/xl_stream_builder.hpp): byte-identical round trips, fewer
// bytes on the link once only blocks change, and malformed, unknown or cut
// input that ends with a clear error and never forwards part of a
// checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "proxy.hpp"
#include "support/rewriter_feed.hpp"
#include "support/xl_stream_builder.hpp"
#include "xl_stream.hpp"

namespace {

using fgbi::test::SyntheticRemus;
using fgbi::test::XlStreamBuilder;
using fgbi::xlstream::ProxyOptions;
using fgbi::xlstream::RemusRx;
using fgbi::xlstream::RemusTx;
using Bytes = std::vector<uint8_t>;

// Feeds data in pieces of `piece` bytes (0: at once); returns what was
// released, and whether every feed and the finish succeeded.
template <class R>
bool run(R& rw, const Bytes& data, Bytes* out, size_t piece = 0, bool finish = true) {
  return fgbi::test::feed_rewriter(rw, data.data(), data.size(), piece, out, finish);
}

Bytes remus_stream(size_t checkpoints, size_t dirty = 20, size_t blocks = 2) {
  SyntheticRemus g;
  g.start();
  for (size_t c = 1; c <= checkpoints; ++c) g.checkpoint(dirty, blocks, static_cast<uint8_t>(c));
  return g.b.bytes;
}

// Offsets just past each CHECKPOINT_END of a stream.
std::vector<size_t> ends_of(size_t checkpoints) {
  SyntheticRemus g;
  g.start();
  for (size_t c = 1; c <= checkpoints; ++c) g.checkpoint(20, 2, static_cast<uint8_t>(c));
  return g.b.checkpoint_ends;
}

Bytes through_tx(const Bytes& in, bool* ok = nullptr, std::string* error = nullptr) {
  RemusTx tx(ProxyOptions{});
  Bytes link;
  const bool good = run(tx, in, &link);
  if (ok) *ok = good;
  if (error) *error = tx.error();
  return link;
}

TEST(XlStreamParser, SplitsEveryPartOfARemusStream) {
  const Bytes in = remus_stream(2);
  fgbi::xlstream::Parser parser(false);
  parser.feed(in);
  fgbi::xlstream::Item item;
  std::vector<std::pair<fgbi::xlstream::Part, uint32_t>> parts;
  size_t total = 0;
  while (parser.next(&item)) {
    parts.emplace_back(item.part, item.type);
    total += item.bytes.size();
  }
  ASSERT_FALSE(parser.failed()) << parser.error();
  EXPECT_EQ(total, in.size());
  using fgbi::xlstream::Part;
  ASSERT_GE(parts.size(), 6u);
  EXPECT_EQ(parts[0].first, Part::xl_header);
  EXPECT_EQ(parts[1].first, Part::libxl_header);
  EXPECT_EQ(parts[2], std::make_pair(Part::libxl_record, 1u));  // LIBXC_CONTEXT
  EXPECT_EQ(parts[3].first, Part::libxc_image_header);
  EXPECT_EQ(parts[4].first, Part::libxc_domain_header);
  EXPECT_EQ(parser.checkpoints(), 3u);
  EXPECT_FALSE(parser.in_checkpoint());
  EXPECT_EQ(parser.guest_type(), 2u);
  // After CHECKPOINT_END the libxc stream goes on (no second LIBXC_CONTEXT).
  size_t libxc_after_end = 0;
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i - 1] == std::make_pair(Part::libxl_record, 4u) &&
        parts[i].first == Part::libxc_record)
      ++libxc_after_end;
  EXPECT_EQ(libxc_after_end, 2u);
}

TEST(RemusProxy, RoundTripIsByteIdenticalInAnyPieceSize) {
  const Bytes in = remus_stream(4);
  for (size_t piece : {size_t{0}, size_t{1}, size_t{7}, size_t{4093}, size_t{65536}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    RemusTx tx(ProxyOptions{});
    Bytes link;
    ASSERT_TRUE(run(tx, in, &link, piece)) << tx.error();
    EXPECT_EQ(tx.committed_checkpoints(), 5u);
    RemusRx rx(ProxyOptions{}.max_pages);
    Bytes out;
    ASSERT_TRUE(run(rx, link, &out, piece)) << rx.error();
    ASSERT_EQ(out.size(), in.size());
    EXPECT_TRUE(out == in);
  }
}

TEST(RemusProxy, PageDataAfterTheFirstCheckpointShrinksOnTheLink) {
  // 20 dirty pages a checkpoint, 2 of 64 blocks changed in each.
  const Bytes in = remus_stream(3, 20, 2);
  RemusTx tx(ProxyOptions{});
  Bytes link;
  ASSERT_TRUE(run(tx, in, &link)) << tx.error();
  const auto& cps = tx.checkpoints();
  ASSERT_EQ(cps.size(), 5u);  // 4 whole, and the empty one after the last END
  for (size_t c = 1; c <= 3; ++c) {
    SCOPED_TRACE("checkpoint " + std::to_string(c));
    EXPECT_GE(cps[c].pages, 15u);
    EXPECT_EQ(cps[c].page_data_xl, 8 + 8 + 8 * cps[c].pages + 4096 * cps[c].pages);
    // Two changed blocks of a page are 128 bytes; allow framing, digest and
    // the pfn words, and still demand 8x less than whole pages.
    EXPECT_LT(cps[c].page_data_link * 8, cps[c].page_data_xl)
        << cps[c].page_data_link << " vs " << cps[c].page_data_xl;
    EXPECT_LT(cps[c].stream_out * 4, cps[c].stream_in);
  }
  // Checkpoint 0 carries every page; its zero pages travel as flags.
  EXPECT_EQ(cps[0].pages, 302u);
  EXPECT_LT(cps[0].page_data_link, cps[0].page_data_xl);
}

// An x86 PV stream: PV records, page-table page types in PAGE_DATA, and a
// stream that ends with libxc's END, libxl's END and bytes after them (xl's
// messages of a plain migration).
TEST(RemusProxy, PvStreamWithPageTableTypesAndAnEndRoundTrips) {
  XlStreamBuilder b;
  b.xl_header();
  b.libxl_header();
  b.record(0x01, {});                                   // LIBXC_CONTEXT
  b.libxc_headers(1);                                   // x86 PV
  b.record(0x02, {8, 4, 0, 0, 0, 0, 0, 0});             // X86_PV_INFO
  b.record(0x03, XlStreamBuilder::blob(8 + 8 * 2, 3));  // X86_PV_P2M_FRAMES
  std::vector<std::vector<uint8_t>> pages(4, std::vector<uint8_t>(4096));
  for (size_t i = 0; i < pages.size(); ++i) pages[i] = XlStreamBuilder::blob(4096, uint8_t(i));
  const std::vector<uint64_t> words = {uint64_t{0x1} << 60 | 10, uint64_t{0xa} << 60 | 11,
                                       uint64_t{0xe} << 60 | 12, uint64_t{0x4} << 60 | 13,
                                       uint64_t{0x0} << 60 | 14};
  b.page_data(words, {&pages[0], &pages[1], &pages[2], &pages[3]});
  b.record(0x04, XlStreamBuilder::blob(8 + 200, 4));  // X86_PV_VCPU_BASIC
  b.record(0x0e, {});                                 // CHECKPOINT
  b.record(0x04, {});                                 // libxl CHECKPOINT_END
  pages[1][100] ^= 0xff;
  b.page_data({words[1]}, {&pages[1]});
  b.record(0x0e, {});
  b.record(0x04, {});
  b.page_data({words[3]}, {&pages[3]});
  b.record(0x00, {});  // libxc END
  b.record(0x00, {});  // libxl END
  b.raw("domain is yours, you are cleared to unpause", 43);
  RemusTx tx(ProxyOptions{});
  Bytes link;
  ASSERT_TRUE(run(tx, b.bytes, &link, 13)) << tx.error();
  EXPECT_TRUE(tx.ended());
  EXPECT_EQ(tx.checkpoints()[1].pages, 1u);
  EXPECT_LT(tx.checkpoints()[1].page_data_link, 400u);  // one changed block, not a page
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  ASSERT_TRUE(run(rx, link, &out, 5)) << rx.error();
  EXPECT_TRUE(out == b.bytes);
}

TEST(RemusProxy, OptionalUnknownRecordsPassThrough) {
  SyntheticRemus g;
  g.start();
  g.b.record(0x80001234u, XlStreamBuilder::blob(21, 9));  // optional libxc record
  g.checkpoint(5, 1, 1);
  const Bytes in = g.b.bytes;
  bool ok = false;
  const Bytes link = through_tx(in, &ok);
  ASSERT_TRUE(ok);
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  ASSERT_TRUE(run(rx, link, &out)) << rx.error();
  EXPECT_TRUE(out == in);
}

TEST(RemusProxy, AStreamCutInsideACheckpointForwardsOnlyWholeCheckpoints) {
  const Bytes in = remus_stream(3);
  const auto ends = ends_of(3);
  // Cut in the middle of checkpoint 2's PAGE_DATA.
  const size_t cut = ends[1] + (ends[2] - ends[1]) / 3;
  const Bytes head(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut));
  RemusTx tx(ProxyOptions{});
  Bytes link;
  EXPECT_FALSE(run(tx, head, &link));
  EXPECT_NE(tx.error().find("ended inside"), std::string::npos) << tx.error();
  EXPECT_NE(tx.error().find("checkpoint 2"), std::string::npos) << tx.error();
  EXPECT_EQ(tx.committed_checkpoints(), 2u);
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  ASSERT_TRUE(run(rx, link, &out)) << rx.error();
  // Exactly checkpoints 0 and 1 reach xl, nothing of checkpoint 2.
  EXPECT_TRUE(out == Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ends[1])));

  // Cut between two records, just before checkpoint 2's CHECKPOINT_END.
  RemusTx tx3(ProxyOptions{});
  Bytes link3;
  EXPECT_FALSE(
      run(tx3, Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ends[2] - 8)), &link3));
  EXPECT_NE(tx3.error().find("ended before a libxl record of checkpoint 2"), std::string::npos)
      << tx3.error();
  EXPECT_EQ(tx3.committed_checkpoints(), 2u);

  // The link itself cut inside a checkpoint: remus-rx holds it back too.
  const Bytes whole_link = through_tx(in);
  const Bytes link_head(whole_link.begin(), whole_link.end() - 100);
  RemusRx rx2(ProxyOptions{}.max_pages);
  Bytes out2;
  EXPECT_FALSE(run(rx2, link_head, &out2));
  EXPECT_NE(rx2.error().find("were not forwarded"), std::string::npos) << rx2.error();
  EXPECT_TRUE(out2 == Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ends[2])));
}

TEST(RemusProxy, AStreamCutBetweenCheckpointsEndsCleanly) {
  const Bytes in = remus_stream(2);
  const auto ends = ends_of(2);
  const Bytes head(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ends[1]));
  RemusTx tx(ProxyOptions{});
  Bytes link;
  ASSERT_TRUE(run(tx, head, &link)) << tx.error();
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  ASSERT_TRUE(run(rx, link, &out)) << rx.error();
  EXPECT_TRUE(out == head);
}

// Replaces the stream after `offset` (the end of checkpoint 1) with a
// checkpoint whose records hold `bad`, then END-less; checks that tx stops
// with an error naming `expect` and that nothing of that checkpoint is out.
void expect_refused(const std::function<void(XlStreamBuilder&)>& bad, const std::string& expect) {
  SyntheticRemus g;
  g.start();
  g.checkpoint(10, 1, 1);
  const size_t good_end = g.b.bytes.size();
  g.send_pages({3, 4, 5}, 1024, false);  // a valid start of checkpoint 2
  bad(g.b);
  g.end_checkpoint(2);
  const Bytes in = g.b.bytes;
  RemusTx tx(ProxyOptions{});
  Bytes link;
  EXPECT_FALSE(run(tx, in, &link));
  EXPECT_NE(tx.error().find(expect), std::string::npos) << tx.error();
  EXPECT_NE(tx.error().find("at stream offset"), std::string::npos) << tx.error();
  EXPECT_FALSE(tx.feed(in)) << "a failed rewriter takes no more input";
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  ASSERT_TRUE(run(rx, link, &out)) << rx.error();
  EXPECT_TRUE(out == Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(good_end)));
}

TEST(RemusProxy, UnknownMandatoryRecordStopsTheStream) {
  expect_refused([](XlStreamBuilder& b) { b.record(0x0133, XlStreamBuilder::blob(16, 1)); },
                 "unknown mandatory record type 0x133");
}

TEST(RemusProxy, OversizedRecordStopsTheStream) {
  expect_refused(
      [](XlStreamBuilder& b) {
        b.le32(0x09);
        b.le32(0x7fffffff);
      },
      "bytes (at most");
}

TEST(RemusProxy, NonzeroPaddingStopsTheStream) {
  expect_refused(
      [](XlStreamBuilder& b) {
        b.record(0x09, XlStreamBuilder::blob(5, 1));
        b.bytes.back() = 1;
      },
      "nonzero padding");
}

std::string tx_error(const Bytes& in) {
  bool ok = true;
  std::string error;
  through_tx(in, &ok, &error);
  EXPECT_FALSE(ok);
  return error;
}

TEST(RemusProxy, MalformedPageDataIsRefusedBeforeAnythingOfItsCheckpoint) {
  // A PAGE_DATA whose length disagrees with its pages.
  expect_refused(
      [](XlStreamBuilder& b) {
        std::vector<uint8_t> body(8 + 8 + 100, 0);
        body[0] = 1;
        b.record(0x01, body);
      },
      "expected");
  // A reserved page type.
  expect_refused(
      [](XlStreamBuilder& b) {
        std::vector<uint8_t> body(8 + 8, 0);
        body[0] = 1;
        body[15] = 0x50;  // type 0x5
        b.record(0x01, body);
      },
      "invalid page type");
  // Count 0.
  expect_refused([](XlStreamBuilder& b) { b.record(0x01, std::vector<uint8_t>(8, 0)); },
                 "count of 0");
}

TEST(RemusProxy, BadHeadersAndOrderAreRefused) {
  {
    XlStreamBuilder b;
    b.raw("not an xl stream at all, no no no no no no no no no no", 48);
    EXPECT_NE(tx_error(b.bytes).find("Xen saved domain"), std::string::npos);
  }
  {
    XlStreamBuilder b;
    b.xl_header();
    b.be64(0x4c6962786c466d74ull);
    b.be32(3);  // libxl version 3
    b.be32(0);
    EXPECT_NE(tx_error(b.bytes).find("libxl stream version 3"), std::string::npos);
  }
  {
    XlStreamBuilder b;
    b.xl_header();
    b.libxl_header();
    b.record(0x04, {});  // CHECKPOINT_END with no checkpoint
    EXPECT_NE(tx_error(b.bytes).find("without a libxc CHECKPOINT"), std::string::npos);
  }
  {
    XlStreamBuilder b;
    b.xl_header();
    b.libxl_header();
    b.record(0x01, {});
    b.be64(~uint64_t{0});
    b.be32(0x58454E46);
    b.be32(3);
    for (int i = 0; i < 8; ++i) b.u8(0);
    b.le32(2);
    b.u8(16), b.u8(0), b.u8(0), b.u8(0);  // 64 KiB pages
    b.le32(4), b.le32(17);
    EXPECT_NE(tx_error(b.bytes).find("page shift 16"), std::string::npos);
  }
}

TEST(RemusProxy, TruncatedBeforeTheFirstCheckpointIsAnError) {
  const Bytes in = remus_stream(1);
  const Bytes head(in.begin(), in.begin() + 5000);  // inside the first PAGE_DATA
  RemusTx tx(ProxyOptions{});
  Bytes link;
  EXPECT_FALSE(run(tx, head, &link));
  EXPECT_NE(tx.error().find("before the first checkpoint"), std::string::npos) << tx.error();
}

TEST(RemusProxy, TooManyGuestPagesIsAClearError) {
  ProxyOptions small;
  small.max_pages = 100;
  RemusTx tx(small);
  Bytes link;
  EXPECT_FALSE(run(tx, remus_stream(1), &link));
  EXPECT_NE(tx.error().find("--max-pages"), std::string::npos) << tx.error();
}

TEST(RemusProxy, ReceiverRefusesALinkBeyondItsPageLimit) {
  const Bytes link = through_tx(remus_stream(1));
  RemusRx rx(1000);
  Bytes out;
  EXPECT_FALSE(run(rx, link, &out));
  EXPECT_NE(rx.error().find("--max-pages"), std::string::npos) << rx.error();
  EXPECT_TRUE(out.empty());
}

TEST(RemusProxy, ReceiverRefusesARawXlStream) {
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  EXPECT_FALSE(run(rx, remus_stream(1), &out));
  EXPECT_NE(rx.error().find("not an fgbi link"), std::string::npos) << rx.error();
}

TEST(RemusProxy, CorruptedEpochOnTheLinkNeverReachesXl) {
  const Bytes in = remus_stream(3);
  const auto ends = ends_of(3);
  Bytes link = through_tx(in);
  // Find checkpoint 2's first FGBI_PAGE_DATA on the link: the third one
  // after the records of checkpoint 0 and 1; flip a byte deep inside it.
  fgbi::xlstream::Parser parser(true);
  parser.feed(link);
  fgbi::xlstream::Item item;
  size_t seen = 0, target = 0;
  const size_t first_of_cp2 = 3 + 1 + 1;  // checkpoint 0 has 3 records, checkpoint 1 one
  while (parser.next(&item))
    if (item.part == fgbi::xlstream::Part::libxc_record &&
        item.type == fgbi::xlstream::kLinkPageData && ++seen == first_of_cp2)
      target = static_cast<size_t>(parser.offset()) - 20;  // the record's end
  ASSERT_FALSE(parser.failed()) << parser.error();
  ASSERT_NE(target, 0u);
  link[target] ^= 0x5a;
  RemusRx rx(ProxyOptions{}.max_pages);
  Bytes out;
  EXPECT_FALSE(run(rx, link, &out));
  EXPECT_NE(rx.error().find("fgbi refused its epoch"), std::string::npos) << rx.error();
  EXPECT_TRUE(out == Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ends[1])));
}

}  // namespace
