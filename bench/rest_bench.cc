// rollcall-rest-bench: REST reads per second and latency percentiles on rollcalld's REST port,
// beside a no-op server on the same HTTP layer (docs/benchmarks.md, "REST reads").
//
// The no-op server is this binary started again with --noop_server: service/rest_http.h's
// RestHttpServer (libmicrohttpd, the same flags' defaults) whose handler returns a fixed JSON
// body of the size of a room, so the ratio prices what the REST face adds over HTTP itself:
// the in-process gRPC call, the roster read and the JSON rendering.
//
// Both servers run as their own processes on loopback; the clients are threads of this one,
// each a keep-alive connection issuing GETs back to back (closed loop) for --seconds.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "service/rest_http.h"

ABSL_FLAG(std::string, server, "", "the rollcalld binary to measure");
ABSL_FLAG(int, clients, 8, "concurrent keep-alive client connections");
ABSL_FLAG(int, seconds, 5, "measuring time per workload");
ABSL_FLAG(int, rooms, 200, "rooms created before measuring");
ABSL_FLAG(bool, noop_server, false, "internal: serve the no-op baseline and write --port_file");
ABSL_FLAG(std::string, port_file, "", "internal: where --noop_server writes its port");

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
};

// Starts `args` (args[0] the binary) and waits for the port it writes to `port_file`.
int StartServer(std::vector<std::string> args, const std::string& port_file, pid_t& pid) {
  std::filesystem::remove(port_file);
  pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    int port = 0;
    if (std::ifstream(port_file) >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

Result Measure(int port, const std::vector<std::string>& paths) {
  const int clients = absl::GetFlag(FLAGS_clients);
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      size_t next = static_cast<size_t>(c);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto sent = Clock::now();
        auto result = http.Get(paths[next++ % paths.size()]);
        if (!result || result->status != 200) {
          ++errors;
          continue;
        }
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& one : latencies) all.insert(all.end(), one.begin(), one.end());
  std::sort(all.begin(), all.end());
  Result result;
  result.errors = errors;
  if (all.empty()) return result;
  result.per_second = static_cast<double>(all.size()) / elapsed;
  result.p50_ms = all[all.size() / 2];
  result.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return result;
}

void Print(const char* name, const Result& result, double baseline) {
  std::printf("%-34s %10.0f reads/s  p50 %6.2f ms  p99 %6.2f ms  errors %llu", name,
              result.per_second, result.p50_ms, result.p99_ms,
              static_cast<unsigned long long>(result.errors));
  if (baseline > 0) std::printf("  (%.2fx the no-op server)", result.per_second / baseline);
  std::printf("\n");
}

int ServeNoop() {
  // About the size of a room's JSON.
  const std::string body = absl::StrCat("{\"sid\":\"RM", std::string(32, '0'), "\",\"padding\":\"",
                                        std::string(900, 'x'), "\"}");
  rollcall::service::RestHttpOptions options;
  options.listen = "127.0.0.1:0";
  auto server = rollcall::service::RestHttpServer::Start(
      options,
      [&body](const rollcall::service::HttpRequest&) {
        rollcall::service::HttpResponse response;
        response.body = body;
        return response;
      },
      [](int status, const std::string& message) {
        rollcall::service::HttpResponse response;
        response.status = status;
        response.body = message;
        return response;
      });
  if (!server.ok()) return 1;
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  std::ofstream(port_file + ".tmp") << (*server)->port() << "\n";
  std::filesystem::rename(port_file + ".tmp", port_file);
  pause();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_noop_server)) return ServeNoop();
  const std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    std::fprintf(stderr, "--server: the rollcalld binary is required\n");
    return 2;
  }
  const std::string dir =
      std::filesystem::temp_directory_path() / absl::StrCat("rollcall-rest-bench-", getpid());
  std::filesystem::create_directories(dir);

  pid_t noop_pid = 0;
  const int noop_port = StartServer({std::filesystem::canonical("/proc/self/exe").string(),
                                     "--noop_server", "--port_file=" + dir + "/noop_port"},
                                    dir + "/noop_port", noop_pid);
  pid_t rollcalld_pid = 0;
  const int rest_port = StartServer(
      {server, "--store=memory", "--listen=127.0.0.1:0", "--metrics_port=-1",
       "--port_file=" + dir + "/port", "--rest_listen=127.0.0.1:0",
       "--rest_port_file=" + dir + "/rest_port", "--log_level=warn", "--max_account_rooms=100000"},
      dir + "/port", rollcalld_pid);
  int exit_code = 0;
  if (noop_port <= 0 || rest_port <= 0) {
    std::fprintf(stderr, "a server did not start\n");
    exit_code = 1;
  } else {
    int port = 0;
    std::ifstream(dir + "/rest_port") >> port;
    httplib::Client http("127.0.0.1", port);
    std::vector<std::string> rooms;
    for (int i = 0; i < absl::GetFlag(FLAGS_rooms); ++i) {
      const std::string name = absl::StrCat("bench-", i);
      auto created =
          http.Post("/v1/Rooms", "UniqueName=" + name, "application/x-www-form-urlencoded");
      if (created && created->status == 201) rooms.push_back("/v1/Rooms/" + name);
    }
    std::printf("REST reads, %d keep-alive clients, %d s each, %zu rooms\n",
                absl::GetFlag(FLAGS_clients), absl::GetFlag(FLAGS_seconds), rooms.size());
    const Result noop = Measure(noop_port, {"/noop"});
    Print("no-op server (same HTTP layer)", noop, 0);
    Print("GET /v1/Rooms/{UniqueName}", Measure(port, rooms), noop.per_second);
    Print("GET /v1/Rooms?PageSize=50", Measure(port, {"/v1/Rooms?PageSize=50"}), noop.per_second);
  }
  for (pid_t pid : {noop_pid, rollcalld_pid}) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::filesystem::remove_all(dir);
  return exit_code;
}
