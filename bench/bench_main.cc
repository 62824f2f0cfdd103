// rollcall-bench: the load generator behind the figures of docs/benchmarks.md (targets). It runs
// one workload against one server (rollcalld or rollcall-baseline), for a warm-up and then a
// measured window, and writes one JSON report: throughput, latency percentiles, errors, and the
// server's RSS and CPU read from /proc. bench/run runs the standard suite with it.
//
//   rollcall-bench --target=127.0.0.1:50051 --workload=join_storm --ingest=stream
//   rollcall-bench --port_file=run/port --workload=join_storm --ingest=unary --in_flight=64
//   rollcall-bench --workload=churn --ingest=unary --rate=2000 --duration=10s
//   rollcall-bench --workload=watch --watchers=1000 --rate=200 --watch_scope=account
//   rollcall-bench --workload=read_mix --rate=5000 --readers=16
//   rollcall-bench --workload=join_storm --ops=1000000 --probe_out=probe.txt   (populate)
//   rollcall-bench --workload=ready --port_file=run/port --probe_in=probe.txt --since_unix_ns=…
//   rollcall-bench --report_dir=results/ --report_md=suite.md --report_json=suite.json
//
// Workloads are described in bench/workload.h. Exit status: 0 when the run saw no error,
// 1 when it did (the report says which), 2 when it could not run.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/completion.h"
#include "bench/ingest_driver.h"
#include "bench/json.h"
#include "bench/latency.h"
#include "bench/process_stats.h"
#include "bench/read_driver.h"
#include "bench/readiness.h"
#include "bench/summary.h"
#include "bench/watch_fleet.h"
#include "bench/workload.h"
#include "rollcall/v1/room_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address (host:port)");
ABSL_FLAG(std::string, port_file, "",
          "Read the server's port from this file (waiting for it to appear) instead of --target");
ABSL_FLAG(std::string, workload, "join_storm", "join_storm, churn, watch, read_mix or ready");
ABSL_FLAG(std::string, ingest, "stream", "stream (StreamEvents batches) or unary (RecordEvent)");
ABSL_FLAG(double, rate, 0, "Ops per second, open loop; 0: closed loop (as fast as answered)");
ABSL_FLAG(int, in_flight, 64, "Unary, closed loop: calls outstanding");
ABSL_FLAG(int, streams, 4, "Stream: concurrent StreamEvents calls");
ABSL_FLAG(int, batch, 500, "Stream: events per message (at most 1000)");
ABSL_FLAG(int, depth, 2, "Stream: messages awaiting an answer, per stream");
ABSL_FLAG(int, channels, 4, "Client connections for ingest and reads");
ABSL_FLAG(int, threads, 2, "Completion-queue threads for ingest and reads");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "The measured window");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Load before the window, not measured");
ABSL_FLAG(int64_t, ops, 0,
          "join_storm: send exactly this many ops, measuring all of them (populating a server); "
          "0: run for --warmup + --duration");
ABSL_FLAG(int, rooms, 1000, "join_storm: rooms filling at once");
ABSL_FLAG(int, room_size, 40, "join_storm: participants per room (server cap: 50)");
ABSL_FLAG(int, churn_rooms, 500, "churn: rooms");
ABSL_FLAG(int, churn_room_size, 20, "churn: session slots per room");
ABSL_FLAG(int, watchers, 1000, "watch: Watch streams");
ABSL_FLAG(std::string, watch_scope, "account",
          "watch: account (every watcher sees every event) or room (watchers and sessions "
          "spread over --watch_rooms rooms)");
ABSL_FLAG(int, watch_rooms, 1, "watch, room scope: rooms the watchers and sessions share");
ABSL_FLAG(int, watch_channels, 4, "watch: client connections the watchers share");
ABSL_FLAG(int, watch_threads, 2, "watch: completion-queue threads reading the watchers");
ABSL_FLAG(absl::Duration, watch_drain, absl::Seconds(5),
          "watch: after ingest stops, how long watchers get to receive the last change; "
          "deliveries still missing then count as errors, with latency up to that moment");
ABSL_FLAG(int, readers, 16, "read_mix: reads outstanding");
ABSL_FLAG(std::string, account, "",
          "Account of every op; empty: a fresh random one per run; 'default': the server's");
ABSL_FLAG(int, server_pid, 0, "The server's pid, for its RSS and CPU (/proc)");
ABSL_FLAG(std::string, server_pid_file, "", "File holding the server's pid (else --server_pid)");
ABSL_FLAG(std::string, label, "", "Free text copied to the report (e.g. rollcall or baseline)");
ABSL_FLAG(std::string, json_out, "", "Write the report here; empty: stdout");
ABSL_FLAG(std::string, probe_out, "",
          "join_storm: write one acknowledged participant here, for --workload=ready");
ABSL_FLAG(std::string, probe_in, "", "ready: the participant GetParticipant must find");
ABSL_FLAG(int64_t, since_unix_ns, 0,
          "ready: when the restart began (SIGTERM sent), Unix nanoseconds");
ABSL_FLAG(int64_t, started_unix_ns, 0, "ready: when the new process was started");
ABSL_FLAG(uint64_t, seed, 1, "Random seed of the churn and read choices");
ABSL_FLAG(std::string, report_dir, "",
          "Summarize a suite's per-run reports under this directory instead of running a "
          "workload (see bench/summary.h)");
ABSL_FLAG(std::string, report_md, "", "With --report_dir: write the Markdown table here");
ABSL_FLAG(std::string, report_json, "", "With --report_dir: write the JSON summary here");

namespace rollcall::bench {
namespace {

std::string RandomHex(int digits) {
  std::random_device device;
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    absl::StrAppend(&out, absl::Hex(device(), absl::kZeroPad8));
  }
  return out.substr(0, digits);
}

void SleepUntil(int64_t nanos) {
  const int64_t wait = nanos - NowNanos();
  if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
}

double Seconds(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

// What one run found, before it becomes the report.
struct Outcome {
  double window_seconds = 0;
  int64_t errors = 0;
  JsonObject metrics;
  JsonObject sections;  // workload-specific detail: ingest, watch, reads, ready
};

// The server's and the generator's resource use over the measured window.
class Usage {
 public:
  explicit Usage(std::optional<pid_t> server) : server_(server) {}
  void Begin() { first_ = Take(); }
  void End() { last_ = Take(); }

  void AddTo(Outcome& outcome) const {
    JsonObject server;
    if (server_ && first_.server && last_.server) {
      const double cores = CoresBetween(*first_.server, *last_.server);
      server.Set("pid", static_cast<int64_t>(*server_))
          .Set("rss_mb", last_.server->rss_mb)
          .Set("peak_rss_mb", last_.server->peak_rss_mb)
          .Set("cpu_seconds", last_.server->cpu_seconds - first_.server->cpu_seconds)
          .Set("cpu_cores", cores);
      outcome.metrics.Set("server_rss_mb", last_.server->rss_mb)
          .Set("server_peak_rss_mb", last_.server->peak_rss_mb)
          .Set("server_cpu_cores", cores);
    }
    if (first_.client && last_.client) {
      const double cores = CoresBetween(*first_.client, *last_.client);
      outcome.sections.Set(
          "client", JsonObject().Set("rss_mb", last_.client->rss_mb).Set("cpu_cores", cores));
      outcome.metrics.Set("client_cpu_cores", cores);
    }
    if (!server.empty()) outcome.sections.Set("server", server);
  }

 private:
  struct Samples {
    std::optional<ProcessSample> server;
    std::optional<ProcessSample> client;
  };
  Samples Take() const {
    return {server_ ? SampleProcess(*server_) : std::nullopt, SampleProcess(getpid())};
  }
  const std::optional<pid_t> server_;
  Samples first_;
  Samples last_;
};

void AddLatency(JsonObject& metrics, const std::string& prefix, const LatencySummary& latency) {
  metrics.Set(prefix + "_p50_ms", latency.p50_ms)
      .Set(prefix + "_p90_ms", latency.p90_ms)
      .Set(prefix + "_p99_ms", latency.p99_ms)
      .Set(prefix + "_p999_ms", latency.p999_ms)
      .Set(prefix + "_max_ms", latency.max_ms);
}

IngestOptions IngestFlags() {
  IngestOptions options;
  options.stream = absl::GetFlag(FLAGS_ingest) != "unary";
  options.in_flight = absl::GetFlag(FLAGS_in_flight);
  options.streams = absl::GetFlag(FLAGS_streams);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.depth = absl::GetFlag(FLAGS_depth);
  options.rate = absl::GetFlag(FLAGS_rate);
  return options;
}

WorkloadOptions WorkloadFlags(const std::string& run, const std::string& account) {
  WorkloadOptions options;
  options.run = run;
  options.account = account;
  options.seed = absl::GetFlag(FLAGS_seed);
  if (absl::GetFlag(FLAGS_workload) == "churn" || absl::GetFlag(FLAGS_workload) == "watch") {
    options.rooms = absl::GetFlag(FLAGS_churn_rooms);
    options.room_size = absl::GetFlag(FLAGS_churn_room_size);
  } else {
    options.rooms = absl::GetFlag(FLAGS_rooms);
    options.room_size = absl::GetFlag(FLAGS_room_size);
    options.max_ops = absl::GetFlag(FLAGS_ops);
  }
  return options;
}

// Ingest alone: join_storm or churn, closed or open loop, unary or stream; or, with --ops,
// populating a server with that many participants.
Outcome RunIngest(const std::string& target, Usage& usage, const std::string& run,
                  const std::string& account) {
  const bool churn = absl::GetFlag(FLAGS_workload) == "churn";
  const WorkloadOptions workload_options = WorkloadFlags(run, account);
  std::unique_ptr<Workload> workload =
      churn ? NewChurn(workload_options) : NewJoinStorm(workload_options);
  KnownParticipants known;
  workload->set_known(&known);
  Pollers pollers(absl::GetFlag(FLAGS_threads));
  const auto channels = NewChannels(target, absl::GetFlag(FLAGS_channels));
  const bool populating = !churn && workload_options.max_ops > 0;
  const int64_t start = NowNanos();
  const int64_t window_start = start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_warmup));
  const Window window =
      populating ? Window{start}
                 : Window{window_start,
                          window_start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_duration))};
  IngestRecorder recorder(window);
  IngestDriver driver(IngestFlags(), channels, pollers, *workload, recorder);
  Outcome outcome;
  if (populating) usage.Begin();
  driver.Start(start);
  if (populating) {
    while (!driver.Wait(absl::Seconds(5))) {
      std::fprintf(stderr, "rollcall-bench: %lld of %lld ops answered\n",
                   static_cast<long long>(recorder.ops_answered()),
                   static_cast<long long>(workload_options.max_ops));
    }
    usage.End();
    outcome.window_seconds = Seconds(recorder.last_answer() - start);
  } else {
    SleepUntil(window.start);
    usage.Begin();
    SleepUntil(window.end);
    usage.End();
    driver.Stop();
    if (!driver.Wait(absl::Seconds(60))) {
      driver.Cancel();
      driver.Wait(absl::Seconds(10));
      ++outcome.errors;  // answers that never came
    }
    outcome.window_seconds = Seconds(window.end - window.start);
  }
  pollers.Shutdown();

  if (const std::string path = absl::GetFlag(FLAGS_probe_out); !path.empty()) {
    const std::optional<KnownParticipants::Entry> first = known.first();
    if (!first || !WriteProbe(path, {account, first->room_sid, first->participant_sid}).ok()) {
      std::fprintf(stderr, "rollcall-bench: no probe written to %s\n", path.c_str());
      ++outcome.errors;
    }
  }
  outcome.errors += recorder.errors() + driver.stream_failures();
  const double events = static_cast<double>(recorder.ops_in_window());
  outcome.metrics.Set("events_per_s", events / outcome.window_seconds);
  if (populating) outcome.metrics.Set("participants", recorder.ops_in_window());
  AddLatency(outcome.metrics, "latency", recorder.latency());
  outcome.sections.Set("ingest", recorder.Report(outcome.window_seconds)
                                     .Set("shed", driver.shed())
                                     .Set("starved", driver.starved())
                                     .Set("stream_failures", driver.stream_failures()));
  return outcome;
}

// Creates the rooms a room-scoped watch follows.
absl::StatusOr<std::vector<std::string>> CreateWatchedRooms(const std::string& target,
                                                            const std::string& run,
                                                            const std::string& account, int count) {
  auto rooms = v1::RoomService::NewStub(NewChannels(target, 1)[0]);
  std::vector<std::string> sids;
  for (int i = 0; i < count; ++i) {
    v1::CreateRoomRequest request;
    request.set_account_sid(account);
    request.set_unique_name(absl::StrCat(run, "-watched-", i));
    request.set_max_participants(50);
    v1::CreateRoomResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status status = rooms->CreateRoom(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("CreateRoom: ", status.error_message()));
    }
    sids.push_back(response.room().sid());
  }
  return sids;
}

// Watchers under churn at a fixed rate: ack → receipt latency (docs/benchmarks.md, targets). On the
// account, every watcher gets every change; on rooms, the watchers and the churn sessions
// are spread over --watch_rooms created rooms.
Outcome RunWatch(const std::string& target, Usage& usage, const std::string& run,
                 const std::string& account) {
  Outcome outcome;
  WorkloadOptions workload_options = WorkloadFlags(run, account);
  if (absl::GetFlag(FLAGS_watch_scope) == "room") {
    absl::StatusOr<std::vector<std::string>> rooms =
        CreateWatchedRooms(target, run, account, std::max(1, absl::GetFlag(FLAGS_watch_rooms)));
    if (!rooms.ok()) {
      std::fprintf(stderr, "rollcall-bench: %s\n", rooms.status().ToString().c_str());
      outcome.errors = 1;
      return outcome;
    }
    workload_options.room_sids = *std::move(rooms);
    workload_options.room_size = std::min(workload_options.room_size, 40);
  }
  std::unique_ptr<Workload> workload = NewChurn(workload_options);

  Pollers watch_pollers(absl::GetFlag(FLAGS_watch_threads));
  WatchFleetOptions fleet_options;
  fleet_options.watchers = absl::GetFlag(FLAGS_watchers);
  fleet_options.account = account;
  fleet_options.rooms = workload_options.room_sids;
  WatchFleet fleet(fleet_options, NewChannels(target, absl::GetFlag(FLAGS_watch_channels)),
                   watch_pollers);
  fleet.Start();
  if (!fleet.WaitStarted(absl::Seconds(60))) ++outcome.errors;

  Pollers pollers(1);
  IngestOptions ingest = IngestFlags();
  ingest.stream = false;
  if (ingest.rate <= 0) ingest.rate = 200;
  const int64_t start = NowNanos();
  const int64_t window_start = start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_warmup));
  const Window window{window_start,
                      window_start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_duration))};
  IngestRecorder recorder(window);
  AckBook acks;
  recorder.set_on_applied([&acks](uint64_t revision, int64_t at, absl::string_view room) {
    acks.Add(revision, at, room);
  });
  IngestDriver driver(ingest, NewChannels(target, 1), pollers, *workload, recorder);
  driver.Start(start);
  SleepUntil(window.start);
  usage.Begin();
  SleepUntil(window.end);
  usage.End();
  driver.Stop();
  if (!driver.Wait(absl::Seconds(60))) ++outcome.errors;
  pollers.Shutdown();

  const Acks acked = acks.Copy();
  fleet.WaitDelivered(acked, absl::GetFlag(FLAGS_watch_drain));
  const int64_t stopped = NowNanos();
  fleet.Stop(absl::Seconds(15));
  watch_pollers.Shutdown();

  outcome.window_seconds = Seconds(window.end - window.start);
  const WatchFleet::Totals totals = fleet.Report(acked, window.start, window.end, stopped);
  // Late deliveries are not errors (they are in the latencies); a broken stream, a failed op
  // or a change out of order is.
  outcome.errors += recorder.errors() + fleet.failures() + totals.out_of_order;
  AddLatency(outcome.metrics, "watch", totals.latency);
  outcome.metrics
      .Set("events_per_s", static_cast<double>(recorder.ops_in_window()) / outcome.window_seconds)
      .Set("deliveries_per_s", static_cast<double>(totals.deliveries) / outcome.window_seconds)
      .Set("watch_missed", totals.missed);
  outcome.sections.Set("watch", totals.json)
      .Set("ingest", recorder.Report(outcome.window_seconds)
                         .Set("shed", driver.shed())
                         .Set("starved", driver.starved()));
  return outcome;
}

// Reads (Get/List) while a join storm ingests.
Outcome RunReadMix(const std::string& target, Usage& usage, const std::string& run,
                   const std::string& account) {
  Outcome outcome;
  std::unique_ptr<Workload> workload = NewJoinStorm(WorkloadFlags(run, account));
  KnownParticipants known;
  workload->set_known(&known);
  Pollers pollers(absl::GetFlag(FLAGS_threads));
  const auto channels = NewChannels(target, absl::GetFlag(FLAGS_channels));
  const int64_t start = NowNanos();
  const int64_t window_start = start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_warmup));
  const Window window{window_start,
                      window_start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_duration))};
  IngestRecorder recorder(window);
  IngestDriver driver(IngestFlags(), channels, pollers, *workload, recorder);
  ReadOptions read_options;
  read_options.in_flight = absl::GetFlag(FLAGS_readers);
  read_options.account = account;
  ReadDriver reads(read_options, channels, pollers, known, window);
  driver.Start(start);
  reads.Start();
  SleepUntil(window.start);
  usage.Begin();
  SleepUntil(window.end);
  usage.End();
  driver.Stop();
  reads.Stop();
  if (!driver.Wait(absl::Seconds(60))) {
    driver.Cancel();
    driver.Wait(absl::Seconds(10));
    ++outcome.errors;
  }
  if (!reads.Wait(absl::Seconds(60))) ++outcome.errors;
  pollers.Shutdown();

  outcome.window_seconds = Seconds(window.end - window.start);
  outcome.errors += recorder.errors() + driver.stream_failures() + reads.errors();
  outcome.metrics
      .Set("events_per_s", static_cast<double>(recorder.ops_in_window()) / outcome.window_seconds)
      .Set("reads_per_s", static_cast<double>(reads.reads_in_window()) / outcome.window_seconds);
  AddLatency(outcome.metrics, "read", reads.latency());
  AddLatency(outcome.metrics, "latency", recorder.latency());
  outcome.sections.Set("reads", reads.Report(outcome.window_seconds))
      .Set("ingest", recorder.Report(outcome.window_seconds)
                         .Set("shed", driver.shed())
                         .Set("stream_failures", driver.stream_failures()));
  return outcome;
}

// How long a restarted server took to serve again (docs/benchmarks.md, targets).
Outcome RunReady(const std::string& target, Usage& usage) {
  Outcome outcome;
  absl::StatusOr<Probe> probe = ReadProbe(absl::GetFlag(FLAGS_probe_in));
  absl::StatusOr<Readiness> ready =
      probe.ok() ? WaitServing(target, *probe, absl::Seconds(300)) : probe.status();
  if (!ready.ok()) {
    std::fprintf(stderr, "rollcall-bench: %s\n", ready.status().ToString().c_str());
    outcome.errors = 1;
    return outcome;
  }
  usage.Begin();
  usage.End();
  const int64_t serving = absl::ToUnixNanos(ready->serving_at);
  JsonObject section;
  section.Set("attempts", ready->attempts);
  if (const int64_t since = absl::GetFlag(FLAGS_since_unix_ns); since > 0) {
    outcome.metrics.Set("ready_ms", static_cast<double>(serving - since) / 1e6);
  }
  if (const int64_t started = absl::GetFlag(FLAGS_started_unix_ns); started > 0) {
    outcome.metrics.Set("start_ms", static_cast<double>(serving - started) / 1e6);
  }
  outcome.sections.Set("ready", section);
  return outcome;
}

int Main() {
  const absl::Time started_at = absl::Now();
  if (const std::string dir = absl::GetFlag(FLAGS_report_dir); !dir.empty()) {
    const absl::Status written =
        WriteSuiteReport(dir, absl::GetFlag(FLAGS_report_md), absl::GetFlag(FLAGS_report_json));
    if (!written.ok()) std::fprintf(stderr, "rollcall-bench: %s\n", written.ToString().c_str());
    return written.ok() ? 0 : 2;
  }
  const std::string workload = absl::GetFlag(FLAGS_workload);
  if (workload != "join_storm" && workload != "churn" && workload != "watch" &&
      workload != "read_mix" && workload != "ready") {
    std::fprintf(stderr, "rollcall-bench: --workload: unknown workload %s\n", workload.c_str());
    return 2;
  }
  std::string target = absl::GetFlag(FLAGS_target);
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    absl::StatusOr<std::string> from_file = TargetFromPortFile(port_file, absl::Seconds(300));
    if (!from_file.ok()) {
      std::fprintf(stderr, "rollcall-bench: %s\n", from_file.status().ToString().c_str());
      return 2;
    }
    target = *from_file;
  }
  std::optional<pid_t> server_pid;
  if (const std::string pid_file = absl::GetFlag(FLAGS_server_pid_file); !pid_file.empty()) {
    server_pid = ReadPidFile(pid_file);
  } else if (absl::GetFlag(FLAGS_server_pid) > 0) {
    server_pid = absl::GetFlag(FLAGS_server_pid);
  }
  const std::string run = absl::StrCat("b", RandomHex(12));
  std::string account = absl::GetFlag(FLAGS_account);
  if (account.empty()) account = absl::StrCat("AC", RandomHex(32));
  if (account == "default") account.clear();

  Usage usage(server_pid);
  Outcome outcome = workload == "watch"      ? RunWatch(target, usage, run, account)
                    : workload == "read_mix" ? RunReadMix(target, usage, run, account)
                    : workload == "ready"    ? RunReady(target, usage)
                                             : RunIngest(target, usage, run, account);
  usage.AddTo(outcome);
  outcome.metrics.Set("errors", outcome.errors);

  JsonObject config;
  config.Set("ingest", absl::GetFlag(FLAGS_ingest))
      .Set("rate", absl::GetFlag(FLAGS_rate))
      .Set("in_flight", absl::GetFlag(FLAGS_in_flight))
      .Set("streams", absl::GetFlag(FLAGS_streams))
      .Set("batch", absl::GetFlag(FLAGS_batch))
      .Set("depth", absl::GetFlag(FLAGS_depth))
      .Set("channels", absl::GetFlag(FLAGS_channels))
      .Set("threads", absl::GetFlag(FLAGS_threads))
      .Set("warmup_s", absl::ToDoubleSeconds(absl::GetFlag(FLAGS_warmup)))
      .Set("duration_s", absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration)))
      .Set("ops", absl::GetFlag(FLAGS_ops))
      .Set("rooms", absl::GetFlag(FLAGS_rooms))
      .Set("room_size", absl::GetFlag(FLAGS_room_size))
      .Set("churn_rooms", absl::GetFlag(FLAGS_churn_rooms))
      .Set("churn_room_size", absl::GetFlag(FLAGS_churn_room_size))
      .Set("watchers", absl::GetFlag(FLAGS_watchers))
      .Set("watch_scope", absl::GetFlag(FLAGS_watch_scope))
      .Set("watch_rooms", absl::GetFlag(FLAGS_watch_rooms))
      .Set("readers", absl::GetFlag(FLAGS_readers))
      .Set("seed", absl::GetFlag(FLAGS_seed));
  JsonObject report;
  report.Set("tool", "rollcall-bench")
      .Set("workload", workload)
      .Set("label", absl::GetFlag(FLAGS_label))
      .Set("target", target)
      .Set("run", run)
      .Set("account", account)
      .Set("started_at", absl::FormatTime(absl::RFC3339_sec, started_at, absl::UTCTimeZone()))
      .Set("config", config)
      .Set("window_s", outcome.window_seconds)
      .Set("errors", outcome.errors)
      .Set("metrics", outcome.metrics)
      .Raw("detail", outcome.sections.Compact());
  const std::string json = report.Pretty();
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ofstream out(path);
    out << json;
    if (!out) {
      std::fprintf(stderr, "rollcall-bench: cannot write %s\n", path.c_str());
      return 2;
    }
  } else {
    std::cout << json;
  }
  return outcome.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rollcall::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "rollcall-bench: load generator for rollcalld and rollcall-baseline (see bench/run)");
  absl::ParseCommandLine(argc, argv);
  return rollcall::bench::Main();
}
