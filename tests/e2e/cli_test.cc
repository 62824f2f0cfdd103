// The `rollcall` CLI binary against a real rollcalld: a tour of its commands (rooms, events,
// participants) in table and JSON output, and its documented exit codes (0 ok, 2 usage error
// naming the flag, 3 NOT_FOUND, 4 INVALID_ARGUMENT, 5 FAILED_PRECONDITION / ALREADY_EXISTS /
// RESOURCE_EXHAUSTED, 6 UNAVAILABLE). `watch` is not covered here: the server side of Watch is
// still being written.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "rollcall/v1/ingest_service.pb.h"
#include "rollcall/v1/participant.pb.h"
#include "rollcall/v1/room.pb.h"
#include "server_process.h"

extern char** environ;

namespace rollcall::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

#ifdef ROLLCALL_CLI_PATH
constexpr char kCliPath[] = ROLLCALL_CLI_PATH;
#endif

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const CliResult& r) {
  return os << "exit " << r.code << "\n--- stdout:\n" << r.out << "--- stderr:\n" << r.err;
}

// Runs the CLI with `args`; `environment` entries (NAME=value) are added to the test's own
// environment, from which ROLLCALL_SERVER is removed. Kills it after 30 s.
CliResult RunCli(const std::string& path, const std::vector<std::string>& args,
                 const std::vector<std::string>& environment = {}) {
  std::vector<std::string> argv_storage = {path};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("ROLLCALL_SERVER=", 0) != 0) env_storage.emplace_back(*e);
  }
  env_storage.insert(env_storage.end(), environment.begin(), environment.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    ADD_FAILURE() << "pipe failed";
    return {};
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CliResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      ADD_FAILURE() << "rollcall did not finish within 30 s";
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream in(line);
  for (std::string cell; in >> cell;) cells.push_back(cell);
  return cells;
}

// A table: the header row's cells, and each row's cells by column name.
struct Table {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

Table ParseTable(const std::vector<std::string>& lines) {
  Table table;
  if (lines.empty()) return table;
  table.header = Cells(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = Cells(lines[i]);
    EXPECT_EQ(cells.size(), table.header.size()) << "row: " << lines[i];
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < std::min(cells.size(), table.header.size()); ++c) {
      row[table.header[c]] = cells[c];
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

// Parses one JSON line strictly (unknown fields are errors).
template <typename Message>
Message ParseJson(const std::string& line) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << ": " << line;
  return message;
}

// Each stdout line as a JSON object of type Message.
template <typename Message>
std::vector<Message> ParseJsonLines(const std::string& out) {
  std::vector<Message> messages;
  for (const std::string& line : Lines(out)) {
    EXPECT_THAT(line, MatchesRegex("\\{.*\\}")) << "not one object per line";
    messages.push_back(ParseJson<Message>(line));
  }
  return messages;
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc;
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef ROLLCALL_CLI_PATH
    GTEST_SKIP() << "the rollcall CLI target is not built in this tree";
#else
    ASSERT_TRUE(server_.Start());
#endif
  }

  // `rollcall --server <server> args...`
  CliResult Cli(std::vector<std::string> args) {
#ifdef ROLLCALL_CLI_PATH
    args.insert(args.begin(), {"--server", server_.address()});
    return RunCli(kCliPath, args);
#else
    return {};
#endif
  }
  CliResult CliRaw(const std::vector<std::string>& args,
                   const std::vector<std::string>& environment = {}) {
#ifdef ROLLCALL_CLI_PATH
    return RunCli(kCliPath, args, environment);
#else
    return {};
#endif
  }

  ServerProcess server_;
};

// An error exits with `code` and prints one line: "rollcall: <GRPC_CODE>: <message>".
void ExpectRpcError(const CliResult& r, int code, const std::string& grpc_code) {
  EXPECT_EQ(r.code, code) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_THAT(r.err, StartsWith("rollcall: " + grpc_code + ": ")) << r;
  EXPECT_EQ(Lines(r.err).size(), 1u) << r;
}

// A usage error exits 2 and names the offending flag or argument.
void ExpectUsageError(const CliResult& r, const std::string& names) {
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_THAT(r.err, HasSubstr(names)) << r;
}

TEST_F(CliTest, TourOfRoomsEventsAndParticipants) {
  const auto now = std::chrono::system_clock::now();
  const std::string joined = Rfc3339(now - std::chrono::minutes(5));
  const std::string left = Rfc3339(now - std::chrono::minutes(5) + std::chrono::seconds(90));
  const std::string alice_sid = "PA0123456789abcdef0123456789abcdef";

  // rooms create, JSON.
  CliResult r = Cli({"rooms", "create", "standup", "--max-participants", "2", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<v1::Room> rooms = ParseJsonLines<v1::Room>(r.out);
  ASSERT_EQ(rooms.size(), 1u) << r;
  const v1::Room room = rooms[0];
  EXPECT_THAT(room.sid(), MatchesRegex("RM[0-9a-f]{32}"));
  EXPECT_EQ(room.unique_name(), "standup");
  EXPECT_EQ(room.status(), v1::ROOM_STATUS_IN_PROGRESS);
  EXPECT_EQ(room.max_participants(), 2);
  EXPECT_THAT(r.out, HasSubstr("\"revision\":\"1\"")) << "64-bit integers are JSON strings";
  EXPECT_THAT(r.out, HasSubstr("\"participant_count\":0")) << "every field is printed";

  ExpectRpcError(Cli({"rooms", "create", "standup"}), 5, "ALREADY_EXISTS");

  // event connect, table: the outcome line, then the participant.
  r = Cli({"event", "connect", "--room", "standup", "--identity", "alice", "--participant",
           alice_sid, "--event-id", "alice-joins", "--at", joined});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  EXPECT_EQ(lines[0], "APPLIED at revision 2");
  Table table = ParseTable({lines[1], lines[2]});
  EXPECT_THAT(table.header, ElementsAre("SID", "ROOM", "IDENTITY", "STATUS", "START", "END",
                                        "DURATION", "REASON", "REVISION"));
  EXPECT_EQ(table.rows[0]["SID"], alice_sid);
  EXPECT_EQ(table.rows[0]["ROOM"], room.sid());
  EXPECT_EQ(table.rows[0]["IDENTITY"], "alice");
  EXPECT_EQ(table.rows[0]["STATUS"], "CONNECTED");
  EXPECT_EQ(table.rows[0]["START"], joined);
  EXPECT_EQ(table.rows[0]["END"], "-");
  EXPECT_EQ(table.rows[0]["DURATION"], "-");
  EXPECT_EQ(table.rows[0]["REASON"], "-");
  EXPECT_EQ(table.rows[0]["REVISION"], "2");

  // The same event again is DUPLICATE; the same event_id with other content is rejected.
  r = Cli({"event", "connect", "--room", "standup", "--identity", "alice", "--participant",
           alice_sid, "--event-id", "alice-joins", "--at", joined});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, StartsWith("DUPLICATE at revision 2\n"));
  ExpectRpcError(Cli({"event", "connect", "--room", "standup", "--identity", "mallory",
                      "--event-id", "alice-joins", "--at", joined}),
                 5, "ALREADY_EXISTS");

  // event connect, JSON: the RecordEventResponse with a server-chosen SID.
  r = Cli({"event", "connect", "--room", "standup", "--identity", "bob", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<v1::RecordEventResponse> events = ParseJsonLines<v1::RecordEventResponse>(r.out);
  ASSERT_EQ(events.size(), 1u) << r;
  EXPECT_EQ(events[0].outcome(), v1::EVENT_OUTCOME_APPLIED);
  EXPECT_EQ(events[0].revision(), 3u);
  const std::string bob_sid = events[0].participant().sid();
  EXPECT_THAT(bob_sid, MatchesRegex("PA[0-9a-f]{32}"));
  EXPECT_EQ(events[0].participant().identity(), "bob");

  // The room holds two: a third is RESOURCE_EXHAUSTED.
  ExpectRpcError(Cli({"event", "connect", "--room", "standup", "--identity", "carol"}), 5,
                 "RESOURCE_EXHAUSTED");

  // reconnecting / reconnected, read back in a table listing.
  r = Cli({"event", "reconnecting", "--room", "standup", "--participant", alice_sid});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, StartsWith("APPLIED at revision 4\n"));
  r = Cli({"participants", "list", "--room", "standup"});
  ASSERT_EQ(r.code, 0) << r;
  table = ParseTable(Lines(r.out));
  ASSERT_EQ(table.rows.size(), 2u) << r;
  EXPECT_EQ(table.rows[0]["IDENTITY"], "alice");  // oldest first
  EXPECT_EQ(table.rows[0]["STATUS"], "RECONNECTING");
  EXPECT_EQ(table.rows[1]["IDENTITY"], "bob");
  EXPECT_EQ(table.rows[1]["STATUS"], "CONNECTED");
  EXPECT_EQ(table.rows[1]["SID"], bob_sid);

  // A status the participant is already in is IGNORED, at the current revision.
  r = Cli({"event", "reconnecting", "--room", room.sid(), "--participant", alice_sid});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, StartsWith("IGNORED at revision 4\n"));
  r = Cli({"event", "reconnected", "--room", "standup", "--participant", alice_sid});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, StartsWith("APPLIED at revision 5\n"));

  // participants list, JSON: one Participant object per line.
  r = Cli({"-o", "json", "participants", "list", "--all"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<v1::Participant> participants = ParseJsonLines<v1::Participant>(r.out);
  ASSERT_EQ(participants.size(), 2u) << r;
  EXPECT_EQ(participants[0].sid(), alice_sid);
  EXPECT_EQ(participants[0].status(), v1::PARTICIPANT_STATUS_CONNECTED);
  EXPECT_EQ(participants[0].revision(), 5u);
  EXPECT_EQ(participants[1].sid(), bob_sid);
  EXPECT_EQ(participants[1].room_sid(), room.sid());

  // Paging by hand: one record per page, the token on stderr.
  r = Cli({"participants", "list", "--page-size", "1", "--status", "connected"});
  ASSERT_EQ(r.code, 0) << r;
  table = ParseTable(Lines(r.out));
  ASSERT_EQ(table.rows.size(), 1u) << r;
  EXPECT_EQ(table.rows[0]["SID"], alice_sid);
  ASSERT_THAT(r.err, StartsWith("next page: --page-token ")) << r;
  const std::string token = Cells(Lines(r.err)[0]).back();
  r = Cli({"participants", "list", "--page-size", "1", "--status", "connected", "--page-token",
           token, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  participants = ParseJsonLines<v1::Participant>(r.out);
  ASSERT_EQ(participants.size(), 1u) << r;
  EXPECT_EQ(participants[0].sid(), bob_sid);
  // A token is bound to its filters.
  ExpectRpcError(Cli({"participants", "list", "--page-token", token}), 4, "INVALID_ARGUMENT");

  // participants get: by SID (table), by identity (JSON).
  r = Cli({"participants", "get", alice_sid});
  ASSERT_EQ(r.code, 0) << r;
  table = ParseTable(Lines(r.out));
  ASSERT_EQ(table.rows.size(), 1u) << r;
  EXPECT_EQ(table.rows[0]["IDENTITY"], "alice");
  EXPECT_EQ(table.rows[0]["STATUS"], "CONNECTED");
  r = Cli({"participants", "get", "--room", "standup", "--identity", "bob", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  participants = ParseJsonLines<v1::Participant>(r.out);
  ASSERT_EQ(participants.size(), 1u) << r;
  EXPECT_EQ(participants[0].sid(), bob_sid);
  ExpectRpcError(Cli({"participants", "get", "PA00000000000000000000000000000000"}), 3,
                 "NOT_FOUND");
  ExpectRpcError(Cli({"participants", "get", "PAnot-a-sid"}), 4, "INVALID_ARGUMENT");
  ExpectRpcError(Cli({"participants", "get", "--room", "standup", "--identity", "carol"}), 3,
                 "NOT_FOUND");

  // kick bob; kicking again, or anonymizing the active alice, is FAILED_PRECONDITION.
  r = Cli({"participants", "kick", bob_sid, "--room", "standup", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  participants = ParseJsonLines<v1::Participant>(r.out);
  ASSERT_EQ(participants.size(), 1u) << r;
  EXPECT_EQ(participants[0].status(), v1::PARTICIPANT_STATUS_DISCONNECTED);
  EXPECT_EQ(participants[0].disconnect_reason(), v1::DISCONNECT_REASON_REMOVED);
  EXPECT_TRUE(participants[0].has_end_time());
  ExpectRpcError(Cli({"participants", "kick", bob_sid}), 5, "FAILED_PRECONDITION");
  ExpectRpcError(Cli({"participants", "anonymize", alice_sid}), 5, "FAILED_PRECONDITION");

  // anonymize bob: identity := SID, and idempotent.
  for (int i = 0; i < 2; ++i) {
    r = Cli({"participants", "anonymize", bob_sid, "-o", "json"});
    ASSERT_EQ(r.code, 0) << r;
    participants = ParseJsonLines<v1::Participant>(r.out);
    ASSERT_EQ(participants.size(), 1u) << r;
    EXPECT_EQ(participants[0].identity(), bob_sid);
  }

  // alice leaves 90 s after she joined.
  r = Cli({"event", "disconnect", "--room", "standup", "--participant", alice_sid, "--reason",
           "client_initiated", "--at", left});
  ASSERT_EQ(r.code, 0) << r;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  table = ParseTable({lines[1], lines[2]});
  EXPECT_EQ(table.rows[0]["STATUS"], "DISCONNECTED");
  EXPECT_EQ(table.rows[0]["END"], left);
  EXPECT_EQ(table.rows[0]["DURATION"], "1m30s");
  EXPECT_EQ(table.rows[0]["REASON"], "CLIENT_INITIATED");
  ExpectRpcError(Cli({"event", "reconnecting", "--room", "standup", "--participant", alice_sid}), 5,
                 "FAILED_PRECONDITION");
  r = Cli({"participants", "get", alice_sid, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("\"duration\":\"90\""));

  // rooms end; the unique name is free again, the SID still reads.
  r = Cli({"rooms", "end", "standup"});
  ASSERT_EQ(r.code, 0) << r;
  table = ParseTable(Lines(r.out));
  ASSERT_EQ(table.rows.size(), 1u) << r;
  EXPECT_THAT(table.header, ElementsAre("SID", "UNIQUE_NAME", "STATUS", "PARTICIPANTS", "CREATED",
                                        "END", "DURATION", "REVISION"));
  EXPECT_EQ(table.rows[0]["SID"], room.sid());
  EXPECT_EQ(table.rows[0]["STATUS"], "COMPLETED");
  EXPECT_EQ(table.rows[0]["PARTICIPANTS"], "0");
  ExpectRpcError(Cli({"rooms", "end", room.sid()}), 5, "FAILED_PRECONDITION");
  ExpectRpcError(Cli({"rooms", "get", "standup"}), 3, "NOT_FOUND");
  r = Cli({"rooms", "get", room.sid(), "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  rooms = ParseJsonLines<v1::Room>(r.out);
  ASSERT_EQ(rooms.size(), 1u) << r;
  EXPECT_EQ(rooms[0].status(), v1::ROOM_STATUS_COMPLETED);
  EXPECT_TRUE(rooms[0].has_end_time());
  ExpectRpcError(Cli({"event", "connect", "--room", room.sid(), "--identity", "dave"}), 5,
                 "FAILED_PRECONDITION");

  // A second room of the same name, then rooms list in both formats.
  r = Cli({"rooms", "create", "standup"});
  ASSERT_EQ(r.code, 0) << r;
  r = Cli({"rooms", "list"});
  ASSERT_EQ(r.code, 0) << r;
  table = ParseTable(Lines(r.out));
  ASSERT_EQ(table.rows.size(), 2u) << r;
  EXPECT_EQ(table.rows[0]["SID"], room.sid());
  EXPECT_EQ(table.rows[0]["STATUS"], "COMPLETED");
  EXPECT_EQ(table.rows[1]["UNIQUE_NAME"], "standup");
  EXPECT_EQ(table.rows[1]["STATUS"], "IN_PROGRESS");
  EXPECT_EQ(table.rows[1]["END"], "-");
  r = Cli({"rooms", "list", "--status", "completed", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  rooms = ParseJsonLines<v1::Room>(r.out);
  ASSERT_EQ(rooms.size(), 1u) << r;
  EXPECT_EQ(rooms[0].sid(), room.sid());
  r = Cli({"rooms", "list", "--name", "no-such-room", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "");

  // A participant of the ended room: its record says why it left.
  r = Cli({"participants", "list", "--room", room.sid(), "--status", "disconnected", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  participants = ParseJsonLines<v1::Participant>(r.out);
  ASSERT_EQ(participants.size(), 2u) << r;
}

TEST_F(CliTest, ServerErrorsMapToExitCodes) {
  // INVALID_ARGUMENT from the server: 4.
  ExpectRpcError(Cli({"rooms", "create", "huge", "--max-participants", "5000"}), 4,
                 "INVALID_ARGUMENT");
  ExpectRpcError(Cli({"participants", "list", "--page-size", "5000"}), 4, "INVALID_ARGUMENT");
  const std::string future = Rfc3339(std::chrono::system_clock::now() + std::chrono::hours(2));
  const CliResult r =
      Cli({"event", "connect", "--room", "r1", "--identity", "eve", "--at", future});
  ExpectRpcError(r, 4, "INVALID_ARGUMENT");
  EXPECT_THAT(r.err, HasSubstr("occurred_at")) << "the message names the field";
  // NOT_FOUND: 3.
  ExpectRpcError(Cli({"rooms", "get", "RM00000000000000000000000000000000"}), 3, "NOT_FOUND");
  ExpectRpcError(Cli({"event", "disconnect", "--room", "nowhere", "--participant",
                      "PA00000000000000000000000000000000"}),
                 3, "NOT_FOUND");
  ExpectRpcError(Cli({"participants", "list", "--room", "nowhere"}), 3, "NOT_FOUND");
}

TEST_F(CliTest, UsageErrorsNameTheFlag) {
  ExpectUsageError(Cli({"participants", "list", "--bogus"}), "--bogus");
  ExpectUsageError(Cli({"event", "connect", "--room", "standup"}), "--identity");
  ExpectUsageError(Cli({"event", "reconnecting", "--room", "standup"}), "--participant");
  ExpectUsageError(Cli({"-o", "yaml", "rooms", "list"}), "-o");
  ExpectUsageError(Cli({"rooms", "create", "x", "--max-participants", "many"}),
                   "--max-participants");
  ExpectUsageError(Cli({"event", "disconnect", "--room", "r", "--participant",
                        "PA00000000000000000000000000000000", "--reason", "bored"}),
                   "--reason");
  ExpectUsageError(Cli({"event", "connect", "--room", "r", "--identity", "x", "--at", "noon"}),
                   "--at");
  ExpectUsageError(Cli({"participants", "list", "--status", "sleeping"}), "--status");
  ExpectUsageError(Cli({"rooms", "list", "--timeout", "soon"}), "--timeout");
  ExpectUsageError(Cli({"rooms", "frobnicate"}), "frobnicate");
  ExpectUsageError(CliRaw({}), "missing command");
  // Nothing reached the server: no room was created by the rejected commands.
  const CliResult rooms = Cli({"rooms", "list", "-o", "json"});
  EXPECT_EQ(rooms.code, 0) << rooms;
  EXPECT_EQ(rooms.out, "") << rooms;

  const CliResult help = CliRaw({"--help"});
  EXPECT_EQ(help.code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(help.out, HasSubstr("participants list"));
}

TEST_F(CliTest, ServerFromEnvironmentAndUnreachableServer) {
  // ROLLCALL_SERVER is the default of --server.
  CliResult r = CliRaw({"rooms", "create", "from-env", "-o", "json"},
                       {"ROLLCALL_SERVER=" + server_.address()});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(ParseJsonLines<v1::Room>(r.out).at(0).unique_name(), "from-env");

  // A port nobody listens on: bound but not listening, so connections are refused.
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string dead = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  r = CliRaw({"--server", dead, "--timeout", "3s", "rooms", "list"});
  ExpectRpcError(r, 6, "UNAVAILABLE");
  r = CliRaw(
      {"--server", dead, "--timeout", "3s", "event", "connect", "--room", "r", "--identity", "x"});
  EXPECT_EQ(r.code, 6) << r;
  close(sock);

  // The server stopped: the same command that worked exits 6.
  const std::string address_before = server_.address();
  EXPECT_EQ(server_.Stop(), 0);
  r = CliRaw({"--server", address_before, "--timeout", "3s", "rooms", "get", "from-env"});
  EXPECT_EQ(r.code, 6) << r;
}

}  // namespace
}  // namespace rollcall::testing

namespace rollcall::testing {
namespace {

// rules set / rules get / tracks list (docs/tracks.md): rules in Twilio's JSON shape, bad
// JSON a usage error naming the rule, a server-side rule error INVALID_ARGUMENT.
TEST_F(CliTest, RulesAndTracks) {
  const std::string alice = "PA00000000000000000000000000000a11";
  const std::string bob = "PA00000000000000000000000000000b0b";
  ASSERT_EQ(
      Cli({"event", "connect", "--room", "tr", "--identity", "alice", "--participant", alice}).code,
      0);
  ASSERT_EQ(
      Cli({"event", "connect", "--room", "tr", "--identity", "bob", "--participant", bob}).code, 0);
  CliResult r = Cli({"rules", "get", bob});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("\"all\":true")) << "the default set";
  EXPECT_THAT(r.out, HasSubstr("\"type\":\"include\""));
  r = Cli(
      {"rules", "set", bob, "--rules",
       R"([{"type":"include","all":true},{"type":"exclude","kind":"video","publisher":"alice"}])"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("\"publisher\":\"alice\""));
  r = Cli({"rules", "get", bob, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("SUBSCRIBE_RULE_TYPE_EXCLUDE"));
  ExpectUsageError(Cli({"rules", "set", bob, "--rules", R"([{"type":"maybe"}])"}), "rules[0].type");
  ExpectRpcError(Cli({"rules", "set", bob, "--rules", R"([{"type":"include"}])"}), 4,
                 "INVALID_ARGUMENT");
  r = Cli({"tracks", "list", alice});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("SID")) << "a header, no tracks yet";
  r = Cli({"tracks", "list", bob, "--subscribed", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace rollcall::testing
