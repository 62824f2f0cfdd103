#include "service/auth.h"

#include <google/protobuf/message_lite.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/grpc_status.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

// Longer authorization values are refused before any decoding.
constexpr size_t kMaxAuthorizationBytes = 1024;

// One answer for every way a credential can be wrong, so a caller learns nothing about which
// part was (an unknown SID, a wrong secret, a malformed header).
absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(
      "authentication required: send metadata authorization: Basic base64(SID:secret) with "
      "an account SID and auth token or an API key SID and secret");
}

absl::string_view WhatNeeds(Permission permission) {
  switch (permission) {
    case Permission::kIngest:
      return "IngestService (needs role ingest or admin)";
    case Permission::kRead:
      return "reads: Get, List and Watch (needs role read or admin)";
    case Permission::kAdmin:
      return "admin actions (needs role admin)";
    case Permission::kAuthenticated:
      return "this call";
  }
  return "this call";
}

struct BasicCredential {
  std::string sid;
  std::string secret;
};

// `Basic base64(sid:secret)`, the scheme in any case (RFC 7617).
std::optional<BasicCredential> ParseBasic(absl::string_view value) {
  if (value.size() > kMaxAuthorizationBytes) return std::nullopt;
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "basic ";
  if (!absl::StartsWithIgnoreCase(value, kScheme)) return std::nullopt;
  value = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  std::string decoded;
  if (value.empty() || !absl::Base64Unescape(value, &decoded)) return std::nullopt;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredential{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

// The gate for one call of a method outside rollcall.v1 and the health service.
class GateInterceptor final : public grpc::experimental::Interceptor {
 public:
  // `protobuf_requests`: the method's requests are protobuf messages, so they can be emptied.
  GateInterceptor(const Authorizer& authorizer, bool protobuf_requests)
      : authorizer_(authorizer), protobuf_requests_(protobuf_requests) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      absl::StatusOr<Caller> caller =
          authorizer_.Authorize(*methods->GetRecvInitialMetadata(), Permission::kAuthenticated);
      if (!caller.ok()) denied_ = ToGrpcStatus(caller.status());
    }
    if (denied_ && methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE)) {
      // The service still runs, but sees only empty requests: it answers no question.
      if (void* request = methods->GetRecvMessage(); protobuf_requests_ && request != nullptr) {
        static_cast<google::protobuf::MessageLite*>(request)->Clear();
      }
    }
    if (denied_ && methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(*denied_);
    }
    methods->Proceed();
  }

 private:
  const Authorizer& authorizer_;
  const bool protobuf_requests_;
  std::optional<grpc::Status> denied_;
};

class GateFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GateFactory(const Authorizer& authorizer) : authorizer_(authorizer) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const absl::string_view method = info->method() != nullptr ? info->method() : "";
    // rollcall's services authorize in their handlers; health stays open (probes).
    if (absl::StartsWith(method, "/rollcall.v1.") ||
        absl::StartsWith(method, "/grpc.health.v1.Health/")) {
      return nullptr;
    }
    return new GateInterceptor(authorizer_, absl::StartsWith(method, "/grpc.reflection."));
  }

 private:
  const Authorizer& authorizer_;
};

}  // namespace

Caller Caller::Anonymous(state::Sid default_account) {
  return Caller(std::nullopt, default_account);
}

Caller::Caller(Principal principal)
    : Caller(std::optional<Principal>(principal), principal.account) {}

absl::string_view Caller::name() const {
  return principal_ ? absl::string_view(principal_->sid) : absl::string_view("anonymous");
}

absl::StatusOr<state::Sid> Caller::Account(absl::string_view named, absl::string_view field) const {
  if (named.empty()) return account_;
  ASSIGN_OR_RETURN(const state::Sid sid, state::Sid::Parse(named, state::kAccountPrefix, field));
  if (principal_ && sid != account_) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": the credentials of ", principal_->sid,
                                                    " act only for account ", account_.ToString()));
  }
  return sid;
}

absl::StatusOr<Caller> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                             Permission needed) const {
  if (credentials_ == nullptr) return Caller::Anonymous(default_account_);
  return Authorize(context.client_metadata(), needed);
}

absl::StatusOr<Caller> Authorizer::Authorize(const Metadata& client_metadata,
                                             Permission needed) const {
  if (credentials_ == nullptr) return Caller::Anonymous(default_account_);
  const auto [first, end] = client_metadata.equal_range("authorization");
  if (first == end || std::next(first) != end) return Unauthenticated();
  std::optional<BasicCredential> basic =
      ParseBasic(absl::string_view(first->second.data(), first->second.size()));
  if (!basic) return Unauthenticated();
  std::optional<Principal> principal =
      credentials_->current()->Authenticate(basic->sid, basic->secret);
  if (!principal) return Unauthenticated();
  if (!RoleAllows(principal->role, needed)) {
    return absl::PermissionDeniedError(absl::StrCat(principal->sid, " has role ",
                                                    RoleName(principal->role),
                                                    ", which does not allow ", WhatNeeds(needed)));
  }
  return Caller(*std::move(principal));
}

absl::StatusOr<state::Sid> Authorizer::Account(const grpc::ServerContextBase& context,
                                               Permission needed,
                                               absl::string_view named_account) const {
  ASSIGN_OR_RETURN(const Caller caller, Authorize(context, needed));
  return caller.Account(named_account);
}

std::function<absl::Status()> Authorizer::Recheck(const grpc::ServerContextBase& context,
                                                  Permission needed, state::Sid account) const {
  if (credentials_ == nullptr) return nullptr;
  std::vector<std::string> values;  // the call's metadata does not outlive the call: copied
  const auto [first, end] = context.client_metadata().equal_range("authorization");
  for (auto it = first; it != end; ++it) values.emplace_back(it->second.data(), it->second.size());
  return [this, needed, account, values = std::move(values)]() -> absl::Status {
    Metadata metadata;
    for (const std::string& value : values) metadata.emplace("authorization", value);
    ASSIGN_OR_RETURN(const Caller caller, Authorize(metadata, needed));
    return caller.Account(account.ToString()).status();
  };
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Authorizer::Gate() const {
  if (credentials_ == nullptr) return nullptr;
  return std::make_unique<GateFactory>(*this);
}

}  // namespace rollcall::service
