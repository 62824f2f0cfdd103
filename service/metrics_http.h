// MetricsHttpServer: serves MetricsRegistry::Render() at GET /metrics over HTTP/1.1
// (cpp-httplib), on its own thread, for Prometheus to scrape (docs/operations.md).
#ifndef ROLLCALL_SERVICE_METRICS_HTTP_H_
#define ROLLCALL_SERVICE_METRICS_HTTP_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace rollcall::service {

class MetricsHttpServer {
 public:
  // Binds host:port (port 0 picks a free one) and starts serving. `registry` must outlive it.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host, int port,
                                                                  const MetricsRegistry& registry);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> http, int port);

  std::unique_ptr<httplib::Server> http_;
  int port_;
  std::thread thread_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_METRICS_HTTP_H_
