// ParsedArgs and the typed value parsers of cli/args.h.
#include "cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ParsedArgs as dispatch.cc fills it from CLI11's results.
ParsedArgs Given(std::vector<std::pair<std::string, std::string>> flags) {
  ParsedArgs parsed;
  for (const auto& [flag, value] : flags) EXPECT_TRUE(parsed.AddFlag(flag, value).ok()) << flag;
  return parsed;
}

TEST(ParsedArgs, RepeatedFlagIsRejectedByName) {
  ParsedArgs p = Given({{"--room", "a"}});
  absl::Status again = p.AddFlag("--room", "b");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(again.message(), HasSubstr("--room given more than once"));
  EXPECT_EQ(p.Get("--room"), "a");
}

TEST(ParsedArgs, SwitchesAndPositionals) {
  ParsedArgs p = Given({{"--all", ""}});
  p.AddPositional("first");
  p.AddPositional("second");
  EXPECT_TRUE(p.Has("--all"));
  EXPECT_FALSE(p.Has("--identity"));
  EXPECT_THAT(p.positionals(), ElementsAre("first", "second"));
}

TEST(ParsedArgs, GetRequiredNamesMissingAndEmptyFlags) {
  ParsedArgs given = Given({{"--identity", ""}});
  ParsedArgs* p = &given;
  absl::StatusOr<std::string> room = p->GetRequired("--room");
  ASSERT_FALSE(room.ok());
  EXPECT_EQ(room.status().message(), "missing required flag --room");
  absl::StatusOr<std::string> identity = p->GetRequired("--identity");
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("--identity must not be empty"));
}

TEST(ParsedArgs, GetOrFallsBack) {
  ParsedArgs given = Given({{"--room", "r"}});
  ParsedArgs* p = &given;
  EXPECT_EQ(p->GetOr("--room", "x"), "r");
  EXPECT_EQ(p->GetOr("--identity", "x"), "x");
  EXPECT_EQ(p->Get("--identity"), std::nullopt);
}

TEST(ParseDurationValue, AcceptsAbseilDurations) {
  EXPECT_EQ(*ParseDurationValue("--timeout", "10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseDurationValue("--timeout", "500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDurationValue("--timeout", "1m30s"), absl::Seconds(90));
}

TEST(ParseDurationValue, RejectsBadValuesNamingTheFlag) {
  for (const char* bad : {"abc", "5", "", "10 s", "inf"}) {
    absl::StatusOr<absl::Duration> d = ParseDurationValue("--timeout", bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(d.status().message(), HasSubstr("--timeout")) << bad;
  }
}

TEST(ParseDurationValue, RejectsNonPositive) {
  for (const char* bad : {"0s", "-1s"}) {
    absl::StatusOr<absl::Duration> d = ParseDurationValue("--timeout", bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(d.status().message(), HasSubstr("positive"));
  }
}

TEST(ParseTimeValue, AcceptsRfc3339WithZoneAndFraction) {
  absl::StatusOr<absl::Time> z = ParseTimeValue("--at", "2024-05-01T12:00:00Z");
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(absl::ToUnixSeconds(*z), 1714564800);
  absl::StatusOr<absl::Time> offset = ParseTimeValue("--at", "2024-05-01T14:00:00.5+02:00");
  ASSERT_TRUE(offset.ok()) << offset.status();
  EXPECT_EQ(*offset, *z + absl::Milliseconds(500));
}

TEST(ParseTimeValue, RejectsBadTimesNamingTheFlag) {
  for (const char* bad :
       {"2024-05-01", "yesterday", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00", "1714564800"}) {
    absl::StatusOr<absl::Time> t = ParseTimeValue("--created-after", bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("--created-after")) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("RFC 3339")) << bad;
  }
}

TEST(ParseIntValue, ChecksSyntaxAndRange) {
  EXPECT_EQ(*ParseIntValue("--page-size", "50", 1, 1000), 50);
  EXPECT_EQ(*ParseIntValue("--page-size", "-3", -5, 5), -3);
  absl::StatusOr<int64_t> word = ParseIntValue("--page-size", "ten", 1, 1000);
  ASSERT_FALSE(word.ok());
  EXPECT_THAT(word.status().message(), HasSubstr("--page-size"));
  absl::StatusOr<int64_t> high = ParseIntValue("--page-size", "1001", 1, 1000);
  ASSERT_FALSE(high.ok());
  EXPECT_THAT(high.status().message(), HasSubstr("out of range"));
  EXPECT_FALSE(ParseIntValue("--n", "1.5", 0, 10).ok());
}

TEST(ParseUintValue, RejectsNegativeAndGarbage) {
  EXPECT_EQ(*ParseUintValue("--from", "18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"-1", "x", "", "1e3"}) {
    absl::StatusOr<uint64_t> n = ParseUintValue("--from", bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_THAT(n.status().message(), HasSubstr("--from")) << bad;
  }
}

enum class Color { kRed, kDarkBlue };
constexpr Choice<Color> kColors[] = {{"red", Color::kRed}, {"dark_blue", Color::kDarkBlue}};

TEST(ParseChoiceValue, CaseInsensitiveAndDashUnderscoreAlike) {
  EXPECT_EQ(*ParseChoiceValue<Color>("--color", "RED", kColors), Color::kRed);
  EXPECT_EQ(*ParseChoiceValue<Color>("--color", "dark-blue", kColors), Color::kDarkBlue);
  EXPECT_EQ(*ParseChoiceValue<Color>("--color", "Dark_Blue", kColors), Color::kDarkBlue);
}

TEST(ParseChoiceValue, RejectsUnknownListingChoices) {
  absl::StatusOr<Color> c = ParseChoiceValue<Color>("--color", "green", kColors);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--color"));
  EXPECT_THAT(c.status().message(), HasSubstr("\"green\""));
  EXPECT_THAT(c.status().message(), HasSubstr("red, dark_blue"));
}

TEST(ParseChoiceListValue, KeepsOrder) {
  absl::StatusOr<std::vector<Color>> list =
      ParseChoiceListValue<Color>("--status", "dark-blue,red", kColors);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, ElementsAre(Color::kDarkBlue, Color::kRed));
}

TEST(ParseChoiceListValue, RejectsEmptyElementsRepeatsAndUnknowns) {
  for (const char* bad : {"", "red,", ",red", "red,,dark_blue", "red,RED", "red,green"}) {
    absl::StatusOr<std::vector<Color>> list = ParseChoiceListValue<Color>("--status", bad, kColors);
    ASSERT_FALSE(list.ok()) << bad;
    EXPECT_THAT(list.status().message(), HasSubstr("--status")) << bad;
  }
}

}  // namespace
}  // namespace rollcall::cli
