// rollcalld: flags (each with a ROLLCALL_* environment fallback), logging, signals, Server.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "service/audit.h"
#include "service/server.h"
#include "service/store_commands.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, data_dir, "./data", "Directory of the embedded store");
ABSL_FLAG(std::string, store, "rocksdb",
          "rocksdb (durable) or memory (nothing survives a restart)");
ABSL_FLAG(bool, sync, true, "fsync each group commit; false trades crash safety for speed");
ABSL_FLAG(bool, accept_data_loss, false,
          "Start on a store found damaged, going on from what survived (docs/operations.md)");
ABSL_FLAG(bool, verify_store, true,
          "At start, verify the checksum of every block of the store's table files (reads the "
          "whole store once)");
ABSL_FLAG(std::string, backup_dir, "",
          "AdminService.CreateBackup writes backups under this directory (empty: off)");
ABSL_FLAG(std::string, from, "", "restore: the backup directory to restore from");
ABSL_FLAG(std::string, public_base_url, "http://localhost:8080", "Base of url/links fields");
ABSL_FLAG(std::string, default_account, "AC00000000000000000000000000000000",
          "Account used when a request names none");
ABSL_FLAG(int32_t, max_room_participants, 50, "Upper bound of a room's max_participants");
ABSL_FLAG(int32_t, max_tracks_per_participant, 64,
          "Tracks one participant may publish at once; TRACK_PUBLISHED past it is "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, reconnect_timeout, absl::Seconds(30),
          "How long a participant may stay RECONNECTING");
ABSL_FLAG(absl::Duration, max_room_duration, absl::Hours(24), "Rooms end after this long");
ABSL_FLAG(absl::Duration, max_clock_skew, absl::Minutes(10),
          "How far ahead of the server clock an event's occurred_at may be");
ABSL_FLAG(absl::Duration, dedupe_window, absl::Hours(24), "How long event_ids are remembered");
ABSL_FLAG(absl::Duration, retention, absl::Hours(24 * 30),
          "How long completed rooms and their participants are kept");
ABSL_FLAG(uint64_t, watch_history, 1000000, "Revisions of change log kept for watchers");
ABSL_FLAG(absl::Duration, maintenance_interval, absl::Seconds(10),
          "How often the applier forgets expired event ids and rooms and compacts the change log");
ABSL_FLAG(absl::Duration, watch_progress_interval, absl::Seconds(10),
          "Idle watch streams get a progress message this often");
ABSL_FLAG(uint64_t, watch_max_lag, 100000,
          "A watcher further behind than this many revisions, and not closing in, ends with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, watch_max_queue_bytes, 4 << 20,
          "Bytes queued per watcher before it stops being fed and catches up from the log");
ABSL_FLAG(uint64_t, watch_max_buffered_bytes, 256 << 20,
          "Bytes queued over all watchers together before the ones holding bytes stop being fed "
          "and catch up from the log");
ABSL_FLAG(uint64_t, watch_max_watchers, 10000,
          "Open Watch streams in total; more are refused RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, watch_max_watchers_per_account, 1000,
          "Open Watch streams per account; more are refused RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, watch_max_snapshots, 4,
          "Initial-state snapshots sent at once (send_initial_state); more are refused "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(20),
          "On SIGTERM, how long in-flight calls get to finish");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(30),
          "Connections are asked to reconnect after this long, so clients rebalance");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Minutes(1), "HTTP/2 keepalive ping interval");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "Largest gRPC message accepted or sent");
ABSL_FLAG(std::string, log_format, "text", "text or json");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(),
          "At SIGTERM, serve this long with readiness NOT_SERVING before draining");
ABSL_FLAG(int32_t, metrics_port, 9090,
          "Prometheus metrics at http://<--listen host>:<port>/metrics; 0 picks a free port, "
          "negative disables");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, the bound metrics port is written here once serving");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1",
          "Host the metrics port binds (0.0.0.0 in a container, for Prometheus)");
ABSL_FLAG(int32_t, metrics_max_connections, 512,
          "Metrics connections served at once, each on its own thread; more wait for one");
ABSL_FLAG(absl::Duration, metrics_read_timeout, absl::Seconds(2),
          "Metrics port: each read or write of a connection must progress within this");
ABSL_FLAG(std::string, rest_listen, "",
          "host:port of the Twilio-compatible REST port (docs/rest.md), with the gRPC port's "
          "TLS and credentials; empty: off");
ABSL_FLAG(std::string, rest_port_file, "",
          "If set, the bound --rest_listen port is written here once serving");
ABSL_FLAG(int32_t, rest_max_connections, 1024,
          "REST connections open at once; past it no more are accepted until one closes");
ABSL_FLAG(int32_t, rest_max_connections_per_ip, 256,
          "REST connections open at once from one client address (0: no per-address cap)");
ABSL_FLAG(absl::Duration, rest_idle_timeout, absl::Seconds(30),
          "A REST connection silent this long (idle keep-alive, or a client stalled mid-request) "
          "is closed; whole seconds");
ABSL_FLAG(uint64_t, rest_max_header_bytes, 16 << 10,
          "REST request line and headers must fit this many bytes (else 431)");
ABSL_FLAG(uint64_t, rest_max_body_bytes, 64 << 10, "Largest REST request body (else 413)");
ABSL_FLAG(int32_t, rest_io_threads, 2, "Threads watching REST connections (epoll)");
ABSL_FLAG(int32_t, rest_workers, 8, "Threads answering complete REST requests");
ABSL_FLAG(uint64_t, rest_max_queued_requests, 1024,
          "Complete REST requests waiting for a worker; more are answered 429");
ABSL_FLAG(absl::Duration, rest_call_deadline, absl::Seconds(10),
          "Deadline of the calls one REST request makes (a slower write answers 503)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for TLS on the gRPC and metrics ports (with --tls_key_file); "
          "re-read when it changes");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA: when set, clients must present a certificate it signed (mutual TLS)");
ABSL_FLAG(
    absl::Duration, tls_reload_interval, absl::Minutes(1),
    "How often the gRPC port re-reads the TLS files (the metrics port checks per connection)");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plaintext port serving only grpc.health.v1, for probes that cannot "
          "speak TLS (empty: none)");
ABSL_FLAG(std::string, health_port_file, "",
          "If set, the bound --health_listen port is written here once serving");
ABSL_FLAG(int32_t, max_concurrent_streams, 1000,
          "Calls one gRPC connection may have open at once (HTTP/2 SETTINGS)");
ABSL_FLAG(int64_t, grpc_memory_quota_bytes, int64_t{1} << 30,
          "Memory gRPC's transports may hold over every connection of the gRPC port; under "
          "pressure it shrinks buffers, closes idle connections and cancels streams");
ABSL_FLAG(int32_t, grpc_max_threads, 64,
          "Threads serving synchronous calls (AdminService, reflection); a call arriving with "
          "none free is RESOURCE_EXHAUSTED. At least 2");
ABSL_FLAG(int32_t, max_ingest_streams, 1000,
          "Open StreamEvents calls in total; more are RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10),
          "A new connection must finish its HTTP/2 (and TLS) handshake within this");
ABSL_FLAG(int64_t, max_account_rooms, 10000,
          "Rooms in progress per account; more are RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_account_participants, 10000,
          "Active participants per account; more are RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here once serving");
ABSL_FLAG(bool, list_env, false,
          "Print the ROLLCALL_* variable of every flag, one per line (VARIABLE --flag), and exit");
ABSL_FLAG(std::string, credentials_file, "",
          "JSON file of accounts and API keys allowed to call (docs/security.md); reloaded when "
          "it changes. Empty: authentication off (loopback only)");
ABSL_FLAG(absl::Duration, credentials_poll_interval, absl::Seconds(1),
          "How often the credentials file is checked for changes (0: never, read once at start)");
ABSL_FLAG(absl::Duration, callback_timeout, absl::Seconds(10),
          "Status callbacks: the longest one HTTP request may take, connecting included");
ABSL_FLAG(absl::Duration, callback_max_age, absl::Hours(1),
          "Status callbacks: retried until this old, then given up on and listed as failed");
ABSL_FLAG(absl::Duration, callback_retry_initial, absl::Seconds(1),
          "Status callbacks: the first retry's backoff; doubled per attempt, with jitter");
ABSL_FLAG(absl::Duration, callback_retry_max, absl::Minutes(5),
          "Status callbacks: the longest backoff between two attempts");
ABSL_FLAG(int32_t, callback_concurrency, 64, "Status callback deliveries in flight in all");
ABSL_FLAG(int32_t, callback_host_concurrency, 4,
          "Status callback deliveries in flight to one receiver (scheme, host and port)");
ABSL_FLAG(bool, callback_refuse_private, false,
          "Refuse status callback URLs and connections to loopback, private, link-local and "
          "other non-public addresses");
ABSL_FLAG(std::string, callback_ca_file, "",
          "PEM CA certificates that https status callback receivers are verified against "
          "(empty: the system's)");
ABSL_FLAG(bool, allow_insecure_no_auth, false,
          "Serve without credentials on a non-loopback --listen address (anyone who reaches "
          "the port can read and change everything)");

namespace {

// The ROLLCALL_* fallback: each flag not given on the command line may come from the
// environment, e.g. ROLLCALL_DATA_DIR for --data_dir. The names come from the flags this
// binary registered (absl::GetAllFlags), so a new flag needs no list entry. Environment
// values are placed before the command line's, so the command line wins.
constexpr absl::string_view kEnvironmentPrefix = "ROLLCALL_";

// rollcalld's own flags (defined under service/), not abseil's; --list_env itself is left out.
std::vector<std::string> OwnFlagNames() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = flag->Filename();
    if (absl::StrContains(file, "service/") && !absl::StrContains(file, "absl/") &&
        name != "list_env") {
      names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string VariableOf(absl::string_view flag) {
  return absl::StrCat(kEnvironmentPrefix, absl::AsciiStrToUpper(flag));
}

std::vector<std::string> WithEnvironment(int argc, char** argv) {
  std::vector<std::string> args = {argv[0]};
  for (const std::string& flag : OwnFlagNames()) {
    if (const char* value = std::getenv(VariableOf(flag).c_str())) {
      args.push_back(absl::StrCat("--", flag, "=", value));
    }
  }
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return args;
}

// Writes the message as a JSON string body (quotes, backslashes and controls escaped).
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/,
              spdlog::memory_buf_t& dest) override {
    for (const char c : msg.payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const std::string escaped = absl::StrCat("\\u00", absl::Hex(c, absl::kZeroPad2));
            dest.append(std::string_view(escaped));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

void SetUpLogging(const std::string& format, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("rollcalld");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %L %v", spdlog::pattern_time_type::utc);
  }
  rollcall::service::ConfigureAuditLog(format == "json");
}

// Written whole or not at all (rename), so a reader never sees half a number.
void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << port << "\n";
  std::rename(temp.c_str(), path.c_str());
}

}  // namespace

// The server's options, from the flags (and their ROLLCALL_* fallbacks).
rollcall::service::ServerOptions OptionsFromFlags() {
  rollcall::service::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.store = absl::GetFlag(FLAGS_store);
  options.sync = absl::GetFlag(FLAGS_sync);
  options.accept_data_loss = absl::GetFlag(FLAGS_accept_data_loss);
  options.verify_store = absl::GetFlag(FLAGS_verify_store);
  options.backup_dir = absl::GetFlag(FLAGS_backup_dir);
  options.public_base_url = absl::GetFlag(FLAGS_public_base_url);
  options.default_account = absl::GetFlag(FLAGS_default_account);
  options.limits.max_room_participants = absl::GetFlag(FLAGS_max_room_participants);
  options.limits.max_tracks_per_participant = absl::GetFlag(FLAGS_max_tracks_per_participant);
  options.limits.reconnect_timeout = absl::GetFlag(FLAGS_reconnect_timeout);
  options.limits.max_room_duration = absl::GetFlag(FLAGS_max_room_duration);
  options.limits.max_clock_skew = absl::GetFlag(FLAGS_max_clock_skew);
  options.applier.dedupe_window = absl::GetFlag(FLAGS_dedupe_window);
  options.applier.retention = absl::GetFlag(FLAGS_retention);
  options.applier.watch_history = absl::GetFlag(FLAGS_watch_history);
  options.applier.maintenance_interval = absl::GetFlag(FLAGS_maintenance_interval);
  options.watch.progress_interval = absl::GetFlag(FLAGS_watch_progress_interval);
  options.watch.max_lag = absl::GetFlag(FLAGS_watch_max_lag);
  options.watch.max_queue_bytes = absl::GetFlag(FLAGS_watch_max_queue_bytes);
  options.watch.max_buffered_bytes = absl::GetFlag(FLAGS_watch_max_buffered_bytes);
  options.watch.max_watchers = absl::GetFlag(FLAGS_watch_max_watchers);
  options.watch.max_watchers_per_account = absl::GetFlag(FLAGS_watch_max_watchers_per_account);
  options.watch.max_snapshots = absl::GetFlag(FLAGS_watch_max_snapshots);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  options.credentials_file = absl::GetFlag(FLAGS_credentials_file);
  options.credentials_poll_interval = absl::GetFlag(FLAGS_credentials_poll_interval);
  options.allow_insecure_no_auth = absl::GetFlag(FLAGS_allow_insecure_no_auth);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.metrics_max_connections = absl::GetFlag(FLAGS_metrics_max_connections);
  options.metrics_read_timeout = absl::GetFlag(FLAGS_metrics_read_timeout);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  options.rest.listen = absl::GetFlag(FLAGS_rest_listen);
  options.rest.max_connections = absl::GetFlag(FLAGS_rest_max_connections);
  options.rest.max_connections_per_ip = absl::GetFlag(FLAGS_rest_max_connections_per_ip);
  options.rest.idle_timeout = absl::GetFlag(FLAGS_rest_idle_timeout);
  options.rest.max_header_bytes = absl::GetFlag(FLAGS_rest_max_header_bytes);
  options.rest.max_body_bytes = absl::GetFlag(FLAGS_rest_max_body_bytes);
  options.rest.io_threads = absl::GetFlag(FLAGS_rest_io_threads);
  options.rest.workers = absl::GetFlag(FLAGS_rest_workers);
  options.rest.max_queued_requests = absl::GetFlag(FLAGS_rest_max_queued_requests);
  options.rest_call_deadline = absl::GetFlag(FLAGS_rest_call_deadline);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_ingest_streams = absl::GetFlag(FLAGS_max_ingest_streams);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  options.grpc_memory_quota_bytes = absl::GetFlag(FLAGS_grpc_memory_quota_bytes);
  options.grpc_max_threads = absl::GetFlag(FLAGS_grpc_max_threads);
  options.limits.max_account_rooms = absl::GetFlag(FLAGS_max_account_rooms);
  options.limits.max_account_participants = absl::GetFlag(FLAGS_max_account_participants);
  options.callbacks.max_age = absl::GetFlag(FLAGS_callback_max_age);
  options.callbacks.retry_initial = absl::GetFlag(FLAGS_callback_retry_initial);
  options.callbacks.retry_max = absl::GetFlag(FLAGS_callback_retry_max);
  options.callbacks.concurrency =
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_callback_concurrency)));
  options.callbacks.host_concurrency =
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_callback_host_concurrency)));
  options.callback_http.timeout = absl::GetFlag(FLAGS_callback_timeout);
  options.callback_http.refuse_private = absl::GetFlag(FLAGS_callback_refuse_private);
  options.callback_http.ca_file = absl::GetFlag(FLAGS_callback_ca_file);
  return options;
}

// Bounds the flags' types do not enforce; INVALID_ARGUMENT names the flag.
absl::Status CheckOptions(const rollcall::service::ServerOptions& options) {
  for (const auto& [flag, value] :
       {std::pair<const char*, int64_t>{"--max_concurrent_streams", options.max_concurrent_streams},
        {"--max_ingest_streams", options.max_ingest_streams},
        {"--rest_max_connections", options.rest.max_connections},
        {"--rest_io_threads", options.rest.io_threads},
        {"--rest_workers", options.rest.workers},
        {"--rest_max_queued_requests", static_cast<int64_t>(options.rest.max_queued_requests)},
        {"--rest_max_header_bytes", static_cast<int64_t>(options.rest.max_header_bytes)},
        {"--max_account_rooms", options.limits.max_account_rooms},
        {"--max_account_participants", options.limits.max_account_participants}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": must be at least 1"));
    }
  }
  if (options.grpc_memory_quota_bytes < (int64_t{16} << 20)) {
    return absl::InvalidArgumentError(
        "--grpc_memory_quota_bytes: must be at least 16777216 (16 MiB)");
  }
  if (options.grpc_max_threads < 2) {
    return absl::InvalidArgumentError(
        "--grpc_max_threads: must be at least 2 (one polling thread and one call)");
  }
  if (options.watch.progress_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--watch_progress_interval: must be positive");
  }
  if (options.applier.maintenance_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--maintenance_interval: must be positive");
  }
  if (options.max_message_bytes < (64 << 10)) {
    return absl::InvalidArgumentError(
        "--max_message_bytes: must be at least 65536 (one result must fit)");
  }
  if (options.limits.max_room_participants < 1) {
    return absl::InvalidArgumentError("--max_room_participants: must be at least 1");
  }
  if (options.limits.max_tracks_per_participant < 1) {
    return absl::InvalidArgumentError("--max_tracks_per_participant: must be at least 1");
  }
  if (options.callbacks.concurrency < 1) {
    return absl::InvalidArgumentError("--callback_concurrency: must be at least 1");
  }
  if (options.callbacks.host_concurrency < 1) {
    return absl::InvalidArgumentError("--callback_host_concurrency: must be at least 1");
  }
  for (const auto& [flag, value] :
       {std::pair<const char*, absl::Duration>{"--callback_timeout", options.callback_http.timeout},
        {"--callback_max_age", options.callbacks.max_age},
        {"--callback_retry_initial", options.callbacks.retry_initial},
        {"--callback_retry_max", options.callbacks.retry_max}}) {
    if (value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": must be positive"));
    }
  }
  if (options.callbacks.retry_max < options.callbacks.retry_initial) {
    return absl::InvalidArgumentError(
        "--callback_retry_max: must be at least --callback_retry_initial");
  }
  return absl::OkStatus();
}

// `rollcalld verify` and `rollcalld restore`: `positional` is argv[0] and the command.
int RunOfflineCommand(const std::vector<char*>& positional) {
  const std::string command = positional[1];
  if (positional.size() == 2 && command == "verify") {
    return rollcall::service::RunVerify(absl::GetFlag(FLAGS_data_dir));
  }
  if (positional.size() == 2 && command == "restore") {
    return rollcall::service::RunRestore(absl::GetFlag(FLAGS_from), absl::GetFlag(FLAGS_data_dir));
  }
  spdlog::critical("unknown command {} (commands: verify, restore)", command);
  return 2;
}

// glibc reads its malloc tunables only at process start. Transparent huge pages for the heap
// and a 64 MiB top pad cut the page faults of building the roster (expensive under
// virtualization): restart with 1,000,000 participants went from 8.5 s to 5.1 s on the
// benchmark machine, at the same RSS (docs/benchmarks.md). So when GLIBC_TUNABLES is not set,
// set it and re-execute this binary once (same pid, same arguments). An operator's own
// GLIBC_TUNABLES, even empty, is left alone: that is also how to turn this off.
void TuneMallocByReexec(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864", 1) != 0) {
    return;
  }
  execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on untuned, and do not try again in children.
}

int main(int argc, char** argv) {
  TuneMallocByReexec(argv);
  absl::SetProgramUsageMessage(
      "rollcalld: tracks who is in which video room.\n"
      "Every flag also reads ROLLCALL_<FLAG> from the environment.\n"
      "Offline: rollcalld verify --data_dir=D; rollcalld restore --from=BACKUP --data_dir=NEW");
  std::vector<std::string> args = WithEnvironment(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(arg_pointers.size()), arg_pointers.data());

  if (absl::GetFlag(FLAGS_list_env)) {
    for (const std::string& flag : OwnFlagNames()) {
      std::printf("%s --%s\n", VariableOf(flag).c_str(), flag.c_str());
    }
    return 0;
  }

  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "text" && log_format != "json") {
    std::fprintf(stderr, "--log_format: must be text or json, got %s\n", log_format.c_str());
    return 2;
  }
  SetUpLogging(log_format, absl::GetFlag(FLAGS_log_level));
  if (positional.size() > 1) return RunOfflineCommand(positional);

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A TLS peer that hangs up mid-write must not kill the process (OpenSSL writes with write()).
  signal(SIGPIPE, SIG_IGN);

  const rollcall::service::ServerOptions options = OptionsFromFlags();
  if (absl::Status valid = CheckOptions(options); !valid.ok()) {
    spdlog::critical("{}", std::string(valid.message()));
    return 2;
  }
  if (!options.sync) spdlog::warn("--sync=false: acknowledged events can be lost in a crash");

  auto server = rollcall::service::Server::Start(options);
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  // The metrics port first: a test that sees the gRPC port file may read both.
  WritePortFile(absl::GetFlag(FLAGS_metrics_port_file), (*server)->metrics_port());
  WritePortFile(absl::GetFlag(FLAGS_health_port_file), (*server)->health_port());
  WritePortFile(absl::GetFlag(FLAGS_rest_port_file), (*server)->rest_port());
  WritePortFile(absl::GetFlag(FLAGS_port_file), (*server)->port());

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  // Everything acknowledged is durable and the store is flushed. Freeing millions of records
  // one by one would only delay the exit (1.4 s with 1,000,000 participants) and so the next
  // start; the kernel takes the memory back at once, and RocksDB reopens safely without a
  // close, as after any crash.
  spdlog::shutdown();
  std::_Exit(0);
}
