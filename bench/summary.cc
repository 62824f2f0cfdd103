#include "bench/summary.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/json.h"

namespace rollcall::bench {
namespace {

namespace fs = std::filesystem;

enum class Unit { kPerSecond, kMillis, kMegabytes, kCores, kCount };

// One row of the table: a metric of one workload, and the §8 target it is held to, if any.
struct RowSpec {
  std::string workload;  // the case directory
  std::string metric;    // key of the reports' "metrics"
  std::string what;
  Unit unit = Unit::kCount;
  std::optional<double> at_least;
  std::optional<double> at_most;
  std::optional<double> ratio_at_least;        // rollcall median / baseline median
  std::optional<double> redis_ratio_at_least;  // rollcall median / Redis peer median
  std::string target;                          // as written in the table; empty: none
};

// A row shown for information: no target.
RowSpec Info(std::string workload, std::string metric, std::string what, Unit unit) {
  RowSpec row;
  row.workload = std::move(workload);
  row.metric = std::move(metric);
  row.what = std::move(what);
  row.unit = unit;
  return row;
}

// A row held to a target: a bound on the median, a bound on the ratio to the baseline, or both.
RowSpec Held(RowSpec row, std::string target, std::optional<double> at_least,
             std::optional<double> at_most, std::optional<double> ratio_at_least) {
  row.target = std::move(target);
  row.at_least = at_least;
  row.at_most = at_most;
  row.ratio_at_least = ratio_at_least;
  return row;
}

// The same row, also held to a ratio to the Redis peer (bench/redis_peer) of the same suite.
RowSpec AndRedis(RowSpec row, double redis_ratio_at_least) {
  row.redis_ratio_at_least = redis_ratio_at_least;
  return row;
}

const std::vector<RowSpec>& Rows() {
  constexpr auto kNone = std::nullopt;
  static const auto* rows = new std::vector<RowSpec>{
      AndRedis(
          Held(Info("stream_ingest", "events_per_s", "durable streaming ingest", Unit::kPerSecond),
               "≥ 3× Redis and ≥ 0.5× baseline", kNone, kNone, 0.5),
          3),
      Info("stream_ingest", "latency_p99_ms", "p99 message → answer", Unit::kMillis),
      Info("stream_ingest", "server_cpu_cores", "server CPU", Unit::kCores),
      Info("stream_ingest", "client_cpu_cores", "load generator CPU", Unit::kCores),
      Held(Info("unary_ingest", "events_per_s", "durable unary ingest", Unit::kPerSecond),
           "≥ 0.8× baseline", kNone, kNone, 0.8),
      Info("unary_ingest", "latency_p99_ms", "p99 call latency", Unit::kMillis),
      Info("unary_ingest", "server_cpu_cores", "server CPU", Unit::kCores),
      Info("unary_ingest", "client_cpu_cores", "load generator CPU", Unit::kCores),
      Held(Info("watch", "watch_p99_ms", "every watcher on the account: p99 ack → received",
                Unit::kMillis),
           "≤ 20 ms", kNone, 20, kNone),
      Info("watch", "watch_p50_ms", "p50 ack → received", Unit::kMillis),
      Info("watch", "deliveries_per_s", "changes delivered", Unit::kPerSecond),
      Info("watch", "watch_missed", "changes still undelivered at the end", Unit::kCount),
      Info("watch", "events_per_s", "events acknowledged", Unit::kPerSecond),
      Info("watch", "server_cpu_cores", "server CPU", Unit::kCores),
      Info("watch", "client_cpu_cores", "load generator CPU", Unit::kCores),
      Held(Info("watch_rooms", "watch_p99_ms", "watchers spread over rooms: p99 ack → received",
                Unit::kMillis),
           "≤ 20 ms", kNone, 20, kNone),
      Info("watch_rooms", "watch_p999_ms", "p99.9 ack → received", Unit::kMillis),
      Info("watch_rooms", "deliveries_per_s", "changes delivered", Unit::kPerSecond),
      Info("churn", "events_per_s", "churn (events and kicks)", Unit::kPerSecond),
      Info("churn", "latency_p99_ms", "p99 message → answer", Unit::kMillis),
      Info("read_mix", "reads_per_s", "Get/List during ingest", Unit::kPerSecond),
      Info("read_mix", "read_p99_ms", "p99 read latency", Unit::kMillis),
      Info("read_mix", "events_per_s", "ingest alongside", Unit::kPerSecond),
      Info("participants", "participants", "participants written", Unit::kCount),
      Info("participants", "events_per_s", "populating them (streaming)", Unit::kPerSecond),
      Held(
          Info("participants", "server_rss_mb", "RSS holding them, after ingest", Unit::kMegabytes),
          "≤ 600 MB", kNone, 600, kNone),
      Held(Info("restart", "ready_ms", "SIGTERM → serving again", Unit::kMillis), "≤ 5 s", kNone,
           5000, kNone),
      Info("restart", "start_ms", "process start → serving", Unit::kMillis),
      Held(Info("restart", "server_rss_mb", "RSS holding them, after restart", Unit::kMegabytes),
           "≤ 600 MB", kNone, 600, kNone),
  };
  return *rows;
}

struct Run {
  std::string file;
  std::map<std::string, double> metrics;
  double errors = 0;
};

// case → server → runs
using Runs = std::map<std::string, std::map<std::string, std::vector<Run>>>;

absl::StatusOr<Run> ReadRun(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::Struct report;
  const auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &report);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": not JSON: ", parsed.ToString()));
  }
  Run run;
  run.file = path.filename().string();
  const auto& fields = report.fields();
  if (auto errors = fields.find("errors"); errors != fields.end()) {
    run.errors = errors->second.number_value();
  }
  if (auto metrics = fields.find("metrics"); metrics != fields.end()) {
    for (const auto& [key, value] : metrics->second.struct_value().fields()) {
      if (value.kind_case() == google::protobuf::Value::kNumberValue) {
        run.metrics[key] = value.number_value();
      }
    }
  }
  return run;
}

absl::StatusOr<Runs> ReadRuns(const fs::path& dir) {
  Runs runs;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_directory()) continue;
    std::vector<fs::path> files;
    for (const auto& file : fs::directory_iterator(entry.path())) {
      if (file.path().extension() == ".json") files.push_back(file.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string stem = file.stem().string();
      const std::string server = stem.substr(0, stem.find('-'));
      absl::StatusOr<Run> run = ReadRun(file);
      if (!run.ok()) return run.status();
      runs[entry.path().filename().string()][server].push_back(*std::move(run));
    }
  }
  if (error) return absl::NotFoundError(absl::StrCat(dir.string(), ": ", error.message()));
  return runs;
}

std::vector<std::pair<std::string, std::string>> ReadMeta(const fs::path& path) {
  std::vector<std::pair<std::string, std::string>> meta;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    meta.emplace_back(line.substr(0, equals), line.substr(equals + 1));
  }
  return meta;
}

struct Stats {
  std::vector<double> values;
  double median = 0;
  double min = 0;
  double max = 0;
};

std::optional<Stats> StatsOf(const std::vector<Run>& runs, const std::string& metric) {
  Stats stats;
  for (const Run& run : runs) {
    if (auto it = run.metrics.find(metric); it != run.metrics.end()) {
      stats.values.push_back(it->second);
    }
  }
  if (stats.values.empty()) return std::nullopt;
  std::vector<double> sorted = stats.values;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  stats.median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  stats.min = sorted.front();
  stats.max = sorted.back();
  return stats;
}

std::string Thousands(int64_t value) {
  std::string digits = absl::StrCat(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

std::string Format(double value, Unit unit) {
  switch (unit) {
    case Unit::kPerSecond:
      return absl::StrCat(Thousands(std::llround(value)), "/s");
    case Unit::kMillis:
      return absl::StrFormat(value < 10 ? "%.2f ms" : "%.1f ms", value);
    case Unit::kMegabytes:
      return absl::StrFormat("%.0f MB", value);
    case Unit::kCores:
      return absl::StrFormat("%.2f", value);
    case Unit::kCount:
      return Thousands(std::llround(value));
  }
  return "";
}

std::string Spread(const Stats& stats, Unit unit) {
  if (stats.values.size() < 2) return absl::StrCat("1 run");
  return absl::StrCat(Format(stats.min, unit), " – ", Format(stats.max, unit));
}

JsonObject StatsJson(const std::optional<Stats>& stats) {
  JsonObject json;
  if (!stats) return json;
  std::vector<std::string> values;
  for (double value : stats->values) values.push_back(JsonNumber(value));
  json.Set("median", stats->median)
      .Set("min", stats->min)
      .Set("max", stats->max)
      .Raw("runs", absl::StrCat("[", absl::StrJoin(values, ","), "]"));
  return json;
}

}  // namespace

absl::Status WriteSuiteReport(const std::string& dir, const std::string& markdown_path,
                              const std::string& json_path) {
  absl::StatusOr<Runs> runs = ReadRuns(dir);
  if (!runs.ok()) return runs.status();
  const auto meta = ReadMeta(fs::path(dir) / "meta.txt");
  bool quick = false;
  for (const auto& [key, value] : meta) quick |= key == "mode" && value == "quick";

  std::string md =
      "| workload | metric | rollcall median | spread (min – max) | baseline median "
      "| ratio to baseline | Redis median | ratio to Redis | target | met? |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  std::vector<std::string> json_rows;
  for (const RowSpec& row : Rows()) {
    const auto found = runs->find(row.workload);
    if (found == runs->end()) continue;
    const auto& servers = found->second;
    const auto stats_of = [&](const std::string& server) -> std::optional<Stats> {
      const auto it = servers.find(server);
      return it == servers.end() ? std::nullopt : StatsOf(it->second, row.metric);
    };
    const std::optional<Stats> rollcall = stats_of("rollcall");
    const std::optional<Stats> baseline = stats_of("baseline");
    const std::optional<Stats> redis = stats_of("redis");
    std::optional<double> ratio;
    if (rollcall && baseline && baseline->median != 0) ratio = rollcall->median / baseline->median;
    std::optional<double> redis_ratio;
    if (rollcall && redis && redis->median != 0) redis_ratio = rollcall->median / redis->median;
    std::string met = "—";
    if (!row.target.empty() && quick) {
      met = "n/a (--quick)";
    } else if (!row.target.empty() && rollcall) {
      bool ok = true;
      if (row.at_least) ok &= rollcall->median >= *row.at_least;
      if (row.at_most) ok &= rollcall->median <= *row.at_most;
      std::vector<std::string> unknown;
      if (row.ratio_at_least) {
        if (ratio) {
          ok &= *ratio >= *row.ratio_at_least;
        } else {
          unknown.push_back("no baseline");
        }
      }
      if (row.redis_ratio_at_least) {
        if (redis_ratio) {
          ok &= *redis_ratio >= *row.redis_ratio_at_least;
        } else {
          unknown.push_back("no Redis");
        }
      }
      met = !unknown.empty() ? absl::StrCat("unknown (", absl::StrJoin(unknown, ", "), ")")
            : ok             ? "yes"
                             : "**no**";
    }
    absl::StrAppend(&md, "| ", row.workload, " | ", row.what, " | ",
                    rollcall ? Format(rollcall->median, row.unit) : "not measured", " | ",
                    rollcall ? Spread(*rollcall, row.unit) : "", " | ",
                    baseline ? Format(baseline->median, row.unit) : "—", " | ",
                    ratio ? absl::StrFormat("%.2f×", *ratio) : "—", " | ",
                    redis ? Format(redis->median, row.unit) : "—", " | ",
                    redis_ratio ? absl::StrFormat("%.2f×", *redis_ratio) : "—", " | ",
                    row.target.empty() ? "—" : row.target, " | ", met, " |\n");
    JsonObject json_row;
    json_row.Set("workload", row.workload)
        .Set("metric", row.metric)
        .Set("what", row.what)
        .Set("rollcall", StatsJson(rollcall))
        .Set("baseline", StatsJson(baseline))
        .Raw("ratio", ratio ? JsonNumber(*ratio) : "null")
        .Set("redis", StatsJson(redis))
        .Raw("ratio_to_redis", redis_ratio ? JsonNumber(*redis_ratio) : "null")
        .Set("target", row.target)
        .Set("met", met);
    json_rows.push_back(json_row.Compact());
  }

  std::vector<std::string> error_notes;
  for (const auto& [workload, servers] : *runs) {
    for (const auto& [server, server_runs] : servers) {
      for (const Run& run : server_runs) {
        if (run.errors > 0) {
          error_notes.push_back(
              absl::StrCat(workload, "/", run.file, ": ", std::llround(run.errors), " errors"));
        }
      }
    }
  }
  std::string header = "# rollcall benchmark suite\n\n";
  JsonObject meta_json;
  for (const auto& [key, value] : meta) {
    absl::StrAppend(&header, "- ", key, ": ", value, "\n");
    meta_json.Set(key, value);
  }
  absl::StrAppend(&md, "\n",
                  error_notes.empty()
                      ? "No errors in any run: every op was answered OK, and no watch stream broke "
                        "or delivered out of order (changes late past the end of a run are in the "
                        "watch rows, not errors).\n"
                      : absl::StrCat("Errors: ", absl::StrJoin(error_notes, "; "), "\n"));
  md = absl::StrCat(header, "\n", md);
  std::cout << md;
  if (!markdown_path.empty()) {
    std::ofstream out(markdown_path);
    out << md;
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", markdown_path));
  }
  if (!json_path.empty()) {
    std::vector<std::string> notes;
    for (const std::string& note : error_notes) notes.push_back(JsonString(note));
    JsonObject json;
    json.Set("meta", meta_json)
        .Raw("rows", absl::StrCat("[\n    ", absl::StrJoin(json_rows, ",\n    "), "\n  ]"))
        .Raw("errors", absl::StrCat("[", absl::StrJoin(notes, ","), "]"));
    std::ofstream out(json_path);
    out << json.Pretty();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", json_path));
  }
  return absl::OkStatus();
}

}  // namespace rollcall::bench
