// An in-process fake of rollcalld's gRPC API for testing the `rollcall` client: every RPC
// records its request and answers with whatever the test scripted (UNIMPLEMENTED when
// nothing was). Listens on 127.0.0.1 port 0.
#ifndef ROLLCALL_TESTS_CLI_FAKE_SERVER_H_
#define ROLLCALL_TESTS_CLI_FAKE_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"
#include "rollcall/v1/participant_service.grpc.pb.h"
#include "rollcall/v1/room_service.grpc.pb.h"
#include "rollcall/v1/watch_service.grpc.pb.h"

namespace rollcall::cli::testing {

template <typename Request, typename Response>
using Handler = std::function<grpc::Status(const Request&, Response*)>;

// Calls `handler` (or answers UNIMPLEMENTED) after appending `request` to `log`.
template <typename Request, typename Response>
grpc::Status Serve(absl::Mutex& mu, std::vector<Request>& log,
                   const Handler<Request, Response>& handler, const Request& request,
                   Response* response) {
  Handler<Request, Response> h;
  {
    absl::MutexLock lock(&mu);
    log.push_back(request);
    h = handler;
  }
  if (!h) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not scripted");
  return h(request, response);
}

class FakeIngest final : public v1::IngestService::Service {
 public:
  grpc::Status RecordEvent(grpc::ServerContext* context, const v1::RecordEventRequest* request,
                           v1::RecordEventResponse* response) override {
    {
      absl::MutexLock lock(&mu);
      std::vector<std::string> values;
      const auto range = context->client_metadata().equal_range("authorization");
      for (auto it = range.first; it != range.second; ++it) {
        values.emplace_back(it->second.data(), it->second.size());
      }
      authorizations.push_back(std::move(values));
    }
    return Serve(mu, record_requests, record, *request, response);
  }

  absl::Mutex mu;
  // Per call, every `authorization` metadata value the client sent.
  std::vector<std::vector<std::string>> authorizations;
  Handler<v1::RecordEventRequest, v1::RecordEventResponse> record;
  std::vector<v1::RecordEventRequest> record_requests;
};

class FakeParticipants final : public v1::ParticipantService::Service {
 public:
  grpc::Status GetParticipant(grpc::ServerContext*, const v1::GetParticipantRequest* request,
                              v1::GetParticipantResponse* response) override {
    return Serve(mu, get_requests, get, *request, response);
  }
  grpc::Status ListParticipants(grpc::ServerContext*, const v1::ListParticipantsRequest* request,
                                v1::ListParticipantsResponse* response) override {
    return Serve(mu, list_requests, list, *request, response);
  }
  grpc::Status UpdateParticipant(grpc::ServerContext*, const v1::UpdateParticipantRequest* request,
                                 v1::UpdateParticipantResponse* response) override {
    return Serve(mu, update_requests, update, *request, response);
  }
  grpc::Status AnonymizeParticipant(grpc::ServerContext*,
                                    const v1::AnonymizeParticipantRequest* request,
                                    v1::AnonymizeParticipantResponse* response) override {
    return Serve(mu, anonymize_requests, anonymize, *request, response);
  }

  absl::Mutex mu;
  Handler<v1::GetParticipantRequest, v1::GetParticipantResponse> get;
  Handler<v1::ListParticipantsRequest, v1::ListParticipantsResponse> list;
  Handler<v1::UpdateParticipantRequest, v1::UpdateParticipantResponse> update;
  Handler<v1::AnonymizeParticipantRequest, v1::AnonymizeParticipantResponse> anonymize;
  std::vector<v1::GetParticipantRequest> get_requests;
  std::vector<v1::ListParticipantsRequest> list_requests;
  std::vector<v1::UpdateParticipantRequest> update_requests;
  std::vector<v1::AnonymizeParticipantRequest> anonymize_requests;
};

class FakeRooms final : public v1::RoomService::Service {
 public:
  grpc::Status CreateRoom(grpc::ServerContext*, const v1::CreateRoomRequest* request,
                          v1::CreateRoomResponse* response) override {
    return Serve(mu, create_requests, create, *request, response);
  }
  grpc::Status GetRoom(grpc::ServerContext*, const v1::GetRoomRequest* request,
                       v1::GetRoomResponse* response) override {
    return Serve(mu, get_requests, get, *request, response);
  }
  grpc::Status ListRooms(grpc::ServerContext*, const v1::ListRoomsRequest* request,
                         v1::ListRoomsResponse* response) override {
    return Serve(mu, list_requests, list, *request, response);
  }
  grpc::Status UpdateRoom(grpc::ServerContext*, const v1::UpdateRoomRequest* request,
                          v1::UpdateRoomResponse* response) override {
    return Serve(mu, update_requests, update, *request, response);
  }

  absl::Mutex mu;
  Handler<v1::CreateRoomRequest, v1::CreateRoomResponse> create;
  Handler<v1::GetRoomRequest, v1::GetRoomResponse> get;
  Handler<v1::ListRoomsRequest, v1::ListRoomsResponse> list;
  Handler<v1::UpdateRoomRequest, v1::UpdateRoomResponse> update;
  std::vector<v1::CreateRoomRequest> create_requests;
  std::vector<v1::GetRoomRequest> get_requests;
  std::vector<v1::ListRoomsRequest> list_requests;
  std::vector<v1::UpdateRoomRequest> update_requests;
};

// One scripted Watch stream: messages to send, then how the stream ends. With
// `hold_until_cancelled`, the stream stays open after the messages until the client cancels.
struct WatchScript {
  std::vector<v1::WatchResponse> messages;
  grpc::Status status = grpc::Status::OK;
  std::vector<std::pair<std::string, std::string>> trailers;
  bool hold_until_cancelled = false;
};

class FakeWatch final : public v1::WatchService::Service {
 public:
  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::WatchResponse>* writer) override {
    WatchScript script;
    {
      absl::MutexLock lock(&mu);
      requests.push_back(*request);
      if (scripts.empty()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no more scripted streams");
      }
      script = scripts.front();
      scripts.erase(scripts.begin());
    }
    for (const v1::WatchResponse& m : script.messages) writer->Write(m);
    for (const auto& [key, value] : script.trailers) context->AddTrailingMetadata(key, value);
    if (script.hold_until_cancelled) {
      // The sync API has no cancellation callback; a fake may poll.
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(2));
      return grpc::Status::CANCELLED;
    }
    return script.status;
  }

  // Waits until `n` streams have started; false on timeout.
  bool AwaitStreams(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto started = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return requests.size() >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&started), timeout);
  }

  absl::Mutex mu;
  std::vector<WatchScript> scripts;
  std::vector<v1::WatchRequest> requests;
};

class FakeServer {
 public:
  // Plaintext by default; `credentials` for TLS.
  explicit FakeServer(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(&ingest);
    builder.RegisterService(&participants);
    builder.RegisterService(&rooms);
    builder.RegisterService(&watch);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { Shutdown(); }

  void Shutdown() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
  }

  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  FakeIngest ingest;
  FakeParticipants participants;
  FakeRooms rooms;
  FakeWatch watch;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace rollcall::cli::testing

#endif  // ROLLCALL_TESTS_CLI_FAKE_SERVER_H_
