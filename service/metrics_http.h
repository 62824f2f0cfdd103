// MetricsHttpServer: serves MetricsRegistry::Render() at GET /metrics over HTTP/1.1
// (cpp-httplib), optionally over TLS with reloadable files (service/tls.h), for Prometheus.
//
// No client can block a scrape or grow memory through this port:
// - only GET without a body is served: other methods are 405, a GET with a body (Content-Length
//   or Transfer-Encoding) 413, and the connection closes before the body is read (one request
//   per connection: cpp-httplib would otherwise read the body as the next request line);
// - a Range header is 416 with an empty body (no multi-range amplification);
// - requests and headers are capped at 8 KiB (cpp-httplib's limit), each read and write times
//   out (`read_timeout`), and every connection gets its own thread, up to `max_connections`,
//   so silent or slow connections hold only themselves while a scrape gets a thread at once.
#ifndef ROLLCALL_SERVICE_METRICS_HTTP_H_
#define ROLLCALL_SERVICE_METRICS_HTTP_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/metrics.h"
#include "service/tls.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace rollcall::service {

struct MetricsHttpOptions {
  std::string host = "127.0.0.1";  // --metrics_listen
  int port = 0;                    // --metrics_port; 0 picks a free one
  TlsOptions tls;                  // the same files as the gRPC port
  int max_connections = 512;       // --metrics_max_connections: threads serving connections
  absl::Duration read_timeout = absl::Seconds(2);  // --metrics_read_timeout
};

struct ConnectionThreadState;

class MetricsHttpServer {
 public:
  // Binds host:port and starts serving. `registry` must outlive it.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const MetricsHttpOptions& options,
                                                                  const MetricsRegistry& registry);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<TlsFiles> tls, std::unique_ptr<httplib::Server> http,
                    std::shared_ptr<ConnectionThreadState> connections, int port);

  std::unique_ptr<TlsFiles> tls_;  // before http_: the SSL_CTX's callback points at it
  std::unique_ptr<httplib::Server> http_;
  std::shared_ptr<ConnectionThreadState> connections_;
  int port_;
  std::thread thread_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_METRICS_HTTP_H_
