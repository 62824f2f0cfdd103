// Shutdown, end to end against the real rollcalld: every call that does not complete at
// SIGTERM ends UNAVAILABLE, never CANCELLED — unary writes and reads, StreamEvents, Watch, and
// calls that arrive while the shutdown starts — and every event that got OK is in the store
// after a restart.
//
// Concurrent clients fire without pause through three start/SIGTERM cycles, so calls land at
// every offset around the signal: unary writers and readers, StreamEvents streams, watchers
// that reopen at once after each end (the shutdown notice included), and at each SIGTERM a
// burst of fresh connections that each send one event just as the shutdown starts.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "gtest/gtest.h"
#include "rollcall/v1/watch_service.grpc.pb.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

constexpr int kCycles = 3;
constexpr int kWriters = 3;
constexpr int kReaders = 2;
constexpr int kStreamers = 2;
constexpr int kWatchers = 6;
constexpr int kBurst = 12;

// What every call ended with, by kind of call, and the events acknowledged OK.
class Tally {
 public:
  void Count(const std::string& kind, const grpc::Status& status) {
    std::lock_guard lock(mu_);
    ++codes_[kind][status.error_code()];
    if (!status.ok()) messages_[status.error_code()] = kind + ": " + status.error_message();
  }
  void Acked(const v1::Event& event, uint64_t revision) {
    std::lock_guard lock(mu_);
    acks_.push_back({event, revision});
  }
  size_t acked() const {
    std::lock_guard lock(mu_);
    return acks_.size();
  }

  // Every call ended OK or UNAVAILABLE; each kind of call was made, and the clients that keep
  // calling until the server is gone had some refused. (The burst at the signal may land wholly
  // in the drain delay and succeed: its point is that none ends CANCELLED.)
  void Check() const {
    std::lock_guard lock(mu_);
    for (const auto& [kind, codes] : codes_) {
      for (const auto& [code, count] : codes) {
        EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE)
            << kind << ": " << count << " calls ended with code " << code << " ("
            << messages_.at(code) << ")";
      }
    }
    ASSERT_TRUE(codes_.count("burst")) << "no burst call was made";
    for (const char* kind : {"RecordEvent", "GetRoom", "StreamEvents", "Watch"}) {
      ASSERT_TRUE(codes_.count(kind)) << "no " << kind << " call was made";
      EXPECT_GT(codes_.at(kind).count(grpc::StatusCode::UNAVAILABLE), 0u)
          << "no " << kind << " call was caught by a shutdown";
    }
  }

  std::string Summary() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [kind, codes] : codes_) {
      out += kind + ":";
      for (const auto& [code, count] : codes) {
        out += " " + std::to_string(code) + "x" + std::to_string(count);
      }
      out += "; ";
    }
    return out;
  }

  std::vector<AckedEvent> acks() const {
    std::lock_guard lock(mu_);
    return acks_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<int, int>> codes_;
  std::map<int, std::string> messages_;
  std::vector<AckedEvent> acks_;
};

v1::Event Stamped(v1::Event event, const std::string& account) {
  event.set_account_sid(account);
  return event;
}

// One cycle's clients, running until `stop`. The threads outlive this call: they copy `cycle`
// (the caller's is a temporary) and refer only to the caller's longer-lived objects.
void RunClients(ServerProcess& server, const std::string& account, const std::string& cycle,
                const std::string& room_sid, Tally& tally, std::atomic<bool>& stop,
                std::vector<std::thread>& threads) {
  for (int c = 0; c < kWriters; ++c) {
    threads.emplace_back([&, c, cycle, channel = server.NewChannel()] {
      Client client(channel, account);
      for (int n = 0; !stop; ++n) {
        const v1::Event event = Stamped(
            ConnectedEvent("sd-" + cycle + "-" + std::to_string(c) + "-" + std::to_string(n / 40),
                           "w" + std::to_string(n)),
            account);
        v1::RecordEventResponse response;
        const grpc::Status status = client.Record(event, &response);
        tally.Count("RecordEvent", status);
        if (status.ok()) tally.Acked(event, response.revision());
      }
    });
  }
  for (int c = 0; c < kReaders; ++c) {
    threads.emplace_back([&, channel = server.NewChannel()] {
      Client client(channel, account);
      while (!stop) {
        v1::GetRoomRequest request;
        request.set_room(room_sid);
        tally.Count("GetRoom", client.GetRoom(request));
      }
    });
  }
  for (int c = 0; c < kStreamers; ++c) {
    threads.emplace_back([&, c, cycle, channel = server.NewChannel()] {
      Client client(channel, account);
      for (int n = 0; !stop;) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        auto stream = client.ingest().StreamEvents(&context);
        while (!stop) {
          v1::StreamEventsRequest request;
          for (int k = 0; k < 10; ++k, ++n) {
            *request.add_events() = Stamped(ConnectedEvent("ss-" + cycle + "-" + std::to_string(c) +
                                                               "-" + std::to_string(n / 40),
                                                           "s" + std::to_string(n)),
                                            account);
          }
          v1::StreamEventsResponse response;
          if (!stream->Write(request) || !stream->Read(&response)) break;
          for (int k = 0; k < response.results_size(); ++k) {
            if (response.results(k).code() == 0) {
              tally.Acked(request.events(k), response.results(k).revision());
            }
          }
        }
        stream->WritesDone();
        tally.Count("StreamEvents", stream->Finish());
      }
    });
  }
  for (int c = 0; c < kWatchers; ++c) {
    threads.emplace_back([&, channel = server.NewChannel()] {
      auto stub = v1::WatchService::NewStub(channel);
      while (!stop) {  // reopens at once, the shutdown notice included
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::WatchRequest request;
        request.set_account_sid(account);
        auto reader = stub->Watch(&context, request);
        v1::WatchResponse response;
        while (reader->Read(&response)) {
        }
        tally.Count("Watch", reader->Finish());
      }
    });
  }
}

TEST(ShutdownTest, EveryCallAroundSigtermEndsOkOrUnavailableAndNoAckIsLost) {
  // The clients connect a new participant with every call until the server is gone: on a fast
  // machine that passes the per-account quota, which this test is not about.
  ServerProcess server({"--reconnect_timeout=10m", "--max_account_participants=100000000",
                        "--max_account_rooms=100000000"});
  const std::string account = NewAccountSid();
  Tally tally;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    ASSERT_TRUE(server.Start());
    std::string room_sid;
    {
      Client setup(server.Channel(), account);
      v1::CreateRoomRequest create;
      create.set_unique_name("readers-" + std::to_string(cycle));
      v1::CreateRoomResponse created;
      ASSERT_TRUE(setup.CreateRoom(create, &created).ok());
      room_sid = created.room().sid();
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    RunClients(server, account, std::to_string(cycle), room_sid, tally, stop, threads);
    const size_t before = tally.acked();
    ASSERT_TRUE(WaitUntil([&] { return tally.acked() >= before + 200; }))
        << "the clients made no progress: " << tally.Summary();

    // The burst: fresh connections, each sending one event as the shutdown starts.
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int b = 0; b < kBurst; ++b) channels.push_back(server.NewChannel());
    server.SendTerm();
    std::vector<std::thread> burst;
    for (int b = 0; b < kBurst; ++b) {
      burst.emplace_back([&, b] {
        Client client(channels[static_cast<size_t>(b)], account);
        const v1::Event event = Stamped(
            ConnectedEvent("sb-" + std::to_string(cycle), "b" + std::to_string(b)), account);
        v1::RecordEventResponse response;
        const grpc::Status status = client.Record(event, &response);
        tally.Count("burst", status);
        if (status.ok()) tally.Acked(event, response.revision());
      });
    }
    const int exit_code = server.Wait();
    stop = true;
    for (std::thread& thread : burst) thread.join();
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(exit_code, 0) << server.Log();
  }
  tally.Check();
  std::cout << "shutdown: " << tally.Summary() << std::endl;

  // Every acknowledged event is in the store, with the revision it was given.
  ASSERT_TRUE(server.Start());
  Client after(server.Channel(), account);
  ExpectEveryAckDurable(after, tally.acks());
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace rollcall::testing
