#include "service/metrics_http.h"

#include <httplib.h>

#include <chrono>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {

struct ConnectionThreadState {
  absl::Mutex mu;
  int max = 0;
  int running ABSL_GUARDED_BY(mu) = 0;
  std::deque<std::function<void()>> waiting ABSL_GUARDED_BY(mu);
};

// cpp-httplib hands each accepted connection to a TaskQueue as a function that serves it and
// closes the socket. This one starts a thread per connection, up to `max`; past that the
// connection waits for a thread to free up (only its function is kept). A thread-pool would
// let a few silent connections hold every worker and block the scrapes behind them.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::shared_ptr<ConnectionThreadState> state)
      : state_(std::move(state)) {}

  void enqueue(std::function<void()> serve) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->running >= state_->max) {
      state_->waiting.push_back(std::move(serve));
      return;
    }
    ++state_->running;
    std::thread([state = state_, serve = std::move(serve)]() mutable {
      Run(*state, std::move(serve));
    }).detach();
  }

  // Called when the server stops listening: waits (a little) for the connections in hand.
  void shutdown() override {
    absl::MutexLock lock(&state_->mu);
    const auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
      return state_->running == 0;
    };
    state_->mu.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(3));
  }

 private:
  static void Run(ConnectionThreadState& state, std::function<void()> serve) {
    while (true) {
      serve();
      absl::MutexLock lock(&state.mu);
      if (state.waiting.empty()) {
        --state.running;
        return;
      }
      serve = std::move(state.waiting.front());
      state.waiting.pop_front();
    }
  }

  std::shared_ptr<ConnectionThreadState> state_;
};

namespace {

// Everything is decided here, before cpp-httplib would read a body or apply ranges.
httplib::Server::HandlerResponse Route(const MetricsRegistry& registry,
                                       const httplib::Request& request,
                                       httplib::Response& response) {
  const auto refuse = [&response](int status, const char* why) {
    response.status = status;  // the connection closes after it (one request per connection)
    response.set_content(why, "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  };
  if (request.method != "GET") {
    response.set_header("Allow", "GET");
    return refuse(405, "only GET is served here\n");
  }
  if (request.has_header("Transfer-Encoding") ||
      (request.has_header("Content-Length") && request.get_header_value("Content-Length") != "0")) {
    return refuse(413, "a request body is not accepted here\n");
  }
  if (request.has_header("Range")) {
    response.status = 416;  // an empty body: nothing for ranges to multiply
    return httplib::Server::HandlerResponse::Handled;
  }
  if (request.path == "/metrics") {
    response.status = 200;
    response.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  } else if (request.path == "/") {
    response.status = 200;
    response.set_content("rollcalld: metrics are at /metrics\n", "text/plain");
  } else {
    response.status = 404;
    response.set_content("not found; metrics are at /metrics\n", "text/plain");
  }
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const MetricsHttpOptions& options, const MetricsRegistry& registry) {
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("--metrics_max_connections: must be at least 1");
  }
  if (options.read_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("--metrics_read_timeout: must be at least 100ms");
  }
  std::unique_ptr<TlsFiles> tls;
  std::unique_ptr<httplib::Server> http;
  if (options.tls.enabled()) {
    tls = std::make_unique<TlsFiles>(options.tls);
    http = std::make_unique<httplib::SSLServer>(
        [files = tls.get()](SSL_CTX& ctx) { return files->Install(ctx); });
    if (!http->is_valid()) {
      return absl::InvalidArgumentError(
          "--tls_cert_file: the metrics port cannot use the TLS files (see the log)");
    }
  } else {
    http = std::make_unique<httplib::Server>();
  }
  http->set_pre_routing_handler(
      [&registry](const httplib::Request& request, httplib::Response& response) {
        return Route(registry, request, response);
      });
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second server
  // share the port silently instead of failing to start.
  auto listener = std::make_shared<socket_t>(INVALID_SOCKET);
  http->set_socket_options([listener](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listener = sock;
  });
  const auto timeout = absl::ToChronoMicroseconds(options.read_timeout);
  http->set_read_timeout(timeout);
  http->set_write_timeout(timeout);
  // One request per connection: cpp-httplib decides keep-alive from the request alone, and
  // would read a refused request's body as the next request line, growing without bound.
  http->set_keep_alive_max_count(1);
  http->set_payload_max_length(1);  // 0 would mean "no limit"; nothing legitimate has a body
  auto connections = std::make_shared<ConnectionThreadState>();
  connections->max = options.max_connections;
  http->new_task_queue = [connections] { return new ConnectionThreads(connections); };
  int bound = options.port;
  if (options.port == 0) {
    bound = http->bind_to_any_port(options.host);
    if (bound <= 0) bound = -1;
  } else if (!http->bind_to_port(options.host, options.port)) {
    bound = -1;
  }
  // cpp-httplib listens with a backlog of 5: a burst of connections would have the kernel drop
  // the SYNs after it (a scrape among them waits a second per retry). Calling listen() again
  // on the bound socket raises the backlog.
  if (bound > 0 && *listener != INVALID_SOCKET) ::listen(*listener, 1024);
  if (bound < 0) {
    return absl::UnavailableError(absl::StrCat("--metrics_port: cannot listen on ", options.host,
                                               ":", options.port, " (in use, or no such address)"));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(tls), std::move(http), std::move(connections), bound));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<TlsFiles> tls,
                                     std::unique_ptr<httplib::Server> http,
                                     std::shared_ptr<ConnectionThreadState> connections, int port)
    : tls_(std::move(tls)),
      http_(std::move(http)),
      connections_(std::move(connections)),
      port_(port) {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() only reaches a server that is already listening: wait for it (microseconds).
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsHttpServer::~MetricsHttpServer() {
  Stop();
  absl::MutexLock lock(&connections_->mu);
  if (connections_->running > 0) {
    // A client still trickling its request holds a thread that uses the server: leave the
    // server (and its TLS files) to it rather than free them under it. Only at exit.
    spdlog::warn("metrics: {} connections still open at stop; not freeing their server",
                 connections_->running);
    static_cast<void>(http_.release());
    static_cast<void>(tls_.release());
  }
}

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace rollcall::service
