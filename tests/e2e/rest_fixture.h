// RestFixture: the real rollcalld with its REST port on (docs/rest.md) and a credentials file
// of one account (auth token, an admin key, a read key), plus a gRPC client authorized with the
// auth token and an HTTP client for the REST port. Shared by the REST end-to-end tests.
#ifndef ROLLCALL_TESTS_E2E_REST_FIXTURE_H_
#define ROLLCALL_TESTS_E2E_REST_FIXTURE_H_

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/client.h"
#include "tests/e2e/server_process.h"

namespace rollcall::testing {

class RestFixture : public ::testing::Test {
 protected:
  static constexpr char kBaseUrl[] = "https://video.rollcall.test";

  // Extra rollcalld flags for one test.
  virtual std::vector<std::string> ExtraFlags() const { return {}; }

  void SetUp() override {
    nlohmann::json credentials;
    credentials["accounts"] = {
        {{"sid", account_},
         {"auth_token", token_},
         {"api_keys",
          {{{"sid", admin_sid_}, {"secret", admin_secret_}, {"role", "admin"}},
           {{"sid", read_sid_}, {"secret", read_secret_}, {"role", "read"}}}}}};
    std::ofstream(dir_.path() + "/credentials.json") << credentials.dump();
    std::vector<std::string> flags = {"--credentials_file=" + dir_.path() + "/credentials.json",
                                      "--rest_listen=127.0.0.1:0",
                                      "--rest_port_file=" + dir_.path() + "/rest_port",
                                      std::string("--public_base_url=") + kBaseUrl};
    for (std::string& flag : ExtraFlags()) flags.push_back(std::move(flag));
    server_.set_flags(flags);
    StartServer();
  }

  // Starts (or restarts) rollcalld and reads its ports.
  void StartServer() {
    ASSERT_TRUE(server_.Start());
    // Written before the gRPC port file that Start waited for.
    std::ifstream(dir_.path() + "/rest_port") >> rest_port_;
    ASSERT_GT(rest_port_, 0);
    grpc_ = std::make_unique<Client>(
        AuthorizedChannel(server_.address(), BasicAuthorization(account_, token_)));
  }

  // An HTTP client of the REST port authenticated as `sid`:`secret` (none when empty).
  std::unique_ptr<httplib::Client> Http(const std::string& sid = "",
                                        const std::string& secret = "") const {
    auto http = std::make_unique<httplib::Client>("127.0.0.1", rest_port_);
    http->set_connection_timeout(10);
    http->set_read_timeout(10);
    if (!sid.empty()) http->set_basic_auth(sid, secret);
    return http;
  }
  std::unique_ptr<httplib::Client> Admin() const { return Http(admin_sid_, admin_secret_); }

  static nlohmann::json Json(const httplib::Result& result) {
    if (!result) return nullptr;
    return nlohmann::json::parse(result->body, nullptr, false);
  }

  std::string rest_url() const { return "http://127.0.0.1:" + std::to_string(rest_port_); }

  TempDir dir_;
  ServerProcess server_;
  int rest_port_ = 0;
  std::unique_ptr<Client> grpc_;
  const std::string account_ = NewAccountSid();
  const std::string token_ = RandomHex(32);
  const std::string admin_sid_ = "SK" + RandomHex(32);
  const std::string admin_secret_ = RandomHex(48);
  const std::string read_sid_ = "SK" + RandomHex(32);
  const std::string read_secret_ = RandomHex(48);
};

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_REST_FIXTURE_H_
