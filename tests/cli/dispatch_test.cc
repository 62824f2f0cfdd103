// Routing, global options, usage errors and help of `rollcall` (cli/dispatch.h). Nothing
// here reaches a server: every case fails or finishes before the first RPC.
#include "cli/dispatch.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "cli/exit_code.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rollcall::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Result {
  int code;
  std::string out;
  std::string err;
};

// A server nobody listens on; tests here must fail before dialing it anyway.
constexpr char kNowhere[] = "--server=127.0.0.1:9";

Result RunArgs(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  int code = RunCli(args, "", out, err);
  return {code, out.str(), err.str()};
}

// A usage error: exit 2, nothing on stdout, one stderr line mentioning `needle`.
void ExpectUsage(std::vector<std::string> args, const std::string& needle) {
  SCOPED_TRACE(testing::PrintToString(args));
  Result r = RunArgs(args);
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("rollcall: "));
  EXPECT_THAT(r.err, HasSubstr(needle));
  EXPECT_THAT(r.err, EndsWith("\n"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RunCli, UnknownCommand) { ExpectUsage({"frobnicate"}, "unknown command \"frobnicate\""); }

TEST(RunCli, UnknownSubcommand) {
  ExpectUsage({"participants", "explode"}, "unknown participants command \"explode\"");
}

TEST(RunCli, MissingSubcommandListsChoices) {
  ExpectUsage({"rooms"}, "missing rooms command (one of: create, list, get, end)");
}

TEST(RunCli, UnknownFlagAfterCommand) {
  ExpectUsage({kNowhere, "rooms", "list", "--colour", "red"}, "unknown flag --colour");
}

TEST(RunCli, FlagWithoutValueIsNamed) {
  ExpectUsage({kNowhere, "rooms", "list", "--status"}, "--status");
}

TEST(RunCli, EqualsFormAndDoubleDash) {
  ExpectUsage({kNowhere, "event", "connect", "--room=", "--identity=a"},
              "--room must not be empty");
  // After "--", a dash-word is still refused by name.
  ExpectUsage({kNowhere, "rooms", "get", "r", "--", "--all"}, "--all");
}

TEST(RunCli, CommandFlagBeforeCommandIsRejected) {
  ExpectUsage({"--room", "r", "participants", "list"}, "unknown flag --room");
}

TEST(RunCli, FlagOfAnotherCommandIsRejected) {
  ExpectUsage({kNowhere, "rooms", "get", "r", "--all"}, "unknown flag --all");
}

TEST(RunCli, UnexpectedPositional) {
  ExpectUsage({kNowhere, "rooms", "get", "a", "b"}, "unexpected argument \"b\"");
  ExpectUsage({kNowhere, "participants", "list", "extra"}, "unexpected argument \"extra\"");
}

TEST(RunCli, MissingRequiredFlags) {
  ExpectUsage({kNowhere, "event", "connect", "--identity", "alice"},
              "missing required flag --room");
  ExpectUsage({kNowhere, "event", "connect", "--room", "r"}, "missing required flag --identity");
  ExpectUsage({kNowhere, "event", "reconnecting", "--room", "r"},
              "missing required flag --participant");
  ExpectUsage({kNowhere, "event", "disconnect", "--participant", "PA1"},
              "missing required flag --room");
  ExpectUsage({kNowhere, "event", "connect", "--room=", "--identity", "a"},
              "--room must not be empty");
}

TEST(RunCli, MissingPositionals) {
  ExpectUsage({kNowhere, "participants", "kick"}, "missing participant SID");
  ExpectUsage({kNowhere, "participants", "anonymize", "--room", "r"}, "missing participant SID");
  ExpectUsage({kNowhere, "rooms", "get"}, "missing ROOM");
  ExpectUsage({kNowhere, "rooms", "end"}, "missing ROOM");
}

TEST(RunCli, ParticipantsGetNeedsExactlyOneKey) {
  ExpectUsage({kNowhere, "participants", "get"}, "either a participant SID");
  ExpectUsage({kNowhere, "participants", "get", "PA1", "--identity", "a", "--room", "r"},
              "not both");
  ExpectUsage({kNowhere, "participants", "get", "--identity", "a"}, "--identity needs --room");
}

TEST(RunCli, BadValuesNameTheFlag) {
  ExpectUsage(
      {kNowhere, "event", "disconnect", "--room", "r", "--participant", "PA1", "--reason", "bored"},
      "--reason");
  ExpectUsage({kNowhere, "event", "connect", "--room", "r", "--identity", "a", "--at", "yesterday"},
              "--at");
  ExpectUsage({kNowhere, "participants", "list", "--status", "connected,asleep"}, "--status");
  ExpectUsage({kNowhere, "participants", "list", "--page-size", "lots"}, "--page-size");
  ExpectUsage({kNowhere, "participants", "list", "--created-after", "2024-05-01"},
              "--created-after");
  ExpectUsage({kNowhere, "rooms", "list", "--status", "in-progress,ongoing"}, "--status");
  ExpectUsage({kNowhere, "rooms", "list", "--created-before", "noon"}, "--created-before");
  ExpectUsage({kNowhere, "rooms", "create", "--max-participants", "99999999999"},
              "--max-participants");
  ExpectUsage({kNowhere, "rooms", "create", "--status-callback-method", "PUT"},
              "--status-callback-method");
  ExpectUsage({kNowhere, "rooms", "create", "--empty-room-timeout", "5m"}, "--empty-room-timeout");
  ExpectUsage({kNowhere, "watch", "--from", "-1"}, "--from");
  ExpectUsage({kNowhere, "watch", "--max-changes", "0"}, "--max-changes");
}

TEST(RunCli, WatchFromConflictsWithInitial) {
  ExpectUsage({kNowhere, "watch", "--from", "3", "--initial"}, "--from cannot be combined");
}

TEST(RunCli, BadGlobalValuesNameTheFlag) {
  ExpectUsage({"-o", "yaml", "rooms", "list"}, "-o");
  ExpectUsage({"rooms", "list", "--timeout", "soon"}, "--timeout");
  ExpectUsage({"rooms", "list", "--timeout=0s"}, "--timeout");
  ExpectUsage({"--server=", "rooms", "list"}, "--server must not be empty");
  ExpectUsage({"--account", "AC1", "rooms", "list", "--account", "AC2"}, "more than once");
}

TEST(RunCli, NoArgumentsIsUsageWithHelpOnStderr) {
  Result r = RunArgs({});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("Usage: rollcall"));
  EXPECT_THAT(r.err, HasSubstr("missing command"));
}

TEST(RunCli, HelpAtEveryLevelExitsZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"help"},
                                             {"participants", "--help"},
                                             {"help", "participants"},
                                             {"participants", "list", "--help"},
                                             {"--server", "x:1", "watch", "-h"}}) {
    Result r = RunArgs(args);
    EXPECT_EQ(r.code, kExitOk) << testing::PrintToString(args);
    EXPECT_THAT(r.out, HasSubstr("Usage: rollcall")) << testing::PrintToString(args);
    EXPECT_EQ(r.err, "");
  }
}

TEST(RunCli, GroupHelpIsAboutTheGroup) {
  Result r = RunArgs({"rooms", "--help"});
  EXPECT_THAT(r.out, HasSubstr("rollcall rooms create"));
  EXPECT_THAT(r.out, Not(HasSubstr("rollcall participants list")));
}

TEST(Help, MainHelpDocumentsEveryCommandFlagAndExitCode) {
  const std::string help = MainHelp();
  for (const Command& c : Commands()) {
    EXPECT_THAT(help, HasSubstr("rollcall " + c.FullName() + " ")) << c.FullName();
    for (const FlagSpec& f : c.flags) EXPECT_THAT(help, HasSubstr(f.name)) << c.FullName();
  }
  for (const FlagSpec& f : GlobalFlags()) EXPECT_THAT(help, HasSubstr(f.name));
  for (const char* line :
       {"0  success", "2  usage error", "3  NOT_FOUND", "4  INVALID_ARGUMENT, OUT_OF_RANGE",
        "5  FAILED_PRECONDITION, ALREADY_EXISTS, RESOURCE_EXHAUSTED",
        "6  UNAVAILABLE, DEADLINE_EXCEEDED", "1  any other error"}) {
    EXPECT_THAT(help, HasSubstr(line));
  }
  EXPECT_THAT(help, HasSubstr("ROLLCALL_SERVER"));
}

TEST(Help, GroupHelpDocumentsItsFlagsGlobalsAndExitCodes) {
  for (const Command& c : Commands()) {
    const std::string help = GroupHelp(c.group);
    for (const FlagSpec& f : c.flags) EXPECT_THAT(help, HasSubstr(f.name)) << c.FullName();
    EXPECT_THAT(help, HasSubstr("--server HOST:PORT"));
    EXPECT_THAT(help, HasSubstr("3  NOT_FOUND"));
  }
  EXPECT_EQ(GroupHelp("nonsense"), "");
}

// Global options as RunCli would see them: `flags` given, `environment` behind them.
absl::StatusOr<GlobalOptions> Globals(std::vector<std::pair<std::string, std::string>> flags,
                                      CliEnvironment environment) {
  ParsedArgs parsed;
  for (const auto& [flag, value] : flags) {
    if (absl::Status s = parsed.AddFlag(flag, value); !s.ok()) return s;
  }
  return ParseGlobalOptions(parsed, environment);
}
absl::StatusOr<GlobalOptions> Globals(std::vector<std::pair<std::string, std::string>> flags,
                                      absl::string_view server_env) {
  CliEnvironment environment;
  environment.server = std::string(server_env);
  return Globals(std::move(flags), environment);
}

TEST(ParseGlobalOptions, Defaults) {
  absl::StatusOr<GlobalOptions> o = Globals({}, "");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->server, "127.0.0.1:50051");
  EXPECT_EQ(o->account, "");
  EXPECT_EQ(o->format, OutputFormat::kTable);
  EXPECT_EQ(o->timeout, absl::Seconds(10));
}

TEST(ParseGlobalOptions, EnvironmentThenFlag) {
  EXPECT_EQ(Globals({}, "rollcall.internal:7000")->server, "rollcall.internal:7000");
  EXPECT_EQ(Globals({{"--server", "10.0.0.1:1"}}, "rollcall.internal:7000")->server, "10.0.0.1:1");
}

TEST(ParseGlobalOptions, AllGiven) {
  absl::StatusOr<GlobalOptions> o = Globals(
      {{"--account", "AC0123456789abcdef0123456789abcdef"}, {"-o", "JSON"}, {"--timeout", "250ms"}},
      "");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->account, "AC0123456789abcdef0123456789abcdef");
  EXPECT_EQ(o->format, OutputFormat::kJson);
  EXPECT_EQ(o->timeout, absl::Milliseconds(250));
}

}  // namespace
}  // namespace rollcall::cli
