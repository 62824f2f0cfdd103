// Server: rollcalld without its flags. Opens the store, loads the roster, starts the applier
// and the gRPC services (with health and reflection), and shuts all of it down in the order
// docs/operations.md gives: readiness off, in-flight calls finish, applier drains, store flushes.
// With a credentials file every call but health is authenticated (service/auth.h); without
// one it serves on loopback only unless told to accept the risk.
#ifndef ROLLCALL_SERVICE_SERVER_H_
#define ROLLCALL_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/applier.h"
#include "service/callback_dispatcher.h"
#include "service/callback_http.h"
#include "service/clock.h"
#include "service/rest_http.h"
#include "service/tls.h"
#include "service/watch_hub.h"
#include "state/limits.h"
#include "state/sid.h"

namespace rollcall::service {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:50051";
  std::string data_dir = "./data";
  std::string store = "rocksdb";  // or "memory": nothing survives a restart (tests, demos)
  bool sync = true;               // fsync every group commit
  bool accept_data_loss = false;  // open a damaged store anyway (--accept_data_loss)
  bool verify_store = true;       // checksum every table file at start (--verify_store)
  // AdminService.CreateBackup writes backups under this directory (empty: backups are off).
  std::string backup_dir;
  std::string public_base_url = "http://localhost:8080";
  std::string default_account = "AC00000000000000000000000000000000";
  state::Limits limits;
  ApplierOptions applier;
  WatchOptions watch;
  int max_message_bytes = 4 << 20;
  // HTTP/2 streams (calls) one connection may have open at once (gRPC's SETTINGS).
  int max_concurrent_streams = 1000;
  // Open StreamEvents calls in total; more are RESOURCE_EXHAUSTED.
  int max_ingest_streams = 1000;
  // A connection must finish its HTTP/2 (and TLS) handshake within this.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // gRPC's resource quota on the main port (gRPC 1.51 has no cap on connections; this is what
  // bounds them, with the NetworkPolicy; docs/security.md). Memory every connection's buffers
  // may hold together: under pressure gRPC shrinks read buffers, closes idle connections and
  // cancels streams RESOURCE_EXHAUSTED. Threads for the synchronous services (AdminService,
  // reflection): a call arriving with none free is RESOURCE_EXHAUSTED.
  int64_t grpc_memory_quota_bytes = int64_t{1} << 30;
  int grpc_max_threads = 64;
  absl::Duration max_connection_age = absl::Minutes(30);
  absl::Duration max_connection_age_grace = absl::Minutes(5);
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // TLS (and mTLS) on the gRPC and metrics ports; off when no files are given.
  TlsOptions tls;
  // A plaintext port serving only grpc.health.v1 (the same statuses), for probes that cannot
  // speak TLS (Kubernetes' native gRPC probes); empty: none.
  std::string health_listen;
  // Prometheus /metrics over HTTP on metrics_listen; 0 picks a port, < 0 is off.
  int metrics_port = -1;
  std::string metrics_listen = "127.0.0.1";
  int metrics_max_connections = 512;
  absl::Duration metrics_read_timeout = absl::Seconds(2);
  // The Twilio-compatible REST port (docs/rest.md): off when rest.listen is empty. Its TLS is
  // the `tls` above; each REST request's gRPC calls get rest_call_deadline.
  RestHttpOptions rest;
  absl::Duration rest_call_deadline = absl::Seconds(10);
  // After readiness turns NOT_SERVING at shutdown, keep serving this long before ending watch
  // streams and refusing new calls, so load balancers see the change first (0: no wait; on
  // Kubernetes the preStop sleep does this job).
  absl::Duration drain_delay = absl::ZeroDuration();
  // Status callbacks (docs/callbacks.md): delivery and the HTTP client.
  CallbackOptions callbacks;
  CurlOptions callback_http;
  // Where time comes from; nullptr: the real clock. Must outlive the server (tests).
  const Clock* clock = nullptr;
  // Who may call (service/credentials.h); empty: authentication off. The file is looked at
  // every credentials_poll_interval and reloaded when it changed.
  std::string credentials_file;
  absl::Duration credentials_poll_interval = absl::Seconds(1);
  // Without credentials, Start refuses a listen address other than loopback unless this is
  // set (and then logs a warning): anyone who can reach the port could read and change all.
  bool allow_insecure_no_auth = false;
};

// Whether `listen_address` ("127.0.0.1:50051", "[::1]:0", "localhost:50051", "unix:...")
// accepts connections from this machine only.
bool IsLoopbackListenAddress(const std::string& listen_address);

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();

  int port() const;
  // The bound health-only port, or -1 when there is none.
  int health_port() const;
  // The bound metrics port, or -1 when metrics are off.
  int metrics_port() const;
  // The bound REST port, or -1 when it is off.
  int rest_port() const;
  // Graceful stop: readiness NOT_SERVING (still serving for options.drain_delay), watch and
  // StreamEvents streams end UNAVAILABLE, the applier completes what is queued and refuses
  // later writes UNAVAILABLE, calls begun before get up to `grace` to finish, the store
  // flushes. gRPC keeps accepting calls (answered by those gates) until the process exits or
  // the Server is destroyed: no call that does not complete ends CANCELLED.
  void Shutdown(absl::Duration grace);

  Applier& applier();
  WatchHub& watch_hub();

 private:
  struct Parts;
  static absl::Status StartRest(Parts& parts);
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_SERVER_H_
