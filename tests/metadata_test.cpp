// The metadata table (engine/common/metadata.hpp) against the C ABI: every
// row's name, message, bounds and default are what the library reports; the
// public enums have no value outside the table; and the contexts' setters and
// getters accept, store and refuse what the table says, on the sides it says.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/metadata.hpp"
#include "fgbi.h"
#include "fgbi_session.h"
#include "support/replication.hpp"

namespace fgbi::test {
namespace {

struct ErrorRow {
  fgbi_status code;
  const char* name;
  const char* message;
};
#define FGBI_TEST_ERROR_ROW(code, message) {code, #code, message},
const ErrorRow kErrorRows[] = {FGBI_ERROR_TABLE(FGBI_TEST_ERROR_ROW)
                                   FGBI_SESSION_ERROR_TABLE(FGBI_TEST_ERROR_ROW)};
#undef FGBI_TEST_ERROR_ROW

TEST(Metadata, ErrorNamesAndMessagesAreTheTables) {
  std::set<fgbi_status> codes;
  std::set<std::string> messages;
  for (const ErrorRow& row : kErrorRows) {
    EXPECT_STREQ(fgbi_error_name(row.code), row.name);
    EXPECT_STREQ(fgbi_error_message(row.code), row.message);
    EXPECT_TRUE(codes.insert(row.code).second) << row.name << ": value used twice";
    EXPECT_TRUE(messages.insert(row.message).second) << row.name << ": message used twice";
  }
  for (fgbi_status code = -16; code < 256; ++code) {
    if (codes.count(code) != 0) continue;
    EXPECT_STREQ(fgbi_error_name(code), "FGBI_E_UNKNOWN_CODE") << code;
    EXPECT_STREQ(fgbi_error_message(code), "unknown error code") << code;
  }
}

// One parameter row, codec or session, with its sides as two flags.
struct ParamRow {
  int param;
  const char* name;
  int64_t min, max, def;
  bool first_side, second_side;  // sender / receiver, or link / backup
};

std::vector<ParamRow> codec_rows() {
  std::vector<ParamRow> rows;
#define FGBI_TEST_PARAM_ROW(param, field, type, min, max, def, side)                     \
  rows.push_back({param, #param, min, max, def, ParamSide::side != ParamSide::kReceiver, \
                  ParamSide::side != ParamSide::kSender});
  FGBI_PARAM_TABLE(FGBI_TEST_PARAM_ROW)
#undef FGBI_TEST_PARAM_ROW
  return rows;
}

std::vector<ParamRow> session_rows() {
  std::vector<ParamRow> rows;
#define FGBI_TEST_PARAM_ROW(param, field, type, min, max, def, side)   \
  rows.push_back({param, #param, min, max, def,                        \
                  SessionParamSide::side != SessionParamSide::kBackup, \
                  SessionParamSide::side != SessionParamSide::kLink});
  FGBI_SESSION_PARAM_TABLE(FGBI_TEST_PARAM_ROW)
#undef FGBI_TEST_PARAM_ROW
  return rows;
}

using Setter = std::function<fgbi_status(int param, int64_t value)>;
using Getter = std::function<fgbi_status(int param, int64_t* value)>;

// A fresh context of one side: every row that applies reads its default,
// takes its bounds and refuses one past them (keeping the value it had);
// every other row is unknown to it.
void expect_context_follows(const std::vector<ParamRow>& rows, bool first, const Setter& set,
                            const Getter& get) {
  for (const ParamRow& row : rows) {
    SCOPED_TRACE(std::string(row.name) + (first ? " (first side)" : " (second side)"));
    int64_t v = -12345;
    if (!(first ? row.first_side : row.second_side)) {
      EXPECT_EQ(get(row.param, &v), FGBI_E_PARAM_UNKNOWN);
      EXPECT_EQ(set(row.param, row.def), FGBI_E_PARAM_UNKNOWN);
      continue;
    }
    ASSERT_EQ(get(row.param, &v), FGBI_OK);
    EXPECT_EQ(v, row.def);
    for (int64_t bound : {row.min, row.max}) {
      ASSERT_EQ(set(row.param, bound), FGBI_OK) << bound;
      ASSERT_EQ(get(row.param, &v), FGBI_OK);
      EXPECT_EQ(v, bound);
    }
    if (row.max < INT64_MAX) {
      EXPECT_EQ(set(row.param, row.max + 1), FGBI_E_PARAM_OUT_OF_BOUNDS);
    }
    ASSERT_EQ(set(row.param, row.min), FGBI_OK);
    EXPECT_EQ(set(row.param, row.min - 1), FGBI_E_PARAM_OUT_OF_BOUNDS);
    ASSERT_EQ(get(row.param, &v), FGBI_OK);
    EXPECT_EQ(v, row.min);
    ASSERT_EQ(set(row.param, row.def), FGBI_OK);
  }
}

// Every value 0..255 of a parameter enum: named exactly when it has a row.
void expect_only_rows_are_named(const std::vector<ParamRow>& rows,
                                const std::function<const char*(int)>& name) {
  std::set<int> params;
  for (const ParamRow& row : rows) {
    EXPECT_STREQ(name(row.param), row.name);
    EXPECT_TRUE(params.insert(row.param).second) << row.name;
  }
  for (int p = 0; p < 256; ++p)
    if (params.count(p) == 0) {
      EXPECT_EQ(name(p), nullptr) << p;
    }
}

TEST(Metadata, ParameterNamesAndBoundsAreTheTables) {
  const auto param = [](int p) { return static_cast<fgbi_param>(p); };
  const auto session_param = [](int p) { return static_cast<fgbi_session_param>(p); };
  expect_only_rows_are_named(codec_rows(), [&](int p) { return fgbi_param_name(param(p)); });
  expect_only_rows_are_named(session_rows(),
                             [&](int p) { return fgbi_session_param_name(session_param(p)); });
  for (const ParamRow& row : codec_rows()) {
    int64_t lo = 0, hi = 0, def = 0;
    ASSERT_EQ(fgbi_param_bounds(param(row.param), &lo, &hi, &def), FGBI_OK) << row.name;
    EXPECT_EQ(lo, row.min) << row.name;
    EXPECT_EQ(hi, row.max) << row.name;
    EXPECT_EQ(def, row.def) << row.name;
    EXPECT_TRUE(row.min <= row.def && row.def <= row.max) << row.name;
  }
  for (const ParamRow& row : session_rows()) {
    int64_t lo = 0, hi = 0, def = 0;
    ASSERT_EQ(fgbi_session_param_bounds(session_param(row.param), &lo, &hi, &def), FGBI_OK)
        << row.name;
    EXPECT_EQ(lo, row.min) << row.name;
    EXPECT_EQ(hi, row.max) << row.name;
    EXPECT_EQ(def, row.def) << row.name;
    EXPECT_TRUE(row.min <= row.def && row.def <= row.max) << row.name;
  }
}

TEST(Metadata, SenderAndReceiverParametersFollowTheTable) {
  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  SenderPtr sender(s);
  expect_context_follows(
      codec_rows(), true,
      [&](int p, int64_t v) { return fgbi_sender_set_parameter(s, static_cast<fgbi_param>(p), v); },
      [&](int p, int64_t* v) {
        return fgbi_sender_get_parameter(s, static_cast<fgbi_param>(p), v);
      });
  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  expect_context_follows(
      codec_rows(), false,
      [&](int p, int64_t v) {
        return fgbi_receiver_set_parameter(r, static_cast<fgbi_param>(p), v);
      },
      [&](int p, int64_t* v) {
        return fgbi_receiver_get_parameter(r, static_cast<fgbi_param>(p), v);
      });
}

TEST(Metadata, LinkAndBackupParametersFollowTheTable) {
  fgbi_sender* s = nullptr;
  ASSERT_EQ(fgbi_sender_create(&s), FGBI_OK);
  SenderPtr sender(s);
  fgbi_link* link = nullptr;
  ASSERT_EQ(fgbi_link_create(&link, s), FGBI_OK);
  expect_context_follows(
      session_rows(), true,
      [&](int p, int64_t v) {
        return fgbi_link_set_parameter(link, static_cast<fgbi_session_param>(p), v);
      },
      [&](int p, int64_t* v) {
        return fgbi_link_get_parameter(link, static_cast<fgbi_session_param>(p), v);
      });
  fgbi_link_free(link);
  fgbi_receiver* r = nullptr;
  ASSERT_EQ(fgbi_receiver_create(&r), FGBI_OK);
  ReceiverPtr receiver(r);
  fgbi_backup* backup = nullptr;
  ASSERT_EQ(fgbi_backup_create(&backup, r), FGBI_OK);
  expect_context_follows(
      session_rows(), false,
      [&](int p, int64_t v) {
        return fgbi_backup_set_parameter(backup, static_cast<fgbi_session_param>(p), v);
      },
      [&](int p, int64_t* v) {
        return fgbi_backup_get_parameter(backup, static_cast<fgbi_session_param>(p), v);
      });
  fgbi_backup_free(backup);
}

// Statistic names: the rows in value order from FIRST to LAST, and nothing
// outside that range.
void expect_stat_names(const std::vector<const char*>& rows, int first, int last,
                       const std::function<const char*(int)>& name) {
  ASSERT_EQ(rows.size(), static_cast<size_t>(last - first + 1));
  for (int v = -4; v < last + 64; ++v) {
    if (v < first || v > last)
      EXPECT_EQ(name(v), nullptr) << v;
    else
      EXPECT_STREQ(name(v), rows[static_cast<size_t>(v - first)]) << v;
  }
}

TEST(Metadata, StatisticNamesAreTheTables) {
#define FGBI_TEST_STAT_NAME(stat) #stat,
  expect_stat_names({FGBI_STAT_TABLE(FGBI_TEST_STAT_NAME)}, FGBI_STAT_FIRST, FGBI_STAT_LAST,
                    [](int v) { return fgbi_stat_name(static_cast<fgbi_stat>(v)); });
  expect_stat_names({FGBI_SESSION_STAT_TABLE(FGBI_TEST_STAT_NAME)}, FGBI_SESSION_STAT_FIRST,
                    FGBI_SESSION_STAT_LAST, [](int v) {
                      return fgbi_session_stat_name(static_cast<fgbi_session_stat>(v));
                    });
#undef FGBI_TEST_STAT_NAME
  // The rows name their own values: a row cannot sit at another's place.
#define FGBI_TEST_STAT_SELF(stat) EXPECT_STREQ(fgbi_stat_name(stat), #stat);
  FGBI_STAT_TABLE(FGBI_TEST_STAT_SELF)
#undef FGBI_TEST_STAT_SELF
#define FGBI_TEST_STAT_SELF(stat) EXPECT_STREQ(fgbi_session_stat_name(stat), #stat);
  FGBI_SESSION_STAT_TABLE(FGBI_TEST_STAT_SELF)
#undef FGBI_TEST_STAT_SELF
}

}  // namespace
}  // namespace fgbi::test
