// `rollcall`'s credentials and TLS options against the in-process fake server: the
// authorization metadata is exactly "Basic base64(SID:SECRET)" on every call, from flags or
// the environment (ROLLCALL_* over TWILIO_*), and --ca/--cert/--key are applied to the
// channel. Certificates are made at test time with openssl.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cli/dispatch.h"
#include "cli/exit_code.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "gtest/gtest.h"
#include "tests/cli/fake_server.h"

namespace rollcall::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeServer;
using ::testing::HasSubstr;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunWith(std::vector<std::string> args, const CliEnvironment& environment) {
  std::ostringstream out;
  std::ostringstream err;
  int code = RunCli(args, environment, out, err);
  return {code, out.str(), err.str()};
}

void ScriptApplied(FakeServer& server) {
  server.ingest.record = [](const v1::RecordEventRequest&, v1::RecordEventResponse* response) {
    response->set_outcome(v1::EVENT_OUTCOME_APPLIED);
    response->set_revision(1);
    return grpc::Status::OK;
  };
}

std::vector<std::string> Connect(const FakeServer& server) {
  return {"--server", server.address(), "event", "connect", "--room", "r", "--identity", "a"};
}

std::string Basic(const std::string& sid, const std::string& secret) {
  return "Basic " + absl::Base64Escape(sid + ":" + secret);
}

TEST(Credentials, ApiKeyFlagsAreSentExactlyOnEveryCall) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  ScriptApplied(server);
  std::vector<std::string> args = Connect(server);
  args.insert(args.end(), {"--api-key", "SK0123", "--api-secret", "s3cr:et"});
  for (int i = 0; i < 2; ++i) {
    Result r = RunWith(args, {});
    ASSERT_EQ(r.code, kExitOk) << r.err;
  }
  absl::MutexLock lock(&server.ingest.mu);
  EXPECT_THAT(server.ingest.authorizations, ElementsAre(ElementsAre(Basic("SK0123", "s3cr:et")),
                                                        ElementsAre(Basic("SK0123", "s3cr:et"))));
}

TEST(Credentials, FromTheEnvironmentAndFlagsWin) {
  FakeServer server;
  ASSERT_TRUE(server.ok());
  ScriptApplied(server);
  CliEnvironment environment;
  environment.account_sid = "AC1";
  environment.auth_token = "token1";
  ASSERT_EQ(RunWith(Connect(server), environment).code, kExitOk);
  environment.api_key = "SK2";
  environment.api_secret = "secret2";
  ASSERT_EQ(RunWith(Connect(server), environment).code, kExitOk);  // an API key first
  std::vector<std::string> args = Connect(server);
  args.insert(args.end(), {"--account-sid", "AC3", "--auth-token", "token3"});
  ASSERT_EQ(RunWith(args, environment).code, kExitOk);
  ASSERT_EQ(RunWith(Connect(server), {}).code, kExitOk);  // nothing given: nothing sent
  absl::MutexLock lock(&server.ingest.mu);
  EXPECT_THAT(server.ingest.authorizations,
              ElementsAre(ElementsAre(Basic("AC1", "token1")), ElementsAre(Basic("SK2", "secret2")),
                          ElementsAre(Basic("AC3", "token3")), ElementsAre()));
}

TEST(Credentials, ProcessEnvironmentNamesRollcallOverTwilio) {
  setenv("TWILIO_ACCOUNT_SID", "ACtwilio", 1);
  setenv("TWILIO_AUTH_TOKEN", "ttwilio", 1);
  setenv("ROLLCALL_AUTH_TOKEN", "trollcall", 1);
  setenv("TWILIO_API_KEY", "SKtwilio", 1);
  setenv("TWILIO_API_SECRET", "stwilio", 1);
  CliEnvironment environment = CliEnvironment::FromProcess();
  for (const char* name : {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "ROLLCALL_AUTH_TOKEN",
                           "TWILIO_API_KEY", "TWILIO_API_SECRET"}) {
    unsetenv(name);
  }
  EXPECT_EQ(environment.account_sid, "ACtwilio");
  EXPECT_EQ(environment.auth_token, "trollcall");
  EXPECT_EQ(environment.api_key, "SKtwilio");
  EXPECT_EQ(environment.api_secret, "stwilio");
}

TEST(Credentials, HalfAPairOrCleartextToAnotherHostIsAUsageError) {
  auto usage = [](std::vector<std::string> args, const CliEnvironment& environment,
                  const std::string& needle) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Result r = RunWith(args, environment);
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_THAT(r.err, HasSubstr(needle));
  };
  const std::vector<std::string> local = {"--server", "127.0.0.1:9", "rooms", "list"};
  std::vector<std::string> args = local;
  args.insert(args.end(), {"--api-key", "SK1"});
  usage(args, {}, "--api-key needs --api-secret");
  CliEnvironment half;
  half.auth_token = "t";
  usage(local, half, "--auth-token needs --account-sid (from the environment)");
  usage({"--server", "rollcall.example:50051", "rooms", "list", "--api-key", "SK1", "--api-secret",
         "s"},
        {}, "credentials would be sent in clear");
  args = local;
  args.insert(args.end(), {"--cert", "/nonexistent.pem"});
  usage(args, {}, "--cert needs --key");
  args = local;
  args.insert(args.end(), {"--ca", "/nonexistent.pem"});
  usage(args, {}, "flag --ca: cannot read");
}

// A CA-less pair: a self-signed certificate for 127.0.0.1 (its own CA), made with openssl.
struct Pem {
  std::string cert_file;
  std::string key_file;
  std::string cert;
  std::string key;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("rollcall-cli-tls-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    server_pem_ = Make("server");
    client_pem_ = Make("client");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Pem Make(const std::string& name) {
    Pem pem{(dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string(), "", ""};
    const std::string command =
        absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=", name,
                     " -addext subjectAltName=IP:127.0.0.1 -keyout ", pem.key_file, " -out ",
                     pem.cert_file, " >/dev/null 2>&1");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    pem.cert = ReadFile(pem.cert_file);
    pem.key = ReadFile(pem.key_file);
    return pem;
  }

  std::shared_ptr<grpc::ServerCredentials> ServerTls(bool require_client_cert) {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back({server_pem_.key, server_pem_.cert});
    if (require_client_cert) options.pem_root_certs = client_pem_.cert;
    return grpc::SslServerCredentials(options);
  }

  std::filesystem::path dir_;
  Pem server_pem_;
  Pem client_pem_;
};

TEST_F(TlsTest, CaFileIsUsedAndPlaintextFails) {
  FakeServer server(ServerTls(/*require_client_cert=*/false));
  ASSERT_TRUE(server.ok());
  ScriptApplied(server);
  std::vector<std::string> args = Connect(server);
  args.insert(args.end(), {"--timeout", "5s", "--ca", server_pem_.cert_file, "--api-key", "SK1",
                           "--api-secret", "s"});
  Result r = RunWith(args, {});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  {
    absl::MutexLock lock(&server.ingest.mu);
    EXPECT_THAT(server.ingest.authorizations, ElementsAre(ElementsAre(Basic("SK1", "s"))));
  }
  // Plaintext to a TLS port, or TLS with the system's roots (which do not hold this
  // self-signed certificate): no call reaches the server.
  for (const char* transport : {"", "--tls"}) {
    std::vector<std::string> other = Connect(server);
    other.insert(other.end(), {"--timeout", "2s"});
    if (*transport != '\0') other.push_back(transport);
    Result failed = RunWith(other, {});
    EXPECT_EQ(failed.code, kExitUnavailable) << transport << failed.err;
  }
  absl::MutexLock lock(&server.ingest.mu);
  EXPECT_EQ(server.ingest.authorizations.size(), 1u);
}

TEST_F(TlsTest, ClientCertificateForMutualTls) {
  FakeServer server(ServerTls(/*require_client_cert=*/true));
  ASSERT_TRUE(server.ok());
  ScriptApplied(server);
  std::vector<std::string> args = Connect(server);
  args.insert(args.end(), {"--timeout", "5s", "--ca", server_pem_.cert_file});
  Result without = RunWith(args, {});
  EXPECT_EQ(without.code, kExitUnavailable) << without.err;
  args.insert(args.end(), {"--cert", client_pem_.cert_file, "--key", client_pem_.key_file});
  Result with = RunWith(args, {});
  EXPECT_EQ(with.code, kExitOk) << with.err;
  absl::MutexLock lock(&server.ingest.mu);
  EXPECT_EQ(server.ingest.authorizations.size(), 1u);
}

}  // namespace
}  // namespace rollcall::cli
