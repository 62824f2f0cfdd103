// TLS and mutual TLS on both ports, end to end against the real rollcalld, with a CA and
// certificates made at test time by the `openssl` command:
// - TLS: a client trusting the right CA is served; one trusting another CA, or speaking
//   plaintext, is not.
// - mTLS (--tls_client_ca_file): a client without a certificate, or with one from another CA,
//   is refused; one with a certificate from the client CA is served.
// - Rotation: the files are replaced in place (as cert-manager does) and new connections get
//   the new certificate, with no restart, on the gRPC, metrics and REST ports.
// - The REST port (docs/rest.md) serves TLS and mutual TLS from the same files.
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command; its output, and whether it exited 0.
bool Shell(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen(("{ " + command + "; } 2>&1").c_str(), "r");
  if (pipe == nullptr) return false;
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  if (output) *output = out;
  if (status != 0) ADD_FAILURE() << command << " failed:\n" << out;
  return status == 0;
}

// A CA and certificates it signs, as PEM files in a directory.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}

  void MakeCa(const std::string& name) {
    ASSERT_TRUE(
        Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
              "-days 2 -subj /CN=" +
              name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".crt")));
  }
  // name.crt / name.key signed by `ca`, for 127.0.0.1 and localhost.
  void MakeCert(const std::string& ca, const std::string& name) {
    std::ofstream(Path(name + ".ext"))
        << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n";
    ASSERT_TRUE(Shell(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
        " -keyout " + Path(name + ".key") + " -out " + Path(name + ".csr")));
    ASSERT_TRUE(Shell("openssl x509 -req -days 1 -in " + Path(name + ".csr") + " -CA " +
                      Path(ca + ".crt") + " -CAkey " + Path(ca + ".key") + " -CAcreateserial" +
                      " -extfile " + Path(name + ".ext") + " -out " + Path(name + ".crt")));
  }
  // Replaces `to`'s files by `from`'s, each by an atomic rename, as a Secret update does.
  void Install(const std::string& from, const std::string& to) {
    for (const char* suffix : {".key", ".crt"}) {
      std::filesystem::copy_file(Path(from + suffix), Path(to + suffix + ".new"),
                                 std::filesystem::copy_options::overwrite_existing);
      std::filesystem::rename(Path(to + suffix + ".new"), Path(to + suffix));
    }
  }
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  std::string Pem(const std::string& file) const { return ReadFile(Path(file)); }

 private:
  std::string dir_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A refused TLS client may write to a socket the server closed.
    signal(SIGPIPE, SIG_IGN);
    pki_.MakeCa("ca");
    pki_.MakeCa("other-ca");
    pki_.MakeCert("ca", "server-1");
    pki_.MakeCert("ca", "server-2");
    pki_.MakeCert("ca", "client");
    pki_.MakeCert("other-ca", "stranger");
    pki_.Install("server-1", "server");
  }

  std::vector<std::string> Flags(bool mutual) const {
    std::vector<std::string> flags = {
        "--store=memory", "--tls_cert_file=" + pki_.Path("server.crt"),
        "--tls_key_file=" + pki_.Path("server.key"), "--tls_reload_interval=1s"};
    if (mutual) flags.push_back("--tls_client_ca_file=" + pki_.Path("ca.crt"));
    return flags;
  }

  // `flags` plus the REST port (docs/rest.md), whose port RestPort() reads once started.
  std::vector<std::string> WithRest(std::vector<std::string> flags) const {
    flags.push_back("--rest_listen=127.0.0.1:0");
    flags.push_back("--rest_port_file=" + pki_.Path("rest_port"));
    return flags;
  }
  int RestPort() const {
    int port = 0;
    std::ifstream(pki_.Path("rest_port")) >> port;
    return port;
  }

  // A new channel (its own connection) trusting `ca`, presenting `client` if not empty.
  std::shared_ptr<grpc::Channel> Channel(const ServerProcess& server, const std::string& ca,
                                         const std::string& client = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_.Pem(ca + ".crt");
    if (!client.empty()) {
      options.pem_private_key = pki_.Pem(client + ".key");
      options.pem_cert_chain = pki_.Pem(client + ".crt");
    }
    grpc::ChannelArguments args;
    args.SetInt("rollcall.test.unique", ++unique_);
    return grpc::CreateCustomChannel(server.address(), grpc::SslCredentials(options), args);
  }

  // The common name of the certificate the server presented, or "" if the call failed.
  static std::string ServedName(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::ByteBuffer response;
    grpc::Slice empty("");
    const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                           grpc::internal::RpcMethod::NORMAL_RPC);
    const grpc::Status status = grpc::internal::BlockingUnaryCall(
        channel.get(), method, &context, grpc::ByteBuffer(&empty, 1), &response);
    if (!status.ok()) return "";
    auto names = context.auth_context()->FindPropertyValues("x509_common_name");
    return names.empty() ? "?" : std::string(names.front().data(), names.front().size());
  }

  // The common name the metrics port presents, through `openssl s_client`.
  std::string MetricsServedName(int port, const std::string& client) {
    std::string out;
    Shell("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " +
              pki_.Path("ca.crt") + " -cert " + pki_.Path(client + ".crt") + " -key " +
              pki_.Path(client + ".key") + " 2>/dev/null | openssl x509 -noout -subject",
          &out);
    return out;
  }

  httplib::Result Scrape(int port, const std::string& ca, const std::string& client = "",
                         const std::string& path = "/metrics") {
    std::unique_ptr<httplib::SSLClient> https =
        client.empty()
            ? std::make_unique<httplib::SSLClient>("127.0.0.1", port)
            : std::make_unique<httplib::SSLClient>("127.0.0.1", port, pki_.Path(client + ".crt"),
                                                   pki_.Path(client + ".key"));
    https->set_ca_cert_path(pki_.Path(ca + ".crt").c_str());
    https->enable_server_certificate_verification(true);
    https->set_connection_timeout(std::chrono::seconds(5));
    https->set_read_timeout(std::chrono::seconds(5));
    return https->Get(path);
  }

  TempDir dir_;
  Pki pki_{dir_.path()};
  int unique_ = 0;
};

TEST_F(TlsTest, ServesClientsTrustingItsCaOnly) {
  std::vector<std::string> flags = Flags(false);
  flags.push_back("--health_listen=127.0.0.1:0");
  flags.push_back("--health_port_file=" + pki_.Path("health_port"));
  ServerProcess server(flags);
  ASSERT_TRUE(server.Start());
  // Probes that cannot speak TLS use the plaintext health-only port.
  int health_port = 0;
  std::ifstream(pki_.Path("health_port")) >> health_port;
  ASSERT_GT(health_port, 0);
  Client probe(grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port),
                                   grpc::InsecureChannelCredentials()));
  EXPECT_EQ(probe.HealthStatus("readiness"), 1);
  EXPECT_EQ(probe.HealthStatus("liveness"), 1);
  v1::RecordEventResponse ignored;
  EXPECT_FALSE(probe.Record(ConnectedEvent("r", "a"), &ignored).ok()) << "health only";
  EXPECT_EQ(ServedName(Channel(server, "ca")), "server-1");
  EXPECT_EQ(ServedName(Channel(server, "other-ca")), "");
  Client plaintext(server.NewChannel());
  grpc::Status status;
  EXPECT_EQ(plaintext.HealthStatus("", &status), -1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The metrics port speaks TLS with the same files.
  httplib::Result good = Scrape(server.metrics_port(), "ca");
  ASSERT_TRUE(good) << httplib::to_string(good.error());
  EXPECT_EQ(good->status, 200);
  EXPECT_THAT(good->body, HasSubstr("rollcall_revision"));
  EXPECT_FALSE(Scrape(server.metrics_port(), "other-ca"));
  httplib::Client plain("127.0.0.1", server.metrics_port());
  plain.set_read_timeout(std::chrono::seconds(5));
  httplib::Result cleartext = plain.Get("/metrics");
  EXPECT_TRUE(!cleartext || cleartext->status != 200);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  ServerProcess server(Flags(true));
  ASSERT_TRUE(server.Start());
  EXPECT_EQ(ServedName(Channel(server, "ca", "client")), "server-1");
  EXPECT_EQ(ServedName(Channel(server, "ca")), "");
  EXPECT_EQ(ServedName(Channel(server, "ca", "stranger")), "");

  httplib::Result good = Scrape(server.metrics_port(), "ca", "client");
  ASSERT_TRUE(good) << httplib::to_string(good.error());
  EXPECT_EQ(good->status, 200);
  EXPECT_FALSE(Scrape(server.metrics_port(), "ca"));
  EXPECT_FALSE(Scrape(server.metrics_port(), "ca", "stranger"));
}

// The REST port (docs/rest.md) speaks TLS with the same files, and mutual TLS with the same CA.
TEST_F(TlsTest, RestPortUsesTheSameTlsAndClientCa) {
  for (const bool mutual : {false, true}) {
    SCOPED_TRACE(mutual ? "mutual TLS" : "TLS");
    ServerProcess server(WithRest(Flags(mutual)));
    ASSERT_TRUE(server.Start());
    const int rest_port = RestPort();
    ASSERT_GT(rest_port, 0);
    httplib::Result good = Scrape(rest_port, "ca", mutual ? "client" : "", "/v1/Rooms");
    ASSERT_TRUE(good) << httplib::to_string(good.error());
    EXPECT_EQ(good->status, 200);
    EXPECT_THAT(good->body, HasSubstr("\"key\":\"rooms\""));
    EXPECT_FALSE(Scrape(rest_port, "other-ca", "", "/v1/Rooms"));
    if (mutual) {
      httplib::Result anonymous = Scrape(rest_port, "ca", "", "/v1/Rooms");
      EXPECT_TRUE(!anonymous || anonymous->status == 403);
      httplib::Result stranger = Scrape(rest_port, "ca", "stranger", "/v1/Rooms");
      EXPECT_TRUE(!stranger || stranger->status == 403);
    }
    httplib::Client plain("127.0.0.1", rest_port);
    plain.set_read_timeout(std::chrono::seconds(5));
    httplib::Result cleartext = plain.Get("/v1/Rooms");
    EXPECT_TRUE(!cleartext || cleartext->status != 200);
  }
}

TEST_F(TlsTest, RotatedFilesAreServedWithoutARestart) {
  ServerProcess server(WithRest(Flags(true)));
  ASSERT_TRUE(server.Start());
  const int rest_port = RestPort();
  ASSERT_GT(rest_port, 0);
  const pid_t pid = server.pid();
  ASSERT_EQ(ServedName(Channel(server, "ca", "client")), "server-1");
  ASSERT_THAT(MetricsServedName(server.metrics_port(), "client"), HasSubstr("server-1"));
  ASSERT_THAT(MetricsServedName(rest_port, "client"), HasSubstr("server-1"));

  pki_.Install("server-2", "server");
  EXPECT_TRUE(WaitUntil([&] { return ServedName(Channel(server, "ca", "client")) == "server-2"; }));
  EXPECT_TRUE(WaitUntil([&] {
    return MetricsServedName(server.metrics_port(), "client").find("server-2") != std::string::npos;
  }));
  EXPECT_TRUE(WaitUntil([&] {
    return MetricsServedName(rest_port, "client").find("server-2") != std::string::npos;
  }));
  httplib::Result rooms = Scrape(rest_port, "ca", "client", "/v1/Rooms");
  ASSERT_TRUE(rooms) << httplib::to_string(rooms.error());
  EXPECT_EQ(rooms->status, 200);
  EXPECT_EQ(server.pid(), pid);
  EXPECT_EQ(::kill(pid, 0), 0) << "the same process serves";
}

TEST_F(TlsTest, BadTlsFlagsStopTheStartWithTheFlagNamed) {
  std::string out;
  Shell(std::string(ROLLCALLD_PATH) + " --store=memory --listen=127.0.0.1:0 --metrics_port=-1" +
            " --tls_cert_file=" + pki_.Path("server-1.crt") +
            " --tls_key_file=" + pki_.Path("server-2.key") + "; echo exit=$?",
        &out);
  EXPECT_THAT(out, HasSubstr("--tls_key_file"));
  EXPECT_THAT(out, HasSubstr("exit=1"));
  Shell(std::string(ROLLCALLD_PATH) + " --store=memory --listen=127.0.0.1:0 --metrics_port=-1" +
            " --tls_cert_file=" + pki_.Path("server-1.crt") + "; echo exit=$?",
        &out);
  EXPECT_THAT(out, HasSubstr("--tls_cert_file and --tls_key_file"));
  EXPECT_THAT(out, HasSubstr("exit=1"));
}

}  // namespace
}  // namespace rollcall::testing
