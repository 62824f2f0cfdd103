// Authorizer: the one place a call's caller is authenticated and its role checked
// (docs/security.md).
//
// Callers send `authorization: Basic base64(sid:secret)`: an account SID and its auth token,
// or an API key SID and its secret (service/credentials.h). rollcall's own services call
// Authorize first thing in every handler, with the Permission the RPC needs, and take the
// account from the Caller it returns. The gate interceptor does the same for every method
// outside rollcall.v1 except the health service: server reflection needs a valid credential,
// and an unknown method answers UNAUTHENTICATED to a caller without one.
//
// Answers: no, malformed or wrong credentials are UNAUTHENTICATED with one message whatever
// was wrong; a valid credential whose role does not allow the RPC is PERMISSION_DENIED.
//
// Without a credentials file authentication is off: every call acts as an anonymous admin
// for the default account, or for the account a request names (loopback only, unless
// rollcalld is told to accept the risk; see service/server.h).
#ifndef ROLLCALL_SERVICE_AUTH_H_
#define ROLLCALL_SERVICE_AUTH_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/string_ref.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/credentials.h"
#include "service/credentials_file.h"
#include "state/sid.h"

namespace rollcall::service {

// Who is calling, as the handlers need to know it.
class Caller {
 public:
  // Authentication off: acts for `default_account` unless a request names another account.
  static Caller Anonymous(state::Sid default_account);
  explicit Caller(Principal principal);

  bool authenticated() const { return principal_.has_value(); }
  // The AC… or SK… that authenticated; "anonymous" when authentication is off.
  absl::string_view name() const;

  // The account a request acts for. Authentication on: the credential's account, and naming
  // any other is PERMISSION_DENIED. Off: the named account, or the default when none is named.
  // A malformed SID is INVALID_ARGUMENT naming `field`.
  absl::StatusOr<state::Sid> Account(absl::string_view named,
                                     absl::string_view field = "account_sid") const;

 private:
  Caller(std::optional<Principal> principal, state::Sid account)
      : principal_(std::move(principal)), account_(account) {}

  std::optional<Principal> principal_;
  state::Sid account_;
};

class Authorizer {
 public:
  using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

  // `credentials` null: authentication off. Not owned; must outlive the Authorizer.
  Authorizer(const CredentialsFile* credentials, state::Sid default_account)
      : credentials_(credentials), default_account_(default_account) {}

  bool enabled() const { return credentials_ != nullptr; }

  // The caller of the call `context` belongs to, if it may do what `needed` says.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context, Permission needed) const;
  absl::StatusOr<Caller> Authorize(const Metadata& client_metadata, Permission needed) const;
  // Authorize, then the account a request naming `named_account` acts for (Caller::Account).
  absl::StatusOr<state::Sid> Account(const grpc::ServerContextBase& context, Permission needed,
                                     absl::string_view named_account) const;

  // For a stream that outlives a credentials reload: a check answering as Authorize would
  // now for the credential the call carried, and PERMISSION_DENIED when that credential now
  // acts for another account than `account`. Empty when authentication is off. The check
  // keeps a reference to this Authorizer.
  std::function<absl::Status()> Recheck(const grpc::ServerContextBase& context, Permission needed,
                                        state::Sid account) const;

  // The gate for every method outside rollcall.v1 and grpc.health.v1 (server reflection,
  // unknown methods): a call without a valid credential has its requests emptied before the
  // service sees them and ends with UNAUTHENTICATED. Null when authentication is off.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Gate() const;

 private:
  const CredentialsFile* const credentials_;
  const state::Sid default_account_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_AUTH_H_
