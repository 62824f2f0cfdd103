// Credentials: the credentials file's parser (every rule names its field), authentication of
// SID and secret pairs, and the role table.
#include "service/credentials.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/credentials_for_tests.h"

namespace rollcall::service {
namespace {

using test::kAccount;
using test::kOtherAccount;
using test::kReadKey;
using test::kToken;
using test::Message;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kIngestKey[] = "SK11111111111111111111111111111111";
constexpr char kIngestSecret[] = "ingest-secret-0123456789abcdefghij";
constexpr char kReadSecret[] = "read-secret-0123456789abcdefghijkl";
constexpr char kOtherAdminKey[] = "SK33333333333333333333333333333333";
constexpr char kOtherAdminSecret[] = "admin-secret-0123456789abcdefghijk";

// A valid file with two accounts; tests break one part of it at a time.
std::string ValidFile() {
  return absl::StrReplaceAll(R"({
  "accounts": [
    {
      "sid": "$ACCOUNT",
      "friendly_name": "production",
      "auth_token": "$TOKEN",
      "api_keys": [
        {"sid": "$INGEST", "secret": "$INGEST_SECRET", "role": "ingest", "friendly_name": "sfu"},
        {"sid": "$READ", "secret": "$READ_SECRET", "role": "read"}
      ]
    },
    {
      "sid": "$OTHER",
      "api_keys": [{"sid": "$OTHER_ADMIN", "secret": "$OTHER_SECRET", "role": "admin"}]
    }
  ]
})",
                             {{"$ACCOUNT", kAccount},
                              {"$TOKEN", kToken},
                              {"$INGEST_SECRET", kIngestSecret},
                              {"$INGEST", kIngestKey},
                              {"$READ_SECRET", kReadSecret},
                              {"$READ", kReadKey},
                              {"$OTHER_ADMIN", kOtherAdminKey},
                              {"$OTHER_SECRET", kOtherAdminSecret},
                              {"$OTHER", kOtherAccount}});
}

TEST(CredentialsTest, ParsesAccountsAndKeys) {
  absl::StatusOr<Credentials> credentials = Credentials::Parse(ValidFile());
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->account_count(), 2u);
  EXPECT_EQ(credentials->api_key_count(), 3u);
}

TEST(CredentialsTest, AuthenticatesEachCredentialWithItsRoleAndAccount) {
  const Credentials credentials = *Credentials::Parse(ValidFile());
  struct Case {
    const char* sid;
    const char* secret;
    const char* account;
    Role role;
  };
  for (const Case& c :
       std::vector<Case>{{kAccount, kToken, kAccount, Role::kAdmin},
                         {kIngestKey, kIngestSecret, kAccount, Role::kIngest},
                         {kReadKey, kReadSecret, kAccount, Role::kRead},
                         {kOtherAdminKey, kOtherAdminSecret, kOtherAccount, Role::kAdmin}}) {
    SCOPED_TRACE(c.sid);
    std::optional<Principal> principal = credentials.Authenticate(c.sid, c.secret);
    ASSERT_TRUE(principal.has_value());
    EXPECT_EQ(principal->sid, c.sid);
    EXPECT_EQ(principal->account.ToString(), c.account);
    EXPECT_EQ(principal->role, c.role);
  }
}

TEST(CredentialsTest, SidHexIsCaseInsensitiveSecretsAreExact) {
  const Credentials credentials = *Credentials::Parse(ValidFile());
  const std::string upper_sid = "AC0123456789ABCDEF0123456789ABCDEF";
  std::optional<Principal> principal = credentials.Authenticate(upper_sid, kToken);
  ASSERT_TRUE(principal.has_value());
  EXPECT_EQ(principal->sid, kAccount);  // reported in canonical lowercase
  std::string upper_token = "00112233445566778899AABBCCDDEEFF";
  EXPECT_FALSE(credentials.Authenticate(kAccount, upper_token).has_value());
}

TEST(CredentialsTest, RefusesWrongSecretsUnknownSidsAndCrossedPairs) {
  const Credentials credentials = *Credentials::Parse(ValidFile());
  const std::string almost = std::string(kIngestSecret).substr(0, 33) + "!";
  EXPECT_FALSE(credentials.Authenticate(kIngestKey, almost).has_value());
  EXPECT_FALSE(credentials.Authenticate(kIngestKey, "").has_value());
  EXPECT_FALSE(credentials.Authenticate(kIngestKey, std::string(kIngestSecret) + "x").has_value());
  EXPECT_FALSE(credentials.Authenticate(kIngestKey, kReadSecret).has_value());  // another key's
  EXPECT_FALSE(
      credentials.Authenticate("SK99999999999999999999999999999999", kIngestSecret).has_value());
  EXPECT_FALSE(credentials.Authenticate(kOtherAccount, kToken).has_value());  // no auth token
  EXPECT_FALSE(credentials.Authenticate("", "").has_value());
  EXPECT_FALSE(
      credentials.Authenticate("RM11111111111111111111111111111111", kIngestSecret).has_value());
}

TEST(CredentialsTest, RoleTable) {
  EXPECT_TRUE(RoleAllows(Role::kIngest, Permission::kIngest));
  EXPECT_FALSE(RoleAllows(Role::kIngest, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kIngest, Permission::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kRead, Permission::kIngest));
  EXPECT_TRUE(RoleAllows(Role::kRead, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kRead, Permission::kAdmin));
  for (const Permission p :
       {Permission::kIngest, Permission::kRead, Permission::kAdmin, Permission::kAuthenticated}) {
    EXPECT_TRUE(RoleAllows(Role::kAdmin, p));
  }
  for (const Role r : {Role::kIngest, Role::kRead, Role::kAdmin}) {
    EXPECT_TRUE(RoleAllows(r, Permission::kAuthenticated));
  }
}

TEST(CredentialsTest, AnEmptyAccountListIsValidAndLetsNobodyIn) {
  absl::StatusOr<Credentials> credentials = Credentials::Parse(R"({"accounts": []})");
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->account_count(), 0u);
  EXPECT_FALSE(credentials->Authenticate(kAccount, kToken).has_value());
}

// Each broken file is refused with INVALID_ARGUMENT whose message starts with the field's path
// and says the rule; the secret's text never appears.
TEST(CredentialsTest, BadFilesNameTheFieldAndTheRule) {
  struct Case {
    std::string from;  // replaced in ValidFile() ...
    std::string to;    // ... by this
    std::string field;
    std::string rule;
  };
  const std::vector<Case> cases = {
      {R"("accounts": [)", R"("acounts": [)", "credentials.acounts", "unknown field"},
      {R"("sid": ")" + std::string(kAccount), R"("sid": "AC123)", "accounts[0].sid",
       "must be a SID matching ^AC[0-9a-fA-F]{32}$"},
      {R"("sid": ")" + std::string(kAccount) + "\"", R"("sid": 7)", "accounts[0].sid",
       "must be a string"},
      {kToken, "0011", "accounts[0].auth_token", "must be 32 hexadecimal digits"},
      {kToken, "00112233445566778899aabbccddeefg", "accounts[0].auth_token",
       "must be 32 hexadecimal digits"},
      {R"("role": "ingest")", R"("role": "write")", "accounts[0].api_keys[0].role",
       "must be one of ingest, read, admin"},
      {R"("role": "ingest")", R"("rolle": "ingest")", "accounts[0].api_keys[0].rolle",
       "unknown field"},
      {kIngestSecret, "short", "accounts[0].api_keys[0].secret",
       "must be 32 to 256 printable ASCII characters"},
      {kIngestSecret, "with a space in it 0123456789abcdefghij", "accounts[0].api_keys[0].secret",
       "must be 32 to 256 printable ASCII characters"},
      {kReadKey, kIngestKey, "accounts[0].api_keys[1].sid",
       "is listed twice (also at accounts[0].api_keys[0].sid)"},
      {kOtherAccount, kAccount, "accounts[1].sid", "is listed twice (also at accounts[0].sid)"},
      {std::string(R"("sid": ")") + kOtherAdminKey, R"("sid": "AC33333333333333333333333333333333)",
       "accounts[1].api_keys[0].sid", "must be a SID matching ^SK"},
      {R"("api_keys": [{"sid": ")" + std::string(kOtherAdminKey),
       R"("api_keys": {"sid": ")" + std::string(kOtherAdminKey), "credentials",
       "is not valid JSON"},
      {R"(, "role": "admin"}])", R"(}])", "accounts[1].api_keys[0].role", "is required"},
      {R"("friendly_name": "production")", R"("friendly_name": ")" + std::string(65, 'x') + "\"",
       "accounts[0].friendly_name", "must be at most 64 bytes"},
  };
  for (const Case& c : cases) {
    std::string text = ValidFile();
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    SCOPED_TRACE(c.field + " <- " + c.to);
    absl::StatusOr<Credentials> parsed = Credentials::Parse(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(parsed.status()), StartsWith(c.field + ": "));
    EXPECT_THAT(Message(parsed.status()), HasSubstr(c.rule));
    for (const char* secret : {kToken, kIngestSecret, kReadSecret, kOtherAdminSecret}) {
      EXPECT_THAT(Message(parsed.status()), Not(HasSubstr(secret)));
    }
  }
}

TEST(CredentialsTest, WholeFileShapes) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "credentials: is not valid JSON (syntax error at line 1, column 1)"},
           {"[]", "credentials: must be a JSON object"},
           {"{}", "accounts: is required"},
           {R"({"accounts": {}})", "accounts: must be a JSON array"},
           {R"({"accounts": [7]})", "accounts[0]: must be a JSON object"},
           {R"({"accounts": [{}]})", "accounts[0].sid: is required"},
           {"{\n  \"accounts\": [\n    {\"sid\": \"AC\" \"x\"}]}",
            // The position is the last character read: the end of the unexpected "x".
            "credentials: is not valid JSON (syntax error at line 3, column 20)"},
           {R"({"accounts": [{"sid": "AC0123456789abcdef0123456789abcdef", "api_keys": 1}]})",
            "accounts[0].api_keys: must be a JSON array"},
       }) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<Credentials> parsed = Credentials::Parse(c.text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(Message(parsed.status()), c.message);
  }
}

// A syntax error inside a secret's string must not quote the secret (the JSON library's own
// message would show what it last read).
TEST(CredentialsTest, SyntaxErrorsDoNotQuoteTheText) {
  const std::string text =
      std::string(R"({"accounts": [{"sid": "AC0123456789abcdef0123456789abcdef", )") +
      "\"auth_token\": \"supersecret\x01value\"}]}";
  absl::StatusOr<Credentials> parsed = Credentials::Parse(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Message(parsed.status()), StartsWith("credentials: is not valid JSON"));
  EXPECT_THAT(Message(parsed.status()), Not(HasSubstr("supersecret")));
}

}  // namespace
}  // namespace rollcall::service
