// RestHttpServer: the HTTP/1.1 listener of the REST port (docs/rest.md), on GNU libmicrohttpd.
//
// Why this shape (docs/decisions.md, "The REST port's HTTP server"): connections are watched by
// a few epoll threads, so an idle keep-alive connection or a client trickling its headers costs
// a file descriptor and a bounded buffer, never a thread. A request is handed to a handler only
// once it is complete (headers and body); the connection is then suspended and the handler runs
// on a bounded pool of worker threads, so a handler waiting on a durable write never stalls the
// I/O threads or other connections.
//
// Limits, each a flag (service/main.cc):
// - connections in total (past it no more are accepted: they wait in the backlog) and per
//   client address (closed at accept);
// - header bytes: the request line and headers must fit the per-connection memory pool, else
//   libmicrohttpd answers 431 (414 for a long request line);
// - body bytes: a larger Content-Length is answered 413 at once without reading the body; a
//   chunked body that grows past the limit is read to its end and dropped, then answered 413;
// - slow or idle clients: a connection silent for `idle_timeout` is closed;
// - work: requests waiting for a worker are capped; more are answered 429 at once.
// With TLS options set the port speaks only TLS (mutual TLS when a client CA is set); the key
// pair is re-read when its files change (service/rest_tls.h), the client CA only at start.
#ifndef ROLLCALL_SERVICE_REST_HTTP_H_
#define ROLLCALL_SERVICE_REST_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/tls.h"

namespace rollcall::service {

struct HttpRequest {
  std::string method;
  std::string path;                                        // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string body;
  std::string content_type;
  std::string authorization;  // the Authorization header, verbatim
  std::string host;           // the Host header
  bool tls = false;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

// application/x-www-form-urlencoded text ("a=1&b=x+y%21") as decoded name/value pairs, in order.
std::vector<std::pair<std::string, std::string>> ParseFormEncoded(absl::string_view text);

// Runs on a worker thread; must be thread-safe.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct RestHttpOptions {
  std::string listen;          // --rest_listen: host:port, IPv4 or [IPv6]; empty: no REST port
  TlsOptions tls;              // the same files as the gRPC port
  int max_connections = 1024;  // --rest_max_connections
  int max_connections_per_ip = 256;  // --rest_max_connections_per_ip (0: no per-address cap)
  absl::Duration idle_timeout = absl::Seconds(30);  // --rest_idle_timeout (whole seconds)
  size_t max_header_bytes = 16 << 10;               // --rest_max_header_bytes
  size_t max_body_bytes = 64 << 10;                 // --rest_max_body_bytes
  int io_threads = 2;                               // --rest_io_threads
  int workers = 8;                                  // --rest_workers
  size_t max_queued_requests = 1024;                // --rest_max_queued_requests
};

// A bound answer for a request the HTTP layer refuses itself (413, 429, 403): set by the
// owner so the body has the API's error shape.
using HttpErrorBody = std::function<HttpResponse(int status, const std::string& message)>;

class RestHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<RestHttpServer>> Start(const RestHttpOptions& options,
                                                               HttpHandler handler,
                                                               HttpErrorBody error_body);
  ~RestHttpServer();
  RestHttpServer(const RestHttpServer&) = delete;
  RestHttpServer& operator=(const RestHttpServer&) = delete;

  int port() const;
  // Stops accepting (requests on open connections get 503), lets the workers finish what is
  // queued and the answers go out (up to 5 s), then closes every connection.
  void Stop();

  struct Impl;

 private:
  explicit RestHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_REST_HTTP_H_
