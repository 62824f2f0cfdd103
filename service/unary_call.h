// How the query services finish unary calls: a read answered from the committed roster, or a
// command sent through the applier and answered once durable.
#ifndef ROLLCALL_SERVICE_UNARY_CALL_H_
#define ROLLCALL_SERVICE_UNARY_CALL_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "service/applier.h"
#include "service/grpc_status.h"
#include "state/records.h"

namespace rollcall::service {

// Finishes a unary call with the status of `body()`, which fills the response.
inline grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                        const std::function<absl::Status()>& body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(body()));
  return reactor;
}

// Sends one command through the applier; `respond` fills the response from its outcome.
inline grpc::ServerUnaryReactor* Command(grpc::CallbackServerContext* context, Applier& applier,
                                         absl::StatusOr<state::Input> input,
                                         std::function<void(const state::Outcome&)> respond) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!input.ok()) {
    reactor->Finish(ToGrpcStatus(input.status()));
    return reactor;
  }
  std::vector<state::Input> inputs;
  inputs.push_back(*std::move(input));
  applier.Submit(std::move(inputs),
                 [reactor, respond = std::move(respond)](std::vector<Applier::Result> results) {
                   if (results.front().ok()) respond(*results.front());
                   reactor->Finish(ToGrpcStatus(results.front().status()));
                 });
  return reactor;
}

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_UNARY_CALL_H_
