#include "service/server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/admin_service.h"
#include "service/audit.h"
#include "service/auth.h"
#include "service/call_tracker.h"
#include "service/clock.h"
#include "service/credentials_file.h"
#include "service/ingest_service.h"
#include "service/metrics_http.h"
#include "service/query_services.h"
#include "service/random_ids.h"
#include "service/rest_api.h"
#include "service/rest_json.h"
#include "service/server_metrics.h"
#include "service/track_service.h"
#include "spdlog/spdlog.h"
#include "state/status_macros.h"

namespace rollcall::service {

// Health service names (docs/operations.md, health): "liveness" says the process is alive;
// "readiness" and "" say it takes traffic: NOT_SERVING while the store cannot write (reads go
// on) and from shutdown.
inline constexpr const char* kLiveness = "liveness";
inline constexpr const char* kReadiness = "readiness";
inline constexpr const char* kOverall = "";

namespace {

// gRPC answers a synchronous call that finds no thread free (--grpc_max_threads) with
// RESOURCE_EXHAUSTED "Server Threadpool Exhausted"; this names the limit, as every refusal does.
class ThreadQuotaMessage final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
          status.error_message() == "Server Threadpool Exhausted") {
        methods->ModifySendStatus(
            grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "every thread for synchronous calls (AdminService, reflection) is busy "
                         "(--grpc_max_threads); retry later"));
      }
    }
    methods->Proceed();
  }
};

class ThreadQuotaMessageFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new ThreadQuotaMessage();
  }
};

}  // namespace

// The host part of a gRPC listen address ("0.0.0.0:50051", "[::]:50051", "localhost:0").
std::string ListenHost(const std::string& address) {
  std::string host = address;
  if (const size_t colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host.empty() ? "0.0.0.0" : host;
}

bool IsLoopbackListenAddress(const std::string& listen_address) {
  if (absl::StartsWith(listen_address, "unix:") ||
      absl::StartsWith(listen_address, "unix-abstract:")) {
    return true;
  }
  const std::string host = ListenHost(listen_address);
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Credentials, or the refusal to serve beyond loopback without them.
absl::StatusOr<std::unique_ptr<CredentialsFile>> OpenCredentials(const ServerOptions& options) {
  if (!options.credentials_file.empty()) {
    return CredentialsFile::Open(options.credentials_file, options.credentials_poll_interval);
  }
  for (const auto& [flag, address] :
       {std::pair<const char*, std::string>{"--listen", options.listen_address},
        {"--rest_listen", options.rest.listen}}) {
    if (address.empty() || IsLoopbackListenAddress(address)) continue;
    if (!options.allow_insecure_no_auth) {
      return absl::FailedPreconditionError(absl::StrCat(
          flag, " ", address,
          " is not a loopback address and no --credentials_file is set: anyone who can reach "
          "the port could read and change every account's data. Give --credentials_file "
          "(docs/security.md), listen on 127.0.0.1, or accept the risk with "
          "--allow_insecure_no_auth"));
    }
    spdlog::warn(
        "authentication is OFF on non-loopback address {} (--allow_insecure_no_auth): anyone "
        "who can reach the port can read and change every account's data",
        address);
  }
  return std::unique_ptr<CredentialsFile>();
}

// Gauges and counters read from the running parts at scrape time.
void RegisterGauges(Applier& applier, WatchHub& hub, store::Store& store, ServiceMetrics& metrics) {
  MetricsRegistry& registry = metrics.registry();
  applier.SetMetrics(&metrics.batch_inputs(), &metrics.commit_latency());
  registry.AddGauge("rollcall_revision", "The newest durable revision",
                    [&store] { return static_cast<double>(store.revision()); });
  registry.AddGauge("rollcall_rooms_active", "Rooms in progress", [&applier] {
    return applier.Read([](const state::Roster& roster) {
      return static_cast<double>(roster.in_progress_room_count());
    });
  });
  registry.AddGauge("rollcall_participants_active", "Participants connected or reconnecting",
                    [&applier] {
                      return applier.Read([](const state::Roster& roster) {
                        return static_cast<double>(roster.active_participant_count());
                      });
                    });
  registry.AddGauge("rollcall_watchers", "Open Watch streams",
                    [&hub] { return static_cast<double>(hub.stats().watchers); });
  registry.AddGauge("rollcall_watch_snapshots", "Initial states being sent to Watch streams",
                    [&hub] { return static_cast<double>(hub.stats().snapshots); });
  registry.AddGauge("rollcall_watch_buffered_bytes",
                    "Bytes queued or being written to Watch streams, over all of them",
                    [&hub] { return static_cast<double>(hub.stats().buffered_bytes); });
  registry.AddCounterFunction(
      "rollcall_watch_slow_terminations_total",
      "Watch streams ended RESOURCE_EXHAUSTED for falling too far behind",
      [&hub] { return static_cast<double>(hub.stats().slow_terminations); });
  registry.AddCounterFunction(
      "rollcall_applier_failed_writes_total",
      "Group commits the store could not write (nothing was applied)",
      [&applier] { return static_cast<double>(applier.stats().failed_writes); });
  registry.AddCounterFunction(
      "rollcall_timers_fired_total",
      "Timers fired (reconnect window, session limit, room timeouts)",
      [&applier] { return static_cast<double>(applier.stats().timers_fired); });
}

struct Server::Parts {
  // The reload thread outlives the hub (members go in reverse order): it must stop calling it.
  ~Parts() {
    if (credentials) credentials->SetReloadListener(nullptr);
  }

  ServerOptions options;
  ServiceMetrics metrics;
  CallTracker calls;
  std::unique_ptr<CredentialsFile> credentials;  // null: authentication off
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<state::Roster> roster;
  RandomIds ids;
  RealClock real_clock;
  const Clock* clock = &real_clock;
  std::unique_ptr<Converter> converter;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<CurlTransport> callback_transport;
  std::unique_ptr<CallbackDispatcher> callbacks;  // after its transport: stops first
  std::unique_ptr<WatchHub> watch_hub;
  std::unique_ptr<WatchService> watch;
  std::unique_ptr<IngestService> ingest;
  std::unique_ptr<ParticipantService> participants;
  std::unique_ptr<RoomService> rooms;
  std::unique_ptr<TrackService> tracks;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<grpc::Server> grpc_server;
  std::unique_ptr<grpc::Server> health_server;  // plaintext, health only (--health_listen)
  int health_port = -1;
  std::unique_ptr<MetricsHttpServer> metrics_http;
  std::unique_ptr<RestApi> rest_api;
  std::unique_ptr<RestHttpServer> rest_http;  // after rest_api: its workers call it
  int port = 0;
  bool shut_down = false;

  // The steps of Server::Start, in order.
  absl::Status LoadRoster();
  absl::Status MakeServices();
  // The status callbacks' dispatcher, fed by the applier, with the store's backlog.
  absl::Status StartCallbacks();
  void ConfigureGrpc(grpc::ServerBuilder& builder);
  absl::Status StartMetricsHttp();
  // Starts the applier and the gRPC server, and the health-only and REST ports if asked for.
  absl::Status StartGrpc(grpc::ServerBuilder& builder);
  // Liveness on; readiness from here on follows the store.
  void AnnounceServing();

  // Readiness follows the store's Writable() until shutdown turns it off for good.
  absl::Mutex readiness_mu;
  bool draining ABSL_GUARDED_BY(readiness_mu) = false;
  void SetReady(bool ready) {
    absl::MutexLock lock(&readiness_mu);
    if (draining) ready = false;
    for (grpc::Server* server : {grpc_server.get(), health_server.get()}) {
      if (server == nullptr) continue;  // the health-only port mirrors the main one
      grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
      health->SetServingStatus(kReadiness, ready);
      health->SetServingStatus(kOverall, ready);
    }
  }
};

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const ServerOptions& options) {
  if (options.store == "memory") return std::make_unique<store::MemoryStore>();
  if (options.store == "rocksdb") {
    store::RocksOptions rocks;
    rocks.path = options.data_dir;
    rocks.sync = options.sync;
    rocks.accept_data_loss = options.accept_data_loss;
    rocks.verify_table_files = options.verify_store;
    return store::OpenRocksStore(rocks);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--store: must be rocksdb or memory, got ", options.store));
}

absl::Status Server::Parts::LoadRoster() {
  const SteadyTime load_start = clock->MonotonicTime();
  roster = std::make_unique<state::Roster>(options.limits);
  ASSIGN_OR_RETURN(store::LoadStats loaded, store->Load(*roster));
  spdlog::info("loaded {} rooms, {} participants, {} tracks, {} event ids at revision {} in {}",
               loaded.rooms, loaded.participants, loaded.tracks, loaded.dedupe, loaded.revision,
               absl::FormatDuration(Elapsed(load_start, clock->MonotonicTime())));
  return absl::OkStatus();
}

absl::Status Server::Parts::StartCallbacks() {
  ASSIGN_OR_RETURN(store::CallbackBacklog backlog, store->LoadCallbacks());
  ASSIGN_OR_RETURN(callback_transport, CurlTransport::Create(options.callback_http));
  CallbackDispatcher::TokenSource tokens =
      [files = credentials.get()](const state::Sid& account) -> std::optional<std::string> {
    if (files == nullptr) return std::nullopt;  // authentication off: nothing to sign with
    return files->current()->AuthToken(account);
  };
  callbacks = std::make_unique<CallbackDispatcher>(options.callbacks, *store, *callback_transport,
                                                   std::move(tokens), *clock);
  callbacks->RegisterMetrics(metrics.registry());
  applier->SetCallbackSink(
      [dispatcher = callbacks.get()](std::vector<state::Callback> owed) {
        dispatcher->Enqueue(std::move(owed));
      },
      std::move(backlog.next_sequence));
  if (!backlog.pending.empty()) {
    spdlog::info("{} status callbacks were not delivered before the restart; sending them",
                 backlog.pending.size());
  }
  callbacks->Start(std::move(backlog.pending));
  return absl::OkStatus();
}

absl::Status Server::Parts::MakeServices() {
  applier = std::make_unique<Applier>(options.applier, *store, *roster, ids, *clock);
  RETURN_IF_ERROR(StartCallbacks());
  watch_hub = std::make_unique<WatchHub>(options.watch, *store, *applier, *converter, *clock);
  applier->SetCommitListener([hub = watch_hub.get()](const std::vector<store::LogEntry>& entries) {
    hub->Publish(entries);
  });
  if (credentials) {
    // Open Watch streams end once their credential is removed or loses the right to watch.
    credentials->SetReloadListener([hub = watch_hub.get()] { hub->Recheck(); });
  }
  watch = std::make_unique<WatchService>(*watch_hub, *authorizer);
  IngestLimits ingest_limits;
  ingest_limits.max_response_bytes = static_cast<size_t>(options.max_message_bytes);
  ingest_limits.max_streams = options.max_ingest_streams;
  ingest =
      std::make_unique<IngestService>(*applier, *converter, metrics, *authorizer, ingest_limits);
  RegisterGauges(*applier, *watch_hub, *store, metrics);
  participants = std::make_unique<ParticipantService>(*applier, *converter, *authorizer);
  rooms = std::make_unique<RoomService>(
      *applier, *converter, *authorizer,
      [refuse_private = options.callback_http.refuse_private](absl::string_view url) {
        return CheckCallbackUrl(url, refuse_private);
      });
  tracks = std::make_unique<TrackService>(*applier, *converter, *authorizer);
  admin = std::make_unique<AdminService>(*store, options.backup_dir, *authorizer, *clock);
  return absl::OkStatus();
}

void Server::Parts::ConfigureGrpc(grpc::ServerBuilder& builder) {
  builder.AddListeningPort(options.listen_address, GrpcServerCredentials(options.tls), &port);
  builder.RegisterService(ingest.get());
  builder.RegisterService(participants.get());
  builder.RegisterService(rooms.get());
  builder.RegisterService(tracks.get());
  builder.RegisterService(watch.get());
  builder.RegisterService(admin.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  auto milliseconds = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             milliseconds(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             milliseconds(options.max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, milliseconds(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             milliseconds(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  grpc::ResourceQuota quota("rollcall");  // the builder keeps a reference
  quota.Resize(static_cast<size_t>(options.grpc_memory_quota_bytes));
  quota.SetMaxThreads(options.grpc_max_threads);
  builder.SetResourceQuota(quota);
  // One completion queue polled by one or two threads for the synchronous services, whatever
  // the machine's core count, so --grpc_max_threads means the same everywhere (gRPC aborts
  // when the quota cannot hold the minimum pollers: main.cc requires at least 2).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             milliseconds(options.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // The gate and the quota message first, so the RPC counter sees the status they set.
  interceptors.push_back(std::make_unique<ThreadQuotaMessageFactory>());
  if (auto gate = authorizer->Gate()) interceptors.push_back(std::move(gate));
  interceptors.push_back(metrics.RpcCounter());
  interceptors.push_back(calls.Interceptor());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
}

absl::Status Server::Parts::StartMetricsHttp() {
  if (options.metrics_port < 0) return absl::OkStatus();
  MetricsHttpOptions http;
  http.host = options.metrics_listen;
  http.port = options.metrics_port;
  http.tls = options.tls;
  http.max_connections = options.metrics_max_connections;
  http.read_timeout = options.metrics_read_timeout;
  ASSIGN_OR_RETURN(metrics_http, MetricsHttpServer::Start(http, metrics.registry()));
  return absl::OkStatus();
}

absl::Status Server::Parts::StartGrpc(grpc::ServerBuilder& builder) {
  applier->Start();
  grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || port == 0) {
    applier->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address, " (in use, or no such address)"));
  }
  if (!options.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(),
                                    &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port <= 0) {
      grpc_server->Shutdown();
      applier->Stop();
      return absl::UnavailableError(absl::StrCat("--health_listen: cannot listen on ",
                                                 options.health_listen,
                                                 " (in use, or no such address)"));
    }
    grpc::HealthCheckServiceInterface* health = health_server->GetHealthCheckService();
    health->SetServingStatus(true);
    health->SetServingStatus(kLiveness, true);
    health->SetServingStatus(kReadiness, true);
  }
  if (!options.rest.listen.empty()) {
    if (absl::Status started = StartRest(*this); !started.ok()) {
      grpc_server->Shutdown();
      applier->Stop();
      return started;
    }
  }
  return absl::OkStatus();
}

void Server::Parts::AnnounceServing() {
  grpc::HealthCheckServiceInterface* health = grpc_server->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kLiveness, true);
  store->SetWritableListener([this](const absl::Status& writable) { SetReady(writable.ok()); });
  absl::Status writable = store->Writable();
  if (!writable.ok()) spdlog::error("not ready: {}", std::string(writable.message()));
  SetReady(writable.ok());
  spdlog::info(
      "rollcalld serving on port {} ({}; store {}, data {}, metrics {}, REST {}, authentication "
      "{})",
      port,
      !options.tls.enabled()               ? "plaintext"
      : options.tls.client_ca_file.empty() ? "TLS"
                                           : "mutual TLS",
      options.store, options.data_dir,
      metrics_http ? absl::StrCat("port ", metrics_http->port()) : "off",
      rest_http ? absl::StrCat("port ", rest_http->port()) : "off", credentials ? "on" : "off");
}

// The REST port: RestApi answers over an in-process channel to the gRPC services just built,
// so both faces share state, credentials and limits (docs/rest.md).
absl::Status Server::StartRest(Parts& parts) {
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(parts.options.max_message_bytes);
  channel_args.SetMaxSendMessageSize(parts.options.max_message_bytes);
  parts.rest_api = std::make_unique<RestApi>(parts.grpc_server->InProcessChannel(channel_args),
                                             parts.options.rest_call_deadline);
  RestHttpOptions rest = parts.options.rest;
  rest.tls = parts.options.tls;
  ASSIGN_OR_RETURN(parts.rest_http, RestHttpServer::Start(
                                        rest,
                                        [api = parts.rest_api.get()](const HttpRequest& request) {
                                          return api->Handle(request);
                                        },
                                        [](int status, const std::string& message) {
                                          return rest::ErrorResponse(status,
                                                                     status == 429   ? 20429
                                                                     : status == 403 ? 20403
                                                                                     : 20001,
                                                                     message);
                                        }));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  RETURN_IF_ERROR(ValidateTls(options.tls));  // before the store: a bad flag fails fast
  auto parts = std::make_unique<Parts>();
  parts->options = options;
  if (options.clock != nullptr) parts->clock = options.clock;
  ASSIGN_OR_RETURN(
      state::Sid account,
      state::Sid::Parse(options.default_account, state::kAccountPrefix, "--default_account"));
  parts->converter = std::make_unique<Converter>(options.public_base_url, account);
  ASSIGN_OR_RETURN(parts->credentials, OpenCredentials(options));
  parts->authorizer = std::make_unique<Authorizer>(parts->credentials.get(), account);
  ASSIGN_OR_RETURN(parts->store, OpenStore(options));
  RETURN_IF_ERROR(parts->LoadRoster());
  RETURN_IF_ERROR(parts->MakeServices());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  parts->ConfigureGrpc(builder);
  RETURN_IF_ERROR(parts->StartMetricsHttp());
  RETURN_IF_ERROR(parts->StartGrpc(builder));
  parts->AnnounceServing();
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Server::~Server() {
  Shutdown(absl::Seconds(5));
  // In-process use only (rollcalld exits without it, see Shutdown). gRPC's deadlines are on
  // the real clock, so this one is too.
  parts_->grpc_server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

int Server::port() const { return parts_->port; }

int Server::health_port() const { return parts_->health_port; }

int Server::rest_port() const { return parts_->rest_http ? parts_->rest_http->port() : -1; }

int Server::metrics_port() const {
  return parts_->metrics_http ? parts_->metrics_http->port() : -1;
}

Applier& Server::applier() { return *parts_->applier; }

WatchHub& Server::watch_hub() { return *parts_->watch_hub; }

void Server::Shutdown(absl::Duration grace) {
  if (parts_->shut_down) return;
  parts_->shut_down = true;
  spdlog::info("shutting down: readiness NOT_SERVING, {} for in-flight calls",
               absl::FormatDuration(grace));
  {
    absl::MutexLock lock(&parts_->readiness_mu);
    parts_->draining = true;
  }
  parts_->SetReady(false);
  parts_->store->SetWritableListener(nullptr);
  if (parts_->options.drain_delay > absl::ZeroDuration()) {
    spdlog::info("still serving for {} (--drain_delay)",
                 absl::FormatDuration(parts_->options.drain_delay));
    absl::SleepFor(parts_->options.drain_delay);
  }
  // The drain delay above and this grace are real time on purpose, not the service's Clock:
  // they are for load balancers and clients outside the process, and gRPC's calls end in real
  // time.
  const absl::Time deadline = absl::Now() + grace;
  // The REST port first: it stops accepting and answers what it has queued while every gate
  // below is still open, so a REST write accepted here completes durably.
  if (parts_->rest_http) parts_->rest_http->Stop();
  // The gates close, each answering UNAVAILABLE from now on: watches (with their resume
  // trailer), StreamEvents calls (after the responses they owe), then writes. The applier
  // first completes what was queued.
  parts_->watch_hub->Shutdown();
  parts_->ingest->Drain();
  parts_->applier->Stop();
  // Callbacks in flight are abandoned: they stay in the store and go out after the restart.
  parts_->callbacks->Stop();
  parts_->callback_transport->Stop();
  // Every call that began before this point now ends by itself; later ones are answered at
  // once by the gates. gRPC's own Server::Shutdown is not called: it would cancel (CANCELLED)
  // the calls that reach the server after it starts, so the process exits instead and those
  // calls see the connection close (UNAVAILABLE). See service/call_tracker.h.
  parts_->calls.StopCounting();
  if (const int open = parts_->calls.AwaitCounted(deadline); open > 0) {
    spdlog::warn("{} calls still open after the {} grace", open, absl::FormatDuration(grace));
  }
  if (absl::Status flushed = parts_->store->Flush(); !flushed.ok()) {
    spdlog::error("store flush failed: {}", flushed.ToString());
  }
  // Last: metrics stay scrapable through the drain.
  if (parts_->metrics_http) parts_->metrics_http->Stop();
  // A gRPC deadline: real time (now: cancel what is left at once).
  if (parts_->health_server) parts_->health_server->Shutdown(absl::ToChronoTime(absl::Now()));
  spdlog::info("shut down at revision {}", parts_->store->revision());
}

}  // namespace rollcall::service
