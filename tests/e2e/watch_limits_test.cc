// End-to-end tests of the watch limits and the room contract against the real rollcalld:
// each limit is refused RESOURCE_EXHAUSTED naming its flag and leaves the watchers already open
// (of this account and of others) streaming; a room the account does not have is NOT_FOUND.
// The rules themselves are unit-tested in tests/service/watch_core_test.cc.
#include <httplib.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_process.h"
#include "watch_client.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kAccountA[] = "AC00000000000000000000000000000000";
constexpr char kAccountB[] = "AC0000000000000000000000000000000b";

// The value of an unlabelled gauge on /metrics, or -1 when the scrape fails or lacks it.
int Gauge(int metrics_port, const std::string& name) {
  httplib::Client http("127.0.0.1", metrics_port);
  httplib::Result response = http.Get("/metrics");
  if (!response || response->status != 200) return -1;
  std::istringstream lines(response->body);
  const std::string prefix = name + " ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stoi(line.substr(prefix.size()));
  }
  return -1;
}

// Waits until the server counts `open` Watch streams: watches opened one after another on
// different channels may otherwise reach the server in another order.
bool WaitForWatchers(const ServerProcess& server, int open) {
  return WaitUntil([&] { return Gauge(server.metrics_port(), "rollcall_watchers") == open; },
                   std::chrono::seconds(30));
}

TEST(WatchLimits, EachLimitIsResourceExhaustedNamingItsFlagAndOthersKeepStreaming) {
  ServerProcess server({"--watch_max_watchers_per_account=2", "--watch_max_watchers=3",
                        "--watch_max_snapshots=1", "--reconnect_timeout=10m"});
  ASSERT_TRUE(server.Start());
  Client client(server.Channel());
  client.CreateRoom("main");

  // A snapshot that is not read holds its slot.
  WatchStream::Options idle;
  idle.read = false;
  // Each opens once the server counts the one before it, so the refused one is the third.
  WatchStream snapshot(server.NewChannel(), WatchFrom(kAccountA, 0, "", true), idle);
  ASSERT_TRUE(WaitForWatchers(server, 1));
  WatchStream a(server.Channel(), WatchFrom(kAccountA, 0));
  ASSERT_TRUE(WaitForWatchers(server, 2));
  WatchStream a_refused(server.Channel(), WatchFrom(kAccountA, 0));
  ASSERT_TRUE(a_refused.WaitDone());
  EXPECT_EQ(a_refused.status().error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_THAT(a_refused.status().error_message(), HasSubstr("--watch_max_watchers_per_account"));

  WatchStream b(server.Channel(), WatchFrom(kAccountB, 0));
  ASSERT_TRUE(WaitForWatchers(server, 3));
  WatchStream b_refused(server.Channel(), WatchFrom(kAccountB, 0));
  ASSERT_TRUE(b_refused.WaitDone());
  EXPECT_EQ(b_refused.status().error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_THAT(b_refused.status().error_message(), HasSubstr("--watch_max_watchers"));

  // The ones open still stream.
  const uint64_t revision = client.Connect("main", "ada").participant().revision();
  EXPECT_TRUE(a.WaitForRevision(revision));
  EXPECT_FALSE(a.done());
  EXPECT_FALSE(b.done());
  EXPECT_FALSE(snapshot.done());
}

TEST(WatchLimits, ConcurrentSnapshotsAreLimited) {
  ServerProcess server({"--watch_max_snapshots=1", "--reconnect_timeout=10m", "--sync=false"});
  ASSERT_TRUE(server.Start());
  Client client(server.Channel());
  client.CreateRoom("main");
  // Enough records that an unread snapshot cannot fit in the transport's window.
  for (int i = 0; i < 2000; ++i) {
    client.Connect("room-" + std::to_string(i / 40), "user-" + std::to_string(i));
  }
  WatchStream::Options idle;
  idle.read = false;
  // A client that never reads and never widens its window: without BDP probing its transport
  // takes in at most a small fixed window, so the server cannot finish the snapshot.
  grpc::ChannelArguments narrow;
  narrow.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  narrow.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  WatchStream held(server.NewChannel(narrow), WatchFrom(kAccountA, 0, "", true), idle);
  // The first one holds its snapshot (unread, it cannot finish); the second is refused. The
  // second opens only once the server counts the first's snapshot (else it could win the slot).
  ASSERT_TRUE(
      WaitUntil([&] { return Gauge(server.metrics_port(), "rollcall_watch_snapshots") == 1; },
                std::chrono::seconds(30)));
  WatchStream second(server.Channel(), WatchFrom(kAccountA, 0, "", true));
  ASSERT_TRUE(second.WaitDone());
  EXPECT_EQ(second.status().error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_THAT(second.status().error_message(), HasSubstr("--watch_max_snapshots"));
  // A watch without initial state is not limited by it.
  WatchStream plain(server.Channel(), WatchFrom(kAccountA, 0));
  const uint64_t revision = client.Connect("main", "late").participant().revision();
  EXPECT_TRUE(plain.WaitForRevision(revision));
}

// A zero progress interval would make the watch thread spin: refused at start, flag named.
TEST(WatchLimits, ANonPositiveProgressIntervalStopsStartUp) {
  for (const char* value : {"0s", "-1s"}) {
    const auto [code, log] = RunToExit({std::string("--watch_progress_interval=") + value});
    EXPECT_EQ(code, 2) << value;
    EXPECT_THAT(log, HasSubstr("--watch_progress_interval: must be positive")) << value;
  }
}

TEST(WatchRooms, ARoomTheAccountDoesNotHaveIsNotFoundByNameOrSid) {
  ServerProcess server({"--reconnect_timeout=10m"});
  ASSERT_TRUE(server.Start());
  Client client(server.Channel());
  const v1::Room room = client.CreateRoom("main");
  const std::string unknown_sid = "RM0123456789abcdef0123456789abcdef";
  for (const wv1::WatchRequest& request :
       {WatchFrom(kAccountA, 0, unknown_sid), WatchFrom(kAccountA, 0, "nosuchroom"),
        WatchFrom(kAccountB, 0, room.sid()), WatchFrom(kAccountB, 0, "main")}) {
    WatchStream stream(server.Channel(), request);
    ASSERT_TRUE(stream.WaitDone()) << request.DebugString();
    EXPECT_EQ(stream.status().error_code(), grpc::NOT_FOUND) << request.DebugString();
    EXPECT_THAT(stream.status().error_message(), HasSubstr("room")) << request.DebugString();
  }
  // The account's own room, by SID or name, is watched.
  WatchStream by_sid(server.Channel(), WatchFrom(kAccountA, 0, room.sid()));
  WatchStream by_name(server.Channel(), WatchFrom(kAccountA, 0, "main"));
  const uint64_t revision = client.Connect("main", "ada").participant().revision();
  EXPECT_TRUE(by_sid.WaitForRevision(revision));
  EXPECT_TRUE(by_name.WaitForRevision(revision));
}

}  // namespace
}  // namespace rollcall::testing
