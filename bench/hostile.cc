// rollcall-hostile: re-runs the hostile-client cases against a rollcalld binary and prints what
// each cost the server (RSS, ingest rate, scrape success). Loopback only, bounded: it starts
// the given binary itself on port 0 with a fresh data directory, and kills it at the end.
//   rollcall-hostile --server=build/release/service/rollcalld [--flood=2000]
// Cases (docs/security.md, "Hostile clients"): unknown gRPC method names, a 400 MiB POST to the
// metrics port, a 2,700-range request, silent and trickling connections against scrapes, a
// StreamEvents message of 70,000 small events, and a flood of idle gRPC connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "rollcall/v1/ingest_service.grpc.pb.h"

ABSL_FLAG(std::string, server, "", "rollcalld binary to attack");
ABSL_FLAG(int, flood, 2000, "idle gRPC connections in the flood case");
ABSL_FLAG(int, unknown_methods, 20000, "distinct unknown method names");

namespace {

using Clock = std::chrono::steady_clock;
using rollcall::v1::IngestService;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

int Connect(int port, int timeout_seconds = 10) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{timeout_seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` and reads until the server closes or `timeout_seconds` of silence.
std::string Exchange(int port, const std::string& request, int timeout_seconds = 10) {
  const int fd = Connect(port, timeout_seconds);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) out.append(buffer, static_cast<size_t>(n));
  close(fd);
  return out;
}

bool ScrapeOk(int port, size_t* bytes = nullptr) {
  const std::string answer =
      Exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  if (bytes) *bytes = answer.size();
  return answer.rfind("HTTP/1.1 200", 0) == 0;
}

struct Server {
  pid_t pid = -1;
  int port = 0;
  int metrics_port = 0;
  std::string dir;
};

Server Start(const std::string& binary) {
  Server server;
  char pattern[] = "/tmp/rollcall-hostile-XXXXXX";
  server.dir = mkdtemp(pattern);
  const std::string port_file = server.dir + "/port";
  const std::string metrics_file = server.dir + "/metrics_port";
  server.pid = fork();
  if (server.pid == 0) {
    const int log = open((server.dir + "/log").c_str(), O_WRONLY | O_CREAT, 0644);
    dup2(log, STDERR_FILENO);
    execl(binary.c_str(), binary.c_str(), "--listen=127.0.0.1:0", "--metrics_port=0",
          ("--port_file=" + port_file).c_str(), ("--metrics_port_file=" + metrics_file).c_str(),
          ("--data_dir=" + server.dir + "/data").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && server.port <= 0) {
    std::ifstream(port_file) >> server.port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream(metrics_file) >> server.metrics_port;
  return server;
}

void Stop(const Server& server) {
  kill(server.pid, SIGKILL);
  waitpid(server.pid, nullptr, 0);
  std::filesystem::remove_all(server.dir);
}

rollcall::v1::Event Connected(const std::string& room, const std::string& identity) {
  rollcall::v1::Event event;
  static std::atomic<uint64_t> next{0};
  event.set_event_id("h" + std::to_string(next++) + "-" + std::to_string(getpid()));
  event.set_type(rollcall::v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
  event.set_room(room);
  event.set_identity(identity);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  event.mutable_occurred_at()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  return event;
}

// Events applied per second over `seconds`, 4 StreamEvents calls of 100-event messages.
double IngestRate(int port, double seconds) {
  std::atomic<uint64_t> applied{0};
  std::vector<std::thread> threads;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("hostile.unique", t);
      auto stub = IngestService::NewStub(grpc::CreateCustomChannel(
          "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
      grpc::ClientContext context;
      auto stream = stub->StreamEvents(&context);
      for (int n = 0; Clock::now() < end; ++n) {
        // A new account every 9,000 participants: the quotas are not what this measures.
        char account[35];
        std::snprintf(account, sizeof(account), "AC%08x%08x%016x", static_cast<unsigned>(getpid()),
                      static_cast<unsigned>(t), static_cast<unsigned>(n / 90) + 1u);
        rollcall::v1::StreamEventsRequest request;
        for (int k = 0; k < 100; ++k) {
          rollcall::v1::Event* event = request.add_events();
          *event = Connected("rate-" + std::to_string(n), "p" + std::to_string(k));
          event->set_account_sid(account);
        }
        rollcall::v1::StreamEventsResponse response;
        if (!stream->Write(request) || !stream->Read(&response)) break;
        int got = response.results_size();
        while (got < 100 && stream->Read(&response)) got += response.results_size();
        applied += static_cast<uint64_t>(got);
      }
      stream->WritesDone();
      stream->Finish();
    });
  }
  for (auto& thread : threads) thread.join();
  return static_cast<double>(applied) / seconds;
}

// One health round trip, in milliseconds (-1: failed).
double HealthMs(int port) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  const auto start = Clock::now();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", {}, &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard lock(mu);
                   status = s;
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  return status.ok() ? Seconds(start) * 1000 : -1;
}

void Report(const char* name, const std::string& figures) {
  std::printf("| %s | %s |\n", name, figures.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const std::string binary = absl::GetFlag(FLAGS_server);
  Server server = Start(binary);
  if (server.port <= 0) {
    std::fprintf(stderr, "rollcall-hostile: %s did not start\n", binary.c_str());
    return 1;
  }
  char figures[512];
  std::printf("| case | result |\n|---|---|\n");
  const long rss0 = RssKib(server.pid);
  const double rate0 = IngestRate(server.port, 3);
  std::snprintf(figures, sizeof(figures), "RSS %ld MiB, ingest %.0f events/s, health %.1f ms",
                rss0 / 1024, rate0, HealthMs(server.port));
  Report("baseline", figures);

  {  // Unknown method names.
    const long before = RssKib(server.pid);
    grpc::GenericStub stub(grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port),
                                               grpc::InsecureChannelCredentials()));
    const int count = absl::GetFlag(FLAGS_unknown_methods);
    std::atomic<int> outstanding{0};
    for (int i = 0; i < count; ++i) {
      while (outstanding > 256) std::this_thread::yield();
      ++outstanding;
      auto* context = new grpc::ClientContext;
      grpc::Slice empty("");
      auto* request = new grpc::ByteBuffer(&empty, 1);
      auto* response = new grpc::ByteBuffer;
      stub.UnaryCall(context, "/hostile.S" + std::to_string(i) + "/M", {}, request, response,
                     [&, context, request, response](grpc::Status) {
                       delete context;
                       delete request;
                       delete response;
                       --outstanding;
                     });
    }
    while (outstanding > 0) std::this_thread::yield();
    size_t bytes = 0;
    ScrapeOk(server.metrics_port, &bytes);
    std::snprintf(figures, sizeof(figures), "%d names: /metrics %zu bytes, RSS +%ld MiB", count,
                  bytes, (RssKib(server.pid) - before) / 1024);
    Report("unknown gRPC methods", figures);
  }
  {  // A 400 MiB POST.
    const long before = RssKib(server.pid);
    const int fd = Connect(server.metrics_port);
    const std::string head =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 419430400\r\n\r\n";
    send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string chunk(1 << 20, 'x');
    int sent = 0;
    while (sent < 400 && send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) ++sent;
    char status[16] = {0};
    recv(fd, status, sizeof(status) - 1, 0);
    close(fd);
    std::snprintf(figures, sizeof(figures), "answer \"%.12s\", %d MiB accepted, RSS +%ld MiB",
                  status, sent, (RssKib(server.pid) - before) / 1024);
    Report("metrics: 400 MiB POST", figures);
  }
  {  // Range bomb.
    std::string ranges = "bytes=0-0";
    for (int i = 1; ranges.size() < 8000; ++i)
      ranges += "," + std::to_string(i) + "-" + std::to_string(i);
    const std::string answer =
        Exchange(server.metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\nRange: " + ranges +
                                          "\r\nConnection: close\r\n\r\n");
    std::snprintf(figures, sizeof(figures), "8 KB request -> %zu bytes (\"%.12s\")", answer.size(),
                  answer.c_str());
    Report("metrics: range bomb", figures);
  }
  for (const int slow : {2, 300}) {  // Silent and trickling connections, then 5 scrapes.
    std::vector<int> fds;
    for (int i = 0; i < slow; ++i) {
      const int fd = Connect(server.metrics_port);
      if (i % 2 == 1 && fd >= 0) send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
      fds.push_back(fd);
    }
    int ok = 0;
    double slowest = 0;
    for (int scrape = 0; scrape < 5; ++scrape) {
      const auto start = Clock::now();
      ok += ScrapeOk(server.metrics_port) ? 1 : 0;
      slowest = std::max(slowest, Seconds(start));
    }
    for (const int fd : fds) close(fd);
    std::snprintf(figures, sizeof(figures), "%d of 5 scrapes succeeded, slowest %.2f s", ok,
                  slowest);
    Report(slow == 2 ? "metrics: 2 silent connections" : "metrics: 300 slow connections", figures);
  }
  {  // 70,000 small events in one StreamEvents message.
    auto stub = IngestService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server.port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    auto stream = stub->StreamEvents(&context);
    rollcall::v1::StreamEventsRequest huge;
    for (int i = 0; i < 70000; ++i) {
      auto* event = huge.add_events();
      event->set_event_id("e" + std::to_string(i));
      event->set_type(rollcall::v1::EVENT_TYPE_PARTICIPANT_CONNECTED);
    }
    int results = 0, responses = 0;
    rollcall::v1::StreamEventsResponse response;
    if (stream->Write(huge)) {
      while (results < 70000 && stream->Read(&response)) {
        ++responses;
        results += response.results_size();
      }
    }
    rollcall::v1::StreamEventsRequest next;
    *next.add_events() = Connected("after-huge", "a");
    response.Clear();
    const bool next_ok =
        stream->Write(next) && stream->Read(&response) && response.results_size() == 1;
    stream->WritesDone();
    const grpc::Status end = stream->Finish();
    std::snprintf(figures, sizeof(figures),
                  "%d results in %d responses; next message %s; stream ended %s", results,
                  responses, next_ok ? "answered" : "LOST",
                  end.ok() ? "OK" : end.error_message().c_str());
    Report("StreamEvents: 70,000-event message", figures);
  }
  {  // Idle connection flood.
    const int count = absl::GetFlag(FLAGS_flood);
    const long before = RssKib(server.pid);
    std::vector<int> fds;
    for (int i = 0; i < count; ++i) {
      const int fd = Connect(server.port);
      if (fd < 0) break;
      send(fd, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, MSG_NOSIGNAL);  // preface, then silence
      fds.push_back(fd);
    }
    const double rate = IngestRate(server.port, 3);
    const double health = HealthMs(server.port);
    const long during = RssKib(server.pid);
    std::this_thread::sleep_for(std::chrono::seconds(12));  // past --handshake_timeout (10 s)
    int open_after = 0;
    for (const int fd : fds) {  // open: drained to EAGAIN; closed: EOF or reset
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0) {
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open_after;
    }
    for (const int fd : fds) close(fd);
    std::snprintf(figures, sizeof(figures),
                  "%zu idle connections: RSS +%ld MiB, ingest %.0f events/s, health %.1f ms; "
                  "%d still open after 12 s",
                  fds.size(), (during - before) / 1024, rate, health, open_after);
    Report("gRPC: idle connection flood", figures);
  }
  std::snprintf(figures, sizeof(figures), "RSS %ld MiB", RssKib(server.pid) / 1024);
  Report("end", figures);
  Stop(server);
  return 0;
}
