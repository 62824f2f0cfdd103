#include "service/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

// prometheus-cpp writes HELP text as given; the format wants backslash and newline escaped.
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

// prometheus-cpp reports a bad registration by throwing; here it is a start-up abort.
template <typename Register>
auto Registered(const std::string& name, Register&& do_register) -> decltype(do_register()) {
  try {
    return do_register();
  } catch (const std::exception& error) {
    BadRegistration(absl::StrCat("cannot register ", name, ": ", error.what()));
  }
}

// Labels in the declared order, children ordered by those label values: a stable text whatever
// order prometheus-cpp's hash maps hold them in.
void Arrange(const std::vector<std::string>& label_names, prometheus::MetricFamily& family) {
  std::map<std::string, size_t> place;
  for (size_t i = 0; i < label_names.size(); ++i) place[label_names[i]] = i;
  for (prometheus::ClientMetric& metric : family.metric) {
    std::sort(
        metric.label.begin(), metric.label.end(),
        [&](const prometheus::ClientMetric::Label& a, const prometheus::ClientMetric::Label& b) {
          return place[a.name] < place[b.name];
        });
  }
  std::sort(family.metric.begin(), family.metric.end(),
            [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
              return std::lexicographical_compare(
                  a.label.begin(), a.label.end(), b.label.begin(), b.label.end(),
                  [](const auto& x, const auto& y) { return x.value < y.value; });
            });
}

}  // namespace

bool IsValidMetricName(const std::string& name) { return IsValidName(name, true); }

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

Counter& CounterFamily::With(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    BadRegistration(
        absl::StrCat("expected ", label_names_.size(), " label values, got ", label_values.size()));
  }
  prometheus::Labels labels;
  for (size_t i = 0; i < label_names_.size(); ++i) labels.emplace(label_names_[i], label_values[i]);
  return family_.Add(labels);
}

struct MetricsRegistry::Entry {
  std::string name;
  std::vector<std::string> label_names;
  std::unique_ptr<CounterFamily> family;
  // A callback-backed metric: its reader and the one child it sets.
  std::function<double()> read;
  prometheus::Gauge* gauge = nullptr;
  Counter* counter = nullptr;
  // A callback-backed gauge family: its reader and the children it set last time.
  std::function<GaugeChildren()> read_children;
  prometheus::Family<prometheus::Gauge>* gauges = nullptr;
  std::map<std::vector<std::string>, prometheus::Gauge*> children;
};

MetricsRegistry::MetricsRegistry() : registry_(prometheus::Registry::InsertBehavior::Throw) {}
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::Add(const std::string& name) {
  if (!IsValidMetricName(name)) BadRegistration(absl::StrCat("invalid metric name ", name));
  for (const auto& entry : entries_) {
    if (entry->name == name) BadRegistration(absl::StrCat("metric ", name, " registered twice"));
  }
  entries_.push_back(std::make_unique<Entry>());
  entries_.back()->name = name;
  return *entries_.back();
}

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help) {
  absl::MutexLock lock(&mu_);
  Add(name);
  return Registered(name, [&]() -> Counter& {
    return prometheus::BuildCounter().Name(name).Help(EscapeHelp(help)).Register(registry_).Add({});
  });
}

CounterFamily& MetricsRegistry::AddCounterFamily(const std::string& name, const std::string& help,
                                                 std::vector<std::string> label_names) {
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false) || label.starts_with("__") || label == "le") {
      BadRegistration(absl::StrCat("invalid label name ", label, " on ", name));
    }
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name);
  prometheus::Family<Counter>& family = Registered(name, [&]() -> prometheus::Family<Counter>& {
    return prometheus::BuildCounter().Name(name).Help(EscapeHelp(help)).Register(registry_);
  });
  entry.label_names = label_names;
  entry.family = std::make_unique<CounterFamily>(family, std::move(label_names));
  return *entry.family;
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds) {
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    BadRegistration("histogram bounds must be non-empty and strictly increasing");
  }
  absl::MutexLock lock(&mu_);
  Add(name);
  return Registered(name, [&]() -> Histogram& {
    return prometheus::BuildHistogram()
        .Name(name)
        .Help(EscapeHelp(help))
        .Register(registry_)
        .Add({}, prometheus::Histogram::BucketBoundaries(std::move(bounds)));
  });
}

void MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name);
  entry.read = std::move(read);
  entry.gauge = &Registered(name, [&]() -> prometheus::Gauge& {
    return prometheus::BuildGauge().Name(name).Help(EscapeHelp(help)).Register(registry_).Add({});
  });
}

void MetricsRegistry::AddGaugeFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names,
                                     std::function<GaugeChildren()> read) {
  for (const std::string& label : label_names) {
    if (!IsValidName(label, false) || label.starts_with("__") || label == "le") {
      BadRegistration(absl::StrCat("invalid label name ", label, " on ", name));
    }
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name);
  entry.label_names = std::move(label_names);
  entry.read_children = std::move(read);
  entry.gauges = &Registered(name, [&]() -> prometheus::Family<prometheus::Gauge>& {
    return prometheus::BuildGauge().Name(name).Help(EscapeHelp(help)).Register(registry_);
  });
}

void MetricsRegistry::AddCounterFunction(const std::string& name, const std::string& help,
                                         std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  Entry& entry = Add(name);
  entry.read = std::move(read);
  entry.counter = &Registered(name, [&]() -> Counter& {
    return prometheus::BuildCounter().Name(name).Help(EscapeHelp(help)).Register(registry_).Add({});
  });
}

void MetricsRegistry::ReadCallbacks() const {
  for (const auto& entry : entries_) {
    if (entry->read_children) {
      std::map<std::vector<std::string>, prometheus::Gauge*> children;
      for (auto& [values, value] : entry->read_children()) {
        if (values.size() != entry->label_names.size()) continue;
        auto old = entry->children.find(values);
        prometheus::Gauge* gauge = nullptr;
        if (old != entry->children.end()) {
          gauge = old->second;
          entry->children.erase(old);
        } else {
          std::map<std::string, std::string> labels;
          for (size_t i = 0; i < values.size(); ++i)
            labels.emplace(entry->label_names[i], values[i]);
          gauge = &entry->gauges->Add(labels);
        }
        gauge->Set(value);
        children.emplace(values, gauge);
      }
      for (auto& [values, gone] : entry->children) entry->gauges->Remove(gone);
      entry->children = std::move(children);
      continue;
    }
    if (!entry->read) continue;
    const double now = entry->read();
    if (entry->gauge != nullptr) entry->gauge->Set(now);
    // A prometheus-cpp counter only goes up: it catches up with the component's own count.
    if (entry->counter != nullptr && now > entry->counter->Value()) {
      entry->counter->Increment(now - entry->counter->Value());
    }
  }
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mu_);  // one render at a time: the callbacks' values are this render's
  ReadCallbacks();
  std::vector<prometheus::MetricFamily> collected = registry_.Collect();
  std::map<std::string, prometheus::MetricFamily*> by_name;
  for (prometheus::MetricFamily& family : collected) by_name[family.name] = &family;
  std::vector<prometheus::MetricFamily> ordered;
  ordered.reserve(collected.size());
  for (const auto& entry : entries_) {
    auto found = by_name.find(entry->name);
    if (found == by_name.end()) continue;
    Arrange(entry->label_names, *found->second);
    ordered.push_back(std::move(*found->second));
  }
  return prometheus::TextSerializer().Serialize(ordered);
}

}  // namespace rollcall::service
