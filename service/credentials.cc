#include "service/credentials.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "state/status_macros.h"

namespace rollcall::service {
namespace {

using Json = nlohmann::json;

constexpr size_t kAuthTokenLength = 32;
constexpr size_t kMinSecretLength = 32;
constexpr size_t kMaxSecretLength = 256;
constexpr size_t kMaxFriendlyNameLength = 64;

absl::Status Invalid(absl::string_view path, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", rule));
}

// A JSON object holding only `allowed` keys; `path` names it in errors.
absl::Status CheckObject(const Json& value, absl::string_view path,
                         std::initializer_list<const char*> allowed) {
  if (!value.is_object()) return Invalid(path, "must be a JSON object");
  for (const auto& [key, unused] : value.items()) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) {
      return Invalid(absl::StrCat(path, path.empty() ? "" : ".", key),
                     absl::StrCat("unknown field (expected ", absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// The string at `object[key]`, or `absent` when there is none and it is not `required`.
absl::StatusOr<std::string> StringField(const Json& object, const char* key, absl::string_view path,
                                        bool required, bool* absent = nullptr) {
  const std::string field = absl::StrCat(path, path.empty() ? "" : ".", key);
  const auto found = object.find(key);
  if (found == object.end()) {
    if (required) return Invalid(field, "is required");
    if (absent != nullptr) *absent = true;
    return std::string();
  }
  if (!found->is_string()) return Invalid(field, "must be a string");
  return found->get<std::string>();
}

absl::StatusOr<std::string> RequiredString(const Json& object, const char* key,
                                           absl::string_view path) {
  return StringField(object, key, path, true);
}

// An optional friendly_name: at most 64 bytes.
absl::Status CheckFriendlyName(const Json& object, absl::string_view path) {
  ASSIGN_OR_RETURN(const std::string name, StringField(object, "friendly_name", path, false));
  if (name.size() > kMaxFriendlyNameLength) {
    return Invalid(absl::StrCat(path, ".friendly_name"), "must be at most 64 bytes");
  }
  return absl::OkStatus();
}

// The array at `object[key]` (absent: empty).
absl::StatusOr<const Json*> ArrayField(const Json& object, const char* key,
                                       absl::string_view path) {
  static const Json kEmpty = Json::array();
  const auto found = object.find(key);
  if (found == object.end()) return &kEmpty;
  if (!found->is_array()) {
    return Invalid(absl::StrCat(path, path.empty() ? "" : ".", key), "must be a JSON array");
  }
  return &*found;
}

bool IsHex(absl::string_view text) {
  for (const char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsPrintableWithoutSpace(absl::string_view text) {
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::StatusOr<Role> ParseRole(absl::string_view text, absl::string_view field) {
  for (const Role role : {Role::kIngest, Role::kRead, Role::kAdmin}) {
    if (text == RoleName(role)) return role;
  }
  return Invalid(field, "must be one of ingest, read, admin");
}

// Line and column (1-based) of byte `offset`, for parse errors that must not quote the text.
std::string Position(absl::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::StrCat("line ", line, ", column ", column);
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kIngest:
      return "ingest";
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

bool RoleAllows(Role role, Permission permission) {
  switch (permission) {
    case Permission::kAuthenticated:
      return true;
    case Permission::kIngest:
      return role == Role::kIngest || role == Role::kAdmin;
    case Permission::kRead:
      return role == Role::kRead || role == Role::kAdmin;
    case Permission::kAdmin:
      return role == Role::kAdmin;
  }
  return false;
}

Credentials::Digest Credentials::Sha256(absl::string_view bytes) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

absl::StatusOr<Credentials> Credentials::Parse(absl::string_view text) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    // The library's message quotes what it last read, which may be part of a secret.
    return Invalid("credentials",
                   absl::StrCat("is not valid JSON (syntax error at ",
                                Position(text, error.byte > 0 ? error.byte - 1 : 0), ")"));
  }
  RETURN_IF_ERROR(CheckObject(root, "credentials", {"accounts"}));
  if (!root.contains("accounts")) return Invalid("accounts", "is required");
  ASSIGN_OR_RETURN(const Json* accounts, ArrayField(root, "accounts", ""));

  Credentials out;
  absl::flat_hash_map<state::Sid, std::string> seen;  // SID -> where it was first listed
  auto add_sid = [&seen](const state::Sid& sid, const std::string& field) -> absl::Status {
    const auto [it, inserted] = seen.emplace(sid, field);
    if (!inserted) {
      return Invalid(field,
                     absl::StrCat(sid.ToString(), " is listed twice (also at ", it->second, ")"));
    }
    return absl::OkStatus();
  };
  for (size_t a = 0; a < accounts->size(); ++a) {
    const Json& account = (*accounts)[a];
    const std::string path = absl::StrCat("accounts[", a, "]");
    RETURN_IF_ERROR(CheckObject(account, path, {"sid", "auth_token", "api_keys", "friendly_name"}));
    ASSIGN_OR_RETURN(const std::string sid_text, RequiredString(account, "sid", path));
    ASSIGN_OR_RETURN(const state::Sid account_sid,
                     state::Sid::Parse(sid_text, state::kAccountPrefix, path + ".sid"));
    RETURN_IF_ERROR(add_sid(account_sid, path + ".sid"));
    RETURN_IF_ERROR(CheckFriendlyName(account, path));
    bool no_token = false;
    ASSIGN_OR_RETURN(const std::string token,
                     StringField(account, "auth_token", path, false, &no_token));
    if (!no_token) {
      if (token.size() != kAuthTokenLength || !IsHex(token)) {
        return Invalid(path + ".auth_token",
                       "must be 32 hexadecimal digits (make one with: openssl rand -hex 16)");
      }
      out.entries_[account_sid] =
          Entry{Principal{account_sid.ToString(), account_sid, Role::kAdmin}, Sha256(token)};
      out.auth_tokens_[account_sid] = token;
    }
    ++out.account_count_;

    ASSIGN_OR_RETURN(const Json* keys, ArrayField(account, "api_keys", path));
    for (size_t k = 0; k < keys->size(); ++k) {
      const Json& key = (*keys)[k];
      const std::string key_path = absl::StrCat(path, ".api_keys[", k, "]");
      RETURN_IF_ERROR(CheckObject(key, key_path, {"sid", "secret", "role", "friendly_name"}));
      ASSIGN_OR_RETURN(const std::string key_text, RequiredString(key, "sid", key_path));
      ASSIGN_OR_RETURN(const state::Sid key_sid,
                       state::Sid::Parse(key_text, kApiKeyPrefix, key_path + ".sid"));
      RETURN_IF_ERROR(add_sid(key_sid, key_path + ".sid"));
      ASSIGN_OR_RETURN(const std::string secret, RequiredString(key, "secret", key_path));
      if (secret.size() < kMinSecretLength || secret.size() > kMaxSecretLength ||
          !IsPrintableWithoutSpace(secret)) {
        return Invalid(key_path + ".secret",
                       "must be 32 to 256 printable ASCII characters without spaces (make one "
                       "with: openssl rand -hex 32)");
      }
      ASSIGN_OR_RETURN(const std::string role_text, RequiredString(key, "role", key_path));
      ASSIGN_OR_RETURN(const Role role, ParseRole(role_text, key_path + ".role"));
      RETURN_IF_ERROR(CheckFriendlyName(key, key_path));
      out.entries_[key_sid] =
          Entry{Principal{key_sid.ToString(), account_sid, role}, Sha256(secret)};
      ++out.api_key_count_;
    }
  }
  return out;
}

std::optional<Principal> Credentials::Authenticate(absl::string_view sid,
                                                   absl::string_view secret) const {
  // Digests of equal length, whatever the secret's length; an unknown SID still compares
  // against something, so a wrong SID and a wrong secret take the same time.
  static const Digest kNoSuchCredential = Sha256("rollcall: no such credential");
  const Digest presented = Sha256(secret);
  std::optional<state::Sid> parsed = state::Sid::TryParse(sid, state::kAccountPrefix);
  if (!parsed) parsed = state::Sid::TryParse(sid, kApiKeyPrefix);
  const Entry* entry = nullptr;
  if (parsed) {
    if (const auto found = entries_.find(*parsed); found != entries_.end()) entry = &found->second;
  }
  const Digest& expected = entry != nullptr ? entry->secret_digest : kNoSuchCredential;
  const bool match = CRYPTO_memcmp(presented.data(), expected.data(), presented.size()) == 0;
  if (entry == nullptr || !match) return std::nullopt;
  return entry->principal;
}

std::optional<std::string> Credentials::AuthToken(const state::Sid& account_sid) const {
  auto it = auth_tokens_.find(account_sid);
  if (it == auth_tokens_.end()) return std::nullopt;
  return it->second;
}

}  // namespace rollcall::service
