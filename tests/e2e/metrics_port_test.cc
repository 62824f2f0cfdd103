// The metrics port against hostile clients, end to end against the real rollcalld: a body is
// refused before it is read (a 400 MiB POST leaves the server's memory alone), a many-range
// request costs nothing, and hundreds of silent or trickling connections do not stop a scrape.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raw_connection.h"
#include "server_process.h"

namespace rollcall::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Resident memory of a process, in KiB.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

bool Scrapes(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(10));
  httplib::Result response = client.Get("/metrics");
  return response && response->status == 200 &&
         response->body.find("rollcall_revision") != std::string::npos;
}

class MetricsPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    ASSERT_GT(server_.metrics_port(), 0);
  }
  ServerProcess server_{{"--store=memory"}};
};

TEST_F(MetricsPortTest, AHugeBodyIsRefusedBeforeItIsRead) {
  ASSERT_TRUE(Scrapes(server_.metrics_port()));
  const long rss_before = RssKib(server_.pid());
  RawConnection connection(server_.metrics_port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(
      connection.Send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 419430400\r\n\r\n"));
  const std::string chunk(1 << 20, 'x');
  int sent_mib = 0;
  while (sent_mib < 400 && connection.Send(chunk)) ++sent_mib;
  const std::string answer = connection.ReadAll();
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 405"));
  EXPECT_LT(sent_mib, 400) << "the server read the whole body";
  const long rss_after = RssKib(server_.pid());
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << rss_before << " KiB -> " << rss_after;

  // A GET with a body, and other methods, are refused too.
  RawConnection get_with_body(server_.metrics_port());
  ASSERT_TRUE(get_with_body.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_THAT(get_with_body.ReadAll(), StartsWith("HTTP/1.1 413"));
  RawConnection put(server_.metrics_port());
  ASSERT_TRUE(put.Send("PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(put.ReadAll(), StartsWith("HTTP/1.1 405"));
  EXPECT_TRUE(Scrapes(server_.metrics_port()));
}

TEST_F(MetricsPortTest, AManyRangeRequestCostsNothing) {
  std::string ranges = "bytes=0-0";
  for (int i = 1; ranges.size() < 7000; ++i)
    ranges += "," + std::to_string(i) + "-" + std::to_string(i);
  RawConnection connection(server_.metrics_port());
  ASSERT_TRUE(connection.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nRange: " + ranges +
                              "\r\nConnection: close\r\n\r\n"));
  const std::string answer = connection.ReadAll();
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 416"));
  EXPECT_LT(answer.size(), 1024u) << "a range request must not multiply the response";
  EXPECT_TRUE(Scrapes(server_.metrics_port()));
}

TEST_F(MetricsPortTest, SilentAndTricklingConnectionsDoNotBlockAScrape) {
  std::vector<std::unique_ptr<RawConnection>> hostile;
  for (int i = 0; i < 300; ++i) {
    auto connection = std::make_unique<RawConnection>(server_.metrics_port());
    ASSERT_TRUE(connection->connected()) << "connection " << i;
    if (i % 2 == 1) {
      ASSERT_TRUE(connection->Send("GET /metrics HTTP/1.1\r\nHost: x"));  // never finished
    }
    hostile.push_back(std::move(connection));
  }
  for (int scrape = 0; scrape < 5; ++scrape) {
    EXPECT_TRUE(Scrapes(server_.metrics_port())) << "scrape " << scrape;
  }
  EXPECT_THAT(server_.Log(), ::testing::Not(HasSubstr("critical")));
}

}  // namespace
}  // namespace rollcall::testing
