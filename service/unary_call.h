// How the query services finish unary calls: a read answered from the committed roster, or an
// admin command sent through the applier, answered once durable and audited.
#ifndef ROLLCALL_SERVICE_UNARY_CALL_H_
#define ROLLCALL_SERVICE_UNARY_CALL_H_

#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "service/applier.h"
#include "service/audit.h"
#include "service/auth.h"
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

// An admin command: authorized (role admin) for the account the request names, built by
// `build` for that account, applied through the applier, answered by `respond`, and audited
// once the caller is known, whatever the outcome.
inline grpc::ServerUnaryReactor* AdminCommand(
    grpc::CallbackServerContext* context, const Authorizer& auth, Applier& applier,
    absl::string_view action, absl::string_view named_account,
    std::initializer_list<std::pair<absl::string_view, absl::string_view>> targets,
    const std::function<absl::StatusOr<state::Input>(const state::Sid& account)>& build,
    std::function<void(const state::Outcome&)> respond) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::StatusOr<Caller> caller = auth.Authorize(*context, Permission::kAdmin);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  const absl::StatusOr<state::Sid> account = caller->Account(named_account);
  AuditEntry audit(action, caller->name(),
                   account.ok() ? account->ToString() : std::string(named_account));
  for (const auto& [key, value] : targets) audit.Add(key, value);
  absl::StatusOr<state::Input> input = account.ok() ? build(*account) : account.status();
  if (!input.ok()) {
    audit.Log(input.status());
    reactor->Finish(ToGrpcStatus(input.status()));
    return reactor;
  }
  std::vector<state::Input> inputs;
  inputs.push_back(*std::move(input));
  applier.Submit(std::move(inputs),
                 [reactor, respond = std::move(respond),
                  audit = std::move(audit)](std::vector<Applier::Result> results) mutable {
                   const Applier::Result& result = results.front();
                   if (result.ok()) {
                     respond(*result);
                     if (result->room) audit.Add("room_sid", result->room->sid.ToString());
                     if (result->participant) {
                       audit.Add("room_sid", result->participant->room_sid.ToString());
                       audit.Add("participant_sid", result->participant->sid.ToString());
                     }
                   }
                   audit.Log(result.status(), result.ok() ? result->revision : 0);
                   reactor->Finish(ToGrpcStatus(result.status()));
                 });
  return reactor;
}

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_UNARY_CALL_H_
