#include "service/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rollcall::service {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

[[noreturn]] void BadRegistration(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::vector<std::string> pairs;
  for (size_t i = 0; i < names.size(); ++i) {
    pairs.push_back(absl::StrCat(names[i], "=\"", EscapeLabelValue(values[i]), "\""));
  }
  if (pairs.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(pairs, ","), "}");
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSample(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest form that reads back as the same double: 0.0008, not 0.00080000000000000004.
  char buffer[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

bool IsValidMetricName(const std::string& name) { return IsValidName(name, true); }

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    BadRegistration("histogram bounds must be non-empty and strictly increasing");
  }
}

void Histogram::Observe(double value) {
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

Counter& CounterFamily::With(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    BadRegistration(
        absl::StrCat("expected ", label_names_.size(), " label values, got ", label_values.size()));
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counter>& child = children_[label_values];
  if (child == nullptr) child = std::make_unique<Counter>();
  return *child;
}

std::vector<std::pair<std::vector<std::string>, uint64_t>> CounterFamily::values() const {
  std::vector<std::pair<std::vector<std::string>, uint64_t>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, counter] : children_) out.emplace_back(labels, counter->value());
  return out;
}

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  const char* type;
  std::variant<std::monostate, std::unique_ptr<Counter>, std::unique_ptr<CounterFamily>,
               std::unique_ptr<Histogram>, std::function<double()>>
      metric;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Add(const std::string& name, const std::string& help,
                                             const char* type) {
  if (!IsValidMetricName(name)) BadRegistration(absl::StrCat("invalid metric name ", name));
  absl::MutexLock lock(&mu_);
  for (const auto& entry : entries_) {
    if (entry->name == name) BadRegistration(absl::StrCat("metric ", name, " registered twice"));
  }
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, type, {}}));
  return *entries_.back();
}

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help) {
  auto counter = std::make_unique<Counter>();
  Counter& out = *counter;
  Add(name, help, "counter").metric = std::move(counter);
  return out;
}

CounterFamily& MetricsRegistry::AddCounterFamily(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names) {
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false) || label.starts_with("__") || label == "le") {
      BadRegistration(absl::StrCat("invalid label name ", label, " on ", name));
    }
  }
  auto family = std::make_unique<CounterFamily>(std::move(label_names));
  CounterFamily& out = *family;
  Add(name, help, "counter").metric = std::move(family);
  return out;
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds) {
  auto histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram& out = *histogram;
  Add(name, help, "histogram").metric = std::move(histogram);
  return out;
}

void MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  Add(name, help, "gauge").metric = std::move(read);
}

void MetricsRegistry::AddCounterFunction(const std::string& name, const std::string& help,
                                         std::function<double()> read) {
  Add(name, help, "counter").metric = std::move(read);
}

std::string MetricsRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& entry : entries_) {
    absl::StrAppend(&out, "# HELP ", entry->name, " ", EscapeHelp(entry->help), "\n", "# TYPE ",
                    entry->name, " ", entry->type, "\n");
    const std::string& name = entry->name;
    if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&entry->metric)) {
      absl::StrAppend(&out, name, " ", (*counter)->value(), "\n");
    } else if (const auto* family = std::get_if<std::unique_ptr<CounterFamily>>(&entry->metric)) {
      for (const auto& [labels, value] : (*family)->values()) {
        absl::StrAppend(&out, name, Labels((*family)->label_names(), labels), " ", value, "\n");
      }
    } else if (const auto* histogram = std::get_if<std::unique_ptr<Histogram>>(&entry->metric)) {
      const Histogram::Snapshot snap = (*histogram)->snapshot();
      for (size_t i = 0; i < snap.bounds.size(); ++i) {
        absl::StrAppend(&out, name, "_bucket{le=\"", FormatSample(snap.bounds[i]), "\"} ",
                        snap.cumulative[i], "\n");
      }
      absl::StrAppend(&out, name, "_bucket{le=\"+Inf\"} ", snap.count, "\n", name, "_sum ",
                      FormatSample(snap.sum), "\n", name, "_count ", snap.count, "\n");
    } else if (const auto* gauge = std::get_if<std::function<double()>>(&entry->metric)) {
      absl::StrAppend(&out, name, " ", FormatSample((*gauge)()), "\n");
    }
  }
  return out;
}

}  // namespace rollcall::service
