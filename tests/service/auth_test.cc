// Authorizer and Caller: the authorization header's forms, one answer for every bad
// credential, the role check, and which account a request may act for, with authentication
// on and off. AuditEntry: the line's fields in text and JSON.
#include "service/auth.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/audit.h"
#include "service/server.h"
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

constexpr char kReadSecret[] = "read:secret-with-colons:0123456789abcdef";
constexpr char kDefaultAccount[] = "AC00000000000000000000000000000000";

std::string Basic(absl::string_view sid, absl::string_view secret) {
  return "Basic " + absl::Base64Escape(absl::StrCat(sid, ":", secret));
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rollcall-auth-XXXXXX";
    dir_ = mkdtemp(pattern.data());
    std::ofstream(dir_ + "/credentials.json")
        << absl::StrCat(R"({"accounts": [{"sid": ")", kAccount, R"(", "auth_token": ")", kToken,
                        R"(", "api_keys": [{"sid": ")", kReadKey, R"(", "secret": ")", kReadSecret,
                        R"(", "role": "read"}]}]})");
    auto file = CredentialsFile::Open(dir_ + "/credentials.json", absl::ZeroDuration());
    ASSERT_TRUE(file.ok()) << file.status();
    file_ = *std::move(file);
    authorizer_ = std::make_unique<Authorizer>(file_.get(), Default());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static state::Sid Default() { return *state::Sid::Parse(kDefaultAccount, "AC", "x"); }

  // Authorize with these `authorization` values (several: repeated header).
  absl::StatusOr<Caller> With(const std::vector<std::string>& values,
                              Permission needed = Permission::kRead) {
    Authorizer::Metadata metadata;
    metadata.emplace("user-agent", "test");
    for (const std::string& value : values) metadata.emplace("authorization", value);
    return authorizer_->Authorize(metadata, needed);
  }

  std::string dir_;
  std::unique_ptr<CredentialsFile> file_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, AcceptsBasicCredentialsInTheirUsualForms) {
  for (const std::string& value :
       {Basic(kReadKey, kReadSecret),
        "basic " + absl::Base64Escape(absl::StrCat(kReadKey, ":", kReadSecret)),
        "BASIC   " + absl::Base64Escape(absl::StrCat(kReadKey, ":", kReadSecret)) + " "}) {
    SCOPED_TRACE(value);
    absl::StatusOr<Caller> caller = With({value});
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_TRUE(caller->authenticated());
    EXPECT_EQ(caller->name(), kReadKey);
  }
  absl::StatusOr<Caller> account = With({Basic(kAccount, kToken)}, Permission::kAdmin);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->name(), kAccount);
}

TEST_F(AuthorizerTest, EveryBadCredentialGetsTheSameUnauthenticatedAnswer) {
  const std::string good = absl::StrCat(kReadKey, ":", kReadSecret);
  const std::vector<std::vector<std::string>> bad = {
      {},                                                            // no header
      {""},                                                          // empty
      {Basic(kReadKey, kReadSecret), Basic(kReadKey, kReadSecret)},  // repeated
      {"Bearer " + absl::Base64Escape(good)},                        // another scheme
      {absl::Base64Escape(good)},                                    // no scheme
      {"Basic"},                                                     // no value
      {"Basic !!!not-base64!!!"},                                    // not base64
      {"Basic " + absl::Base64Escape(kReadKey)},                     // no colon
      {Basic(kReadKey, "wrong-secret-0123456789abcdef0123")},        // wrong secret
      {Basic(kReadKey, "")},                                         // empty secret
      {Basic("SK99999999999999999999999999999999", kReadSecret)},    // unknown key
      {Basic(kAccount, kReadSecret)},                                // another credential's secret
      {Basic(kOtherAccount, kToken)},                                // unknown account
      {"Basic " + std::string(2000, 'A')},                           // oversized
  };
  std::string first_message;
  for (const auto& values : bad) {
    SCOPED_TRACE(values.empty() ? "(none)" : values.front());
    absl::StatusOr<Caller> caller = With(values);
    ASSERT_FALSE(caller.ok());
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
    if (first_message.empty()) first_message = std::string(Message(caller.status()));
    EXPECT_EQ(Message(caller.status()), first_message) << "the answer hints at what was wrong";
    EXPECT_THAT(Message(caller.status()), Not(HasSubstr(kReadKey)));
  }
}

TEST_F(AuthorizerTest, RoleNotAllowedIsPermissionDenied) {
  absl::StatusOr<Caller> caller = With({Basic(kReadKey, kReadSecret)}, Permission::kAdmin);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(caller.status()), HasSubstr("role read"));
  EXPECT_THAT(Message(caller.status()), Not(HasSubstr(kReadSecret)));
  EXPECT_EQ(With({Basic(kReadKey, kReadSecret)}, Permission::kIngest).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(With({Basic(kReadKey, kReadSecret)}, Permission::kAuthenticated).ok());
}

TEST_F(AuthorizerTest, CallerActsOnlyForItsOwnAccount) {
  const Caller caller = *With({Basic(kReadKey, kReadSecret)});
  EXPECT_EQ(caller.Account("")->ToString(), kAccount);
  EXPECT_EQ(caller.Account(kAccount)->ToString(), kAccount);
  EXPECT_EQ(caller.Account("AC0123456789ABCDEF0123456789ABCDEF")->ToString(), kAccount);
  const absl::Status other = caller.Account(kOtherAccount).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(other), StartsWith("account_sid: "));
  const absl::Status default_account =
      caller.Account(kDefaultAccount, "event.account_sid").status();
  EXPECT_EQ(default_account.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(default_account), StartsWith("event.account_sid: "));
  const absl::Status malformed = caller.Account("AC12").status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(malformed), StartsWith("account_sid: "));
}

TEST_F(AuthorizerTest, ReloadedCredentialsApplyToTheNextCall) {
  ASSERT_TRUE(With({Basic(kReadKey, kReadSecret)}).ok());
  const std::string temp = dir_ + "/credentials.json.tmp";
  std::ofstream(temp) << absl::StrCat(R"({"accounts": [{"sid": ")", kAccount, R"("}]})");
  std::filesystem::rename(temp, dir_ + "/credentials.json");
  ASSERT_TRUE(file_->ReloadIfChanged().ok());
  EXPECT_EQ(With({Basic(kReadKey, kReadSecret)}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(With({Basic(kAccount, kToken)}).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthorizerOffTest, EveryoneIsAnAnonymousAdminOfAnyAccount) {
  const state::Sid default_account = *state::Sid::Parse(kDefaultAccount, "AC", "x");
  const Authorizer off(nullptr, default_account);
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.Gate(), nullptr);
  absl::StatusOr<Caller> caller = off.Authorize(Authorizer::Metadata{}, Permission::kAdmin);
  ASSERT_TRUE(caller.ok());
  EXPECT_FALSE(caller->authenticated());
  EXPECT_EQ(caller->name(), "anonymous");
  EXPECT_EQ(caller->Account("")->ToString(), kDefaultAccount);
  EXPECT_EQ(caller->Account(kOtherAccount)->ToString(), kOtherAccount);
  EXPECT_EQ(caller->Account("nope").status().code(), absl::StatusCode::kInvalidArgument);
}

// Without credentials rollcalld serves only on these (service/server.h).
TEST(LoopbackTest, OnlyLoopbackAddressesCountAsLoopback) {
  for (const char* address : {"127.0.0.1:50051", "127.1.2.3:0", "[::1]:50051", "localhost:50051",
                              "unix:/run/rollcall.sock", "unix-abstract:rollcall"}) {
    EXPECT_TRUE(IsLoopbackListenAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.7:50051", "[fe80::1]:50051",
        "rollcall.example.com:50051", "128.0.0.1:1", "[::ffff:10.0.0.1]:1"}) {
    EXPECT_FALSE(IsLoopbackListenAddress(address)) << address;
  }
}

TEST(AuditEntryTest, JsonLineHoldsEveryFieldEscaped) {
  AuditEntry entry("create_room", kReadKey, kAccount);
  entry.Add("unique_name", "stand \"up\"\n{}").Add("room", "");
  const std::string members = entry.Format(true, absl::OkStatus(), 42);
  const nlohmann::json line = nlohmann::json::parse("{" + members + "}");
  EXPECT_EQ(line["action"], "create_room");
  EXPECT_EQ(line["principal"], kReadKey);
  EXPECT_EQ(line["account"], kAccount);
  EXPECT_EQ(line["unique_name"], "stand \"up\"\n{}");
  EXPECT_FALSE(line.contains("room")) << "empty fields are left out";
  EXPECT_EQ(line["outcome"], "ok");
  EXPECT_EQ(line["revision"], 42);

  const nlohmann::json failed = nlohmann::json::parse(
      "{" + entry.Format(true, absl::NotFoundError("room: not found"), 0) + "}");
  EXPECT_EQ(failed["outcome"], "not_found");
  EXPECT_FALSE(failed.contains("revision"));
}

TEST(AuditEntryTest, TextLineIsKeyValuePairsWithQuotedOddValues) {
  AuditEntry entry("end_room", "anonymous", kAccount);
  entry.Add("room", "my room");
  EXPECT_EQ(entry.Format(false, absl::OkStatus(), 7),
            absl::StrCat("action=end_room principal=anonymous account=", kAccount,
                         " room=\"my room\" outcome=ok revision=7"));
  EXPECT_EQ(entry.Format(false, absl::FailedPreconditionError("x"), 0),
            absl::StrCat("action=end_room principal=anonymous account=", kAccount,
                         " room=\"my room\" outcome=failed_precondition"));
}

}  // namespace
}  // namespace rollcall::service
