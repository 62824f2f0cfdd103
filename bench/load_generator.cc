// rollcall-load: a first, minimal load generator (closed loop). It drives RecordEvent with K
// calls in flight, or StreamEvents with S streams of M-event messages, against a running
// rollcalld and prints events/s. The benchmark issue grows this into the full suite
// (workloads, open loop, latency percentiles, baseline ratios).
//
//   rollcall-load --server=127.0.0.1:50051 --mode=unary --in_flight=64 --events=200000
//   rollcall-load --mode=stream --streams=4 --batch=500 --events=1000000
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "rollcalld address");
ABSL_FLAG(std::string, mode, "stream", "unary or stream");
ABSL_FLAG(int, in_flight, 64, "unary: calls in flight (one thread each)");
ABSL_FLAG(int, streams, 4, "stream: concurrent StreamEvents calls");
ABSL_FLAG(int, batch, 500, "stream: events per message");
ABSL_FLAG(int64_t, events, 200000, "events to send in all");
ABSL_FLAG(
    int, rooms, 0,
    "rooms the participants are spread over (0: one per 40 events, under the 50-participant cap)");

namespace {

using rollcall::v1::Event;

// Every event is a CONNECTED of a fresh identity, each in one of `rooms` rooms: real work
// (a new participant record, a change-log entry) with no rejections.
void FillEvent(Event* event, const std::string& run, int64_t n, int rooms) {
  event->set_event_id(absl::StrCat(run, "-", n));
  event->set_type(rollcall::v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
  const absl::Time now = absl::Now();
  event->mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(now));
  event->set_room(absl::StrCat(run, "-room-", n % rooms));
  event->set_identity(absl::StrCat("user-", n));
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& server, int index) {
  grpc::ChannelArguments args;
  args.SetInt("rollcall.load.channel", index);  // distinct connections
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string server = absl::GetFlag(FLAGS_server);
  const int64_t total = absl::GetFlag(FLAGS_events);
  const int rooms = absl::GetFlag(FLAGS_rooms) > 0
                        ? absl::GetFlag(FLAGS_rooms)
                        : static_cast<int>(std::max<int64_t>(1, total / 40));
  const std::string run = absl::StrCat("load-", absl::ToUnixNanos(absl::Now()));
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();

  if (absl::GetFlag(FLAGS_mode) == "unary") {
    const int workers = absl::GetFlag(FLAGS_in_flight);
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        auto stub = rollcall::v1::IngestService::NewStub(NewChannel(server, w % 8));
        for (int64_t n = next++; n < total; n = next++) {
          rollcall::v1::RecordEventRequest request;
          FillEvent(request.mutable_event(), run, n, rooms);
          rollcall::v1::RecordEventResponse response;
          grpc::ClientContext context;
          if (!stub->RecordEvent(&context, request, &response).ok()) ++errors;
        }
      });
    }
  } else {
    const int streams = absl::GetFlag(FLAGS_streams);
    const int batch = absl::GetFlag(FLAGS_batch);
    for (int s = 0; s < streams; ++s) {
      threads.emplace_back([&, s] {
        auto stub = rollcall::v1::IngestService::NewStub(NewChannel(server, s));
        grpc::ClientContext context;
        auto stream = stub->StreamEvents(&context);
        while (true) {
          const int64_t first = next.fetch_add(batch);
          if (first >= total) break;
          rollcall::v1::StreamEventsRequest request;
          for (int64_t n = first; n < std::min(total, first + batch); ++n) {
            FillEvent(request.add_events(), run, n, rooms);
          }
          rollcall::v1::StreamEventsResponse response;
          if (!stream->Write(request) || !stream->Read(&response)) {
            ++errors;
            break;
          }
          for (const auto& result : response.results()) {
            if (result.code() != 0) ++errors;
          }
        }
        stream->WritesDone();
        stream->Finish();
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("mode=%s events=%lld seconds=%.2f events_per_second=%.0f errors=%lld\n",
              absl::GetFlag(FLAGS_mode).c_str(), static_cast<long long>(total), seconds,
              static_cast<double>(total) / seconds, static_cast<long long>(errors.load()));
  return errors.load() == 0 ? 0 : 1;
}
