// Credentials: who may call rollcall, parsed from the credentials file (docs/security.md).
//
// Twilio's shape: an account `AC…` may have an auth token (32 hex digits), which acts with the
// `admin` role; an API key `SK…` belongs to one account and has a secret and one role:
//   ingest  IngestService only (media servers)
//   read    GetParticipant, ListParticipants, GetRoom, ListRooms, Watch
//   admin   everything, including CreateRoom, UpdateRoom, UpdateParticipant (kick) and
//           AnonymizeParticipant
//
// A Credentials value is immutable once parsed: a reload builds a new one and swaps it in
// whole (service/credentials_file.h). Secrets are kept only as SHA-256 digests and compared
// in constant time on digests of equal length, so neither the secret's bytes nor its length
// leak through timing; no function here returns or logs a secret.
#ifndef ROLLCALL_SERVICE_CREDENTIALS_H_
#define ROLLCALL_SERVICE_CREDENTIALS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "state/sid.h"

namespace rollcall::service {

inline constexpr absl::string_view kApiKeyPrefix = "SK";

enum class Role { kIngest, kRead, kAdmin };

// "ingest", "read", "admin".
absl::string_view RoleName(Role role);

// What an RPC needs. kAuthenticated is any valid credential (server reflection).
enum class Permission { kIngest, kRead, kAdmin, kAuthenticated };

bool RoleAllows(Role role, Permission permission);

// Who a valid credential says the caller is.
struct Principal {
  std::string sid;  // the AC… or SK… that authenticated, lowercase hex
  state::Sid account;
  Role role = Role::kRead;
};

class Credentials {
 public:
  // Parses the credentials file's JSON text. Errors are INVALID_ARGUMENT naming the field by
  // its path and the rule, e.g. "accounts[0].api_keys[1].role: must be one of ingest, read,
  // admin". The text of a secret never appears in an error.
  static absl::StatusOr<Credentials> Parse(absl::string_view json);

  // The principal `sid` and `secret` name, or nullopt when the SID is unknown or the secret is
  // wrong (callers must not tell the two apart). Takes the same time either way.
  std::optional<Principal> Authenticate(absl::string_view sid, absl::string_view secret) const;

  // The account's auth token, which signs its status callbacks (docs/callbacks.md); nullopt when
  // the account has none. Never logged.
  std::optional<std::string> AuthToken(const state::Sid& account_sid) const;

  size_t account_count() const { return account_count_; }
  size_t api_key_count() const { return api_key_count_; }

 private:
  using Digest = std::array<uint8_t, 32>;
  struct Entry {
    Principal principal;
    Digest secret_digest;
  };

  static Digest Sha256(absl::string_view bytes);

  // Accounts with an auth token, and API keys, by SID.
  absl::flat_hash_map<state::Sid, Entry> entries_;
  absl::flat_hash_map<state::Sid, std::string> auth_tokens_;  // signing keys of callbacks
  size_t account_count_ = 0;  // accounts listed, with or without an auth token
  size_t api_key_count_ = 0;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CREDENTIALS_H_
