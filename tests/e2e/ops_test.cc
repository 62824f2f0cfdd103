// Operations, end to end against the real rollcalld (docs/operations.md):
// 1. /metrics after known traffic: every counter, gauge and histogram count checked.
// 2. Graceful drain under load: SIGTERM during ingest with open watchers. Readiness turns
//    NOT_SERVING while liveness stays SERVING and calls still succeed; watchers end
//    UNAVAILABLE with a resume trailer; the process exits 0 within its grace period; and after
//    a restart every acknowledged event is there (a resend is DUPLICATE with its revision).
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_process.h"
#include "watch_client.h"

namespace rollcall::testing {
namespace {

using Clock = std::chrono::steady_clock;

// One scrape, as series text ("name{labels}") -> value. Also checks the exposition format:
// every sample's metric has a # TYPE line before it.
class Scrape {
 public:
  explicit Scrape(int port) {
    httplib::Client client("127.0.0.1", port);
    httplib::Result response = client.Get("/metrics");
    if (!response) {
      ADD_FAILURE() << "GET /metrics failed: " << httplib::to_string(response.error());
      return;
    }
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Content-Type"),
              "text/plain; version=0.0.4; charset=utf-8");
    std::istringstream lines(response->body);
    std::string line;
    std::set<std::string> typed;
    while (std::getline(lines, line)) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream words(line.substr(7));
        std::string name;
        words >> name;
        typed.insert(name);
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      if (space == std::string::npos) {
        ADD_FAILURE() << "not a sample: " << line;
        continue;
      }
      const std::string series = line.substr(0, space);
      std::string name = series.substr(0, series.find('{'));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (!typed.contains(name) && name.size() > s.size() &&
            name.compare(name.size() - s.size(), s.size(), s) == 0) {
          name.resize(name.size() - s.size());
        }
      }
      EXPECT_TRUE(typed.contains(name)) << "no # TYPE before " << line;
      values_[series] = std::stod(line.substr(space + 1));
    }
  }

  // The value of a series, or -1 when absent.
  double operator[](const std::string& series) const {
    auto it = values_.find(series);
    return it == values_.end() ? -1 : it->second;
  }

 private:
  std::map<std::string, double> values_;
};

std::string Events(const std::string& type, const std::string& outcome) {
  return "rollcall_events_total{type=\"" + type + "\",outcome=\"" + outcome + "\"}";
}
std::string Rpcs(const std::string& method, const std::string& code) {
  return "rollcall_rpcs_total{method=\"rollcall.v1." + method + "\",code=\"" + code + "\"}";
}

TEST(OpsTest, MetricsCountKnownTrafficExactly) {
  ServerProcess server({"--store=memory"});
  ASSERT_TRUE(server.Start());
  ASSERT_GT(server.metrics_port(), 0);
  {
    const Scrape fresh(server.metrics_port());
    EXPECT_EQ(fresh["rollcall_revision"], 0);
    EXPECT_EQ(fresh["rollcall_participants_active"], 0);
    EXPECT_EQ(fresh["rollcall_ingest_latency_seconds_count"], 0);
  }

  const std::string account = NewAccountSid();
  Client client(server.Channel(), account);
  // RecordEvent: 3 CONNECTED applied (two rooms), 1 resent (DUPLICATE), 1 without identity
  // (INVALID_ARGUMENT), 1 unknown type (INVALID_ARGUMENT), 1 RECONNECTING, 1 DISCONNECTED.
  const v1::Event first = ConnectedEvent("metrics-a", "alice");
  const std::string alice = client.MustApply(first).participant().sid();
  const std::string bob = client.Connect("metrics-a", "bob").participant().sid();
  client.Connect("metrics-b", "carol");
  EXPECT_EQ(client.MustRecord(first).outcome(), v1::EVENT_OUTCOME_DUPLICATE);
  v1::Event no_identity = ConnectedEvent("metrics-a", "");
  EXPECT_EQ(client.Record(no_identity).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::Event unknown_type = ConnectedEvent("metrics-a", "dave");
  unknown_type.set_type(static_cast<v1::EventType>(9));
  EXPECT_EQ(client.Record(unknown_type).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  client.Reconnecting("metrics-a", alice);
  client.Disconnect("metrics-a", bob);
  // StreamEvents: one message of 2 CONNECTED and 1 DISCONNECTED of an unknown participant.
  const std::vector<v1::EventResult> results =
      client.StreamOnce({ConnectedEvent("metrics-c", "erin"), ConnectedEvent("metrics-c", "frank"),
                         DisconnectedEvent("metrics-c", NewParticipantSid())});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].code(), grpc::StatusCode::NOT_FOUND);
  // Reads: one found, one not.
  v1::GetParticipantRequest get;
  get.set_room("metrics-a");
  get.set_participant_sid(alice);
  EXPECT_TRUE(client.GetParticipant(get).ok());
  get.set_participant_sid(NewParticipantSid());
  EXPECT_EQ(client.GetParticipant(get).error_code(), grpc::StatusCode::NOT_FOUND);
  // Two watchers stay open.
  WatchStream watch_all(server.NewChannel(), WatchFrom(account, 0));
  WatchStream watch_room(server.NewChannel(), WatchFrom(account, 0, "metrics-b"));
  ASSERT_TRUE(WaitUntil([&] { return Scrape(server.metrics_port())["rollcall_watchers"] == 2; }));

  const Scrape scrape(server.metrics_port());
  EXPECT_EQ(scrape[Events("connected", "applied")], 5);
  EXPECT_EQ(scrape[Events("connected", "duplicate")], 1);
  EXPECT_EQ(scrape[Events("connected", "invalid_argument")], 1);
  EXPECT_EQ(scrape[Events("unknown", "invalid_argument")], 1);
  EXPECT_EQ(scrape[Events("reconnecting", "applied")], 1);
  EXPECT_EQ(scrape[Events("disconnected", "applied")], 1);
  EXPECT_EQ(scrape[Events("disconnected", "not_found")], 1);

  EXPECT_EQ(scrape[Rpcs("IngestService/RecordEvent", "ok")], 6);
  EXPECT_EQ(scrape[Rpcs("IngestService/RecordEvent", "invalid_argument")], 2);
  EXPECT_EQ(scrape[Rpcs("IngestService/StreamEvents", "ok")], 1);
  EXPECT_EQ(scrape[Rpcs("ParticipantService/GetParticipant", "ok")], 1);
  EXPECT_EQ(scrape[Rpcs("ParticipantService/GetParticipant", "not_found")], 1);

  // Each applied event is one revision (a room created by its first CONNECTED is part of
  // that event's revision): 5 CONNECTED, 1 RECONNECTING, 1 DISCONNECTED.
  const uint64_t revision = client.Probe() - 1;  // the probe itself is one more
  EXPECT_EQ(scrape["rollcall_revision"], static_cast<double>(revision));
  EXPECT_EQ(revision, 7u) << "5 connects, 1 reconnecting, 1 disconnect";
  EXPECT_EQ(scrape["rollcall_rooms_active"], 3);
  EXPECT_EQ(scrape["rollcall_participants_active"], 4);  // alice (reconnecting), carol, erin, frank
  EXPECT_EQ(scrape["rollcall_watchers"], 2);
  EXPECT_EQ(scrape["rollcall_watch_slow_terminations_total"], 0);
  EXPECT_EQ(scrape["rollcall_applier_failed_writes_total"], 0);

  // Latency: one observation per RecordEvent call (8) and per StreamEvents message (1).
  EXPECT_EQ(scrape["rollcall_ingest_latency_seconds_count"], 9);
  EXPECT_EQ(scrape["rollcall_ingest_latency_seconds_bucket{le=\"+Inf\"}"], 9);
  EXPECT_GT(scrape["rollcall_ingest_latency_seconds_sum"], 0);
  // Every input that reached the applier is in some batch: 6 RecordEvents that passed
  // conversion (5 outcomes, the duplicate), the one without identity (the state machine's
  // validation rejects it), and the stream's 3. The unknown type never got that far.
  EXPECT_EQ(scrape["rollcall_applier_batch_inputs_sum"], 10);
  EXPECT_GE(scrape["rollcall_applier_batch_inputs_count"], 1);
  EXPECT_LE(scrape["rollcall_applier_batch_inputs_count"], 10);
  // Commits: one store write per batch with an applied revision, 7 revisions at most 7 writes.
  EXPECT_GE(scrape["rollcall_applier_commit_seconds_count"], 1);
  EXPECT_LE(scrape["rollcall_applier_commit_seconds_count"], 7);

  // Counters only grow: a second scrape after more traffic moves them by exactly that.
  client.Connect("metrics-b", "grace");
  const Scrape after(server.metrics_port());
  EXPECT_EQ(after[Events("connected", "applied")], 6 + 1);  // + the probe
  EXPECT_EQ(after[Rpcs("IngestService/RecordEvent", "ok")], 6 + 2);
  EXPECT_EQ(after["rollcall_revision"], static_cast<double>(revision + 2));
}

TEST(OpsTest, MetricsCanBeTurnedOffAndABusyPortStopsStartUp) {
  ServerProcess first({"--store=memory"});
  ASSERT_TRUE(first.Start());
  ASSERT_GT(first.metrics_port(), 0);
  // The same metrics port again: a second server must not start (no silent sharing).
  TempDir dir;
  const std::string command =
      std::string(ROLLCALLD_PATH) + " --listen=127.0.0.1:0 --store=memory --metrics_port=" +
      std::to_string(first.metrics_port()) + " > " + dir.path() + "/log 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream log(dir.path() + "/log");
  const std::string text(std::istreambuf_iterator<char>(log), {});
  EXPECT_THAT(text, ::testing::HasSubstr("--metrics_port: cannot listen on 127.0.0.1:" +
                                         std::to_string(first.metrics_port())));

  ServerProcess off({"--store=memory", "--metrics_port=-1"});
  ASSERT_TRUE(off.Start());
  EXPECT_EQ(off.metrics_port(), -1);
  EXPECT_EQ(off.Stop(), 0);
}

// -------------------------------------------------------------------------------------------
// Drain.

TEST(OpsTest, SigtermDrainsGracefullyUnderLoadAndLosesNoAcknowledgedEvent) {
  constexpr auto kDrainDelay = std::chrono::milliseconds(1500);
  constexpr auto kGrace = std::chrono::seconds(10);
  // The clients connect a new participant with every call until the server is gone: on a fast
  // machine that passes the per-account quota, which this test is not about.
  ServerProcess server({"--drain_delay=1500ms", "--reconnect_timeout=10m",
                        "--max_account_participants=100000000", "--max_account_rooms=100000000"});
  ASSERT_TRUE(server.Start());
  const std::string account = NewAccountSid();

  // Watchers over the whole account, from the start.
  std::vector<std::unique_ptr<WatchStream>> watchers;
  for (int i = 0; i < 5; ++i) {
    watchers.push_back(std::make_unique<WatchStream>(server.NewChannel(), WatchFrom(account, 1)));
  }

  // Ingest: 4 unary clients and 1 streaming client, until the server stops taking calls.
  std::mutex mu;
  std::vector<AckedEvent> acks;
  std::map<int, int> codes;             // status code -> calls
  std::map<int, std::string> messages;  // status code -> a message seen with it
  std::atomic<bool> stop{false};
  std::atomic<int64_t> term_at_ns{0};
  std::atomic<int> ok_after_term{0};
  auto now_ns = [] { return Clock::now().time_since_epoch().count(); };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      Client client(server.NewChannel(), account);
      for (int n = 0; !stop; ++n) {
        v1::Event event =
            ConnectedEvent("drain-" + std::to_string(c) + "-" + std::to_string(n / 40),
                           "u" + std::to_string(c) + "-" + std::to_string(n));
        event.set_account_sid(account);
        v1::RecordEventResponse response;
        const grpc::Status status = client.Record(event, &response);
        std::lock_guard lock(mu);
        ++codes[status.error_code()];
        if (!status.ok()) messages[status.error_code()] = status.error_message();
        if (status.ok()) {
          acks.push_back({event, response.revision()});
          if (term_at_ns != 0) ++ok_after_term;
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          break;  // the server has stopped taking calls
        }
      }
    });
  }
  clients.emplace_back([&] {
    Client client(server.NewChannel(), account);
    grpc::ClientContext context;
    auto stream = client.ingest().StreamEvents(&context);
    for (int n = 0; !stop; ++n) {
      v1::StreamEventsRequest request;
      std::vector<v1::Event> sent;
      for (int k = 0; k < 20; ++k) {
        v1::Event event = ConnectedEvent("drain-s-" + std::to_string(n / 2),
                                         "s-" + std::to_string(n) + "-" + std::to_string(k));
        event.set_account_sid(account);
        *request.add_events() = event;
        sent.push_back(event);
      }
      v1::StreamEventsResponse response;
      if (!stream->Write(request) || !stream->Read(&response)) break;
      std::lock_guard lock(mu);
      for (int k = 0; k < response.results_size(); ++k) {
        if (response.results(k).code() == 0)
          acks.push_back({sent[k], response.results(k).revision()});
      }
    }
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    std::lock_guard lock(mu);
    ++codes[status.error_code()];
    if (!status.ok()) messages[status.error_code()] = status.error_message();
  });

  // Health, polled throughout: what readiness and liveness said, and when.
  Client health(server.NewChannel());
  std::atomic<int64_t> not_ready_at_ns{0};
  std::atomic<bool> live_while_not_ready{false};
  std::atomic<bool> not_live_while_ready{false};
  std::thread poller([&] {
    while (!stop) {
      const int readiness = health.HealthStatus("readiness");
      const int liveness = health.HealthStatus("liveness");
      if (readiness == 2 && not_ready_at_ns == 0) not_ready_at_ns = now_ns();  // NOT_SERVING
      if (readiness == 2 && liveness == 1) live_while_not_ready = true;
      if (readiness == 1 && liveness != 1) not_live_while_ready = true;
      if (readiness == -1 && term_at_ns != 0) break;  // no longer answering
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu);
    return acks.size() >= 500;
  }));
  ASSERT_EQ(health.HealthStatus("readiness"), 1) << "ready before SIGTERM";
  term_at_ns = now_ns();
  server.SendTerm();
  const int exit_code = server.Wait();
  const auto exited = std::chrono::nanoseconds(now_ns() - term_at_ns);
  stop = true;
  for (std::thread& client : clients) client.join();
  poller.join();

  EXPECT_EQ(exit_code, 0) << server.Log();
  EXPECT_LT(exited, kDrainDelay + kGrace) << "did not exit within its drain delay + grace";
  // Readiness turned NOT_SERVING first, while the process was alive and still serving.
  ASSERT_NE(not_ready_at_ns.load(), 0) << "never saw readiness NOT_SERVING";
  EXPECT_LT(std::chrono::nanoseconds(not_ready_at_ns - term_at_ns), kDrainDelay);
  EXPECT_TRUE(live_while_not_ready) << "liveness must stay SERVING while readiness is off";
  EXPECT_FALSE(not_live_while_ready);
  EXPECT_GT(ok_after_term.load(), 0) << "calls during the drain delay must still succeed";
  // Calls ended OK or UNAVAILABLE (refused once draining), never anything else (CANCELLED
  // included).
  for (const auto& [code, count] : codes) {
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE)
        << count << " calls ended with code " << code << ": " << messages[code];
  }
  // Watchers ended UNAVAILABLE with a resume point just past what each received.
  for (const auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitDone());
    EXPECT_EQ(watcher->status().error_code(), grpc::StatusCode::UNAVAILABLE)
        << watcher->status().error_message();
    const std::optional<uint64_t> resume = watcher->trailer_revision("rollcall-resume-revision");
    ASSERT_TRUE(resume.has_value()) << "no rollcall-resume-revision trailer";
    EXPECT_EQ(*resume, watcher->last_revision() + 1);
  }

  // Restart: every acknowledged event is there, once, with the revision it was given.
  std::vector<AckedEvent> acked;
  {
    std::lock_guard lock(mu);
    acked = acks;
  }
  ASSERT_GE(acked.size(), 500u);
  ASSERT_TRUE(server.Start());
  Client after(server.Channel(), account);
  ExpectEveryAckDurable(after, acked);
  std::cout << "drain: " << acked.size() << " acknowledged events, " << ok_after_term.load()
            << " of them during the drain delay; exit 0 after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(exited).count() << " ms"
            << std::endl;
}

}  // namespace
}  // namespace rollcall::testing
