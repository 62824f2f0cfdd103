#include "service/metrics_http.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace rollcall::service {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, const MetricsRegistry& registry) {
  auto http = std::make_unique<httplib::Server>();
  http->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http->Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("rollcalld: metrics are at /metrics\n", "text/plain");
  });
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second server
  // share the port silently instead of failing to start.
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Scrapes are small and rare: two workers are plenty and keep the thread count low.
  http->new_task_queue = [] { return new httplib::ThreadPool(2); };
  int bound = port;
  if (port == 0) {
    bound = http->bind_to_any_port(host);
    if (bound <= 0) bound = -1;
  } else if (!http->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0) {
    return absl::UnavailableError(absl::StrCat("--metrics_port: cannot listen on ", host, ":", port,
                                               " (in use, or no such address)"));
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(http), bound));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> http, int port)
    : http_(std::move(http)), port_(port) {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() only reaches a server that is already listening: wait for it (microseconds).
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rollcall::service
