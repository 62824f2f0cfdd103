#include "bench/readiness.h"

#include <grpcpp/generic/generic_stub.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rollcall/v1/participant_service.grpc.pb.h"

namespace rollcall::bench {

absl::StatusOr<Probe> ReadProbe(const std::string& path) {
  std::ifstream in(path);
  Probe probe;
  if (!(in >> probe.account >> probe.room_sid >> probe.participant_sid)) {
    return absl::NotFoundError(absl::StrCat("probe file ", path, ": no probe in it"));
  }
  if (probe.account == "-") probe.account.clear();
  return probe;
}

absl::Status WriteProbe(const std::string& path, const Probe& probe) {
  std::ofstream out(path);
  out << (probe.account.empty() ? "-" : probe.account) << " " << probe.room_sid << " "
      << probe.participant_sid << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> TargetFromPortFile(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return absl::StrCat("127.0.0.1:", port);
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no port in ", path, " after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

std::shared_ptr<grpc::Channel> EagerChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 5);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool HealthServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  // HealthCheckRequest{service}: field 1, length-delimited. The answer's field 1 is the
  // status; SERVING is 1.
  std::string request = "\x0a";
  request.push_back(static_cast<char>(service.size()));
  request += service;
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request_buffer, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, &cq);
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return false;
  grpc::Slice answer;
  if (!response.DumpToSingleSlice(&answer).ok()) return false;
  const std::string bytes(reinterpret_cast<const char*>(answer.begin()), answer.size());
  return bytes.size() >= 2 && bytes[0] == 0x08 && bytes[1] == 0x01;
}

absl::StatusOr<Readiness> WaitServing(const std::string& target, const Probe& probe,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::shared_ptr<grpc::Channel> channel = EagerChannel(target);
  auto participants = v1::ParticipantService::NewStub(channel);
  Readiness readiness;
  while (absl::Now() < deadline) {
    ++readiness.attempts;
    if (HealthServing(channel, "readiness")) {
      v1::GetParticipantRequest request;
      request.set_account_sid(probe.account);
      request.set_room(probe.room_sid);
      request.set_participant_sid(probe.participant_sid);
      v1::GetParticipantResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      if (participants->GetParticipant(&context, request, &response).ok() &&
          response.participant().sid() == probe.participant_sid) {
        readiness.serving_at = absl::Now();
        return readiness;
      }
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(target, " not serving after ", absl::FormatDuration(timeout)));
}

}  // namespace rollcall::bench
