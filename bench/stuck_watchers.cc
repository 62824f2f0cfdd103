// rollcall-stuck-watchers: the hostile watcher of docs/security.md's limits, for measuring
// them. Opens --watchers Watch streams (optionally with send_initial_state) that never read a
// message, holds them for --hold, and prints the server's RSS before and after and how each
// stream ended (OK while still open, or the status the server ended it with).
//
//   rollcall-stuck-watchers --target=127.0.0.1:50051 --server_pid=1234 --watchers=2000
//   rollcall-stuck-watchers --watchers=10 --initial_state --hold=20s
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/process_stats.h"
#include "rollcall/v1/watch_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address (host:port)");
ABSL_FLAG(int, server_pid, 0, "The server's pid, for its RSS");
ABSL_FLAG(int, watchers, 2000, "Watch streams to open and never read");
ABSL_FLAG(int, channels, 8, "Client connections the streams share");
ABSL_FLAG(bool, initial_state, false, "Ask each stream for the initial state");
ABSL_FLAG(std::string, account, "", "Account to watch (empty: the server's default)");
ABSL_FLAG(absl::Duration, hold, absl::Seconds(15), "How long to hold the streams open");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const pid_t pid = absl::GetFlag(FLAGS_server_pid);
  auto rss = [pid] {
    auto sample = rollcall::bench::SampleProcess(pid);
    return sample ? sample->rss_mb : 0.0;
  };
  const double before = rss();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct connections
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReader<rollcall::v1::WatchResponse>> reader;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  rollcall::v1::WatchRequest request;
  request.set_account_sid(absl::GetFlag(FLAGS_account));
  request.set_send_initial_state(absl::GetFlag(FLAGS_initial_state));
  for (int i = 0; i < absl::GetFlag(FLAGS_watchers); ++i) {
    auto call = std::make_unique<Call>();
    auto stub = rollcall::v1::WatchService::NewStub(channels[i % channels.size()]);
    call->reader = stub->AsyncWatch(&call->context, request, &cq, call.get());
    calls.push_back(std::move(call));
  }
  // Started, never read: only the start tags are taken off the queue.
  for (size_t i = 0; i < calls.size(); ++i) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
  }
  // Finish (not Read) tells how a stream ended without taking any message off it.
  for (auto& call : calls) call->reader->Finish(&call->status, &call->context);
  const absl::Time until = absl::Now() + absl::GetFlag(FLAGS_hold);
  double peak = before;
  std::map<int, int> ended;
  while (absl::Now() < until) {
    void* tag = nullptr;
    bool ok = false;
    const auto deadline = absl::ToChronoTime(absl::Now() + absl::Milliseconds(200));
    if (cq.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      ++ended[static_cast<Call*>(tag)->status.error_code()];
    }
    peak = std::max(peak, rss());
  }
  std::cout << "server RSS before " << before << " MB, peak " << peak << " MB, after " << rss()
            << " MB with " << calls.size() << " streams not reading\n";
  for (const auto& [code, count] : ended) {
    std::cout << "  ended with code " << code << ": " << count << "\n";
  }
  std::cout.flush();
  std::_Exit(0);  // without draining the streams one by one
}
