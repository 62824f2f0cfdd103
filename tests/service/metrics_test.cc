// The metrics registry (prometheus-cpp behind rollcall's wrapper): names, escaping, histogram
// buckets, families, callback gauges, render order, and the HTTP endpoint serving it.
#include "service/metrics.h"

#include <httplib.h>

#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/metrics_http.h"

namespace rollcall::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

MetricsHttpOptions OnPort(int port) {
  MetricsHttpOptions options;
  options.port = port;
  return options;
}

TEST(MetricsTest, CounterRendersHelpTypeAndValue) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("things_total", "Things seen");
  counter.Increment();
  counter.Increment(41);
  EXPECT_EQ(registry.Render(),
            "# HELP things_total Things seen\n"
            "# TYPE things_total counter\n"
            "things_total 42\n");
}

TEST(MetricsTest, FamilyChildrenAreOrderedByLabelsAndEscaped) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounterFamily("calls_total", "Calls", {"method", "code"});
  family.With({"b", "ok"}).Increment(2);
  family.With({"a", "not_found"}).Increment();
  family.With({"b", "ok"}).Increment();  // the same child
  family.With({"q\"uo\\te\nd", "ok"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP calls_total Calls\n"
            "# TYPE calls_total counter\n"
            "calls_total{method=\"a\",code=\"not_found\"} 1\n"
            "calls_total{method=\"b\",code=\"ok\"} 3\n"
            "calls_total{method=\"q\\\"uo\\\\te\\nd\",code=\"ok\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  Histogram& histogram = registry.AddHistogram("latency_seconds", "Latency", {0.001, 0.01, 0.1});
  for (double value : {0.0005, 0.001, 0.005, 0.05, 0.05, 3.0}) histogram.Observe(value);
  const std::string text = registry.Render();
  // A value equal to a bound falls in that bound's bucket (le = less or equal).
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"0.001\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"0.01\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"0.1\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_bucket{le=\"+Inf\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_count 6\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_sum 3.1065\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE latency_seconds histogram\n"));
}

TEST(MetricsTest, GaugesAndCounterFunctionsAreReadAtRenderTime) {
  MetricsRegistry registry;
  double level = 1.5;
  uint64_t seen = 7;
  registry.AddGauge("level", "Level", [&] { return level; });
  registry.AddCounterFunction("seen_total", "Seen", [&] { return static_cast<double>(seen); });
  EXPECT_THAT(registry.Render(), HasSubstr("level 1.5\n"));
  level = 2;
  seen = 9;
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE level gauge\nlevel 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE seen_total counter\nseen_total 9\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounterFamily("n_total", "N", {"k"});
  Histogram& histogram = registry.AddHistogram("h", "H", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.With({t % 2 == 0 ? "even" : "odd"}).Increment();
        histogram.Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("n_total{k=\"even\"} 20000\n"));
  EXPECT_THAT(text, HasSubstr("n_total{k=\"odd\"} 20000\n"));
  EXPECT_THAT(text, HasSubstr("h_count 40000\n"));
  EXPECT_THAT(text, HasSubstr("h_sum 20000\n"));
}

TEST(MetricsTest, SamplesReadBackAsTheirValues) {
  MetricsRegistry registry;
  double value = 0;
  registry.AddGauge("sample", "Sample", [&] { return value; });
  const auto rendered = [&](double v) {
    value = v;
    return registry.Render();
  };
  EXPECT_THAT(rendered(0), HasSubstr("\nsample 0\n"));
  EXPECT_THAT(rendered(12345678), HasSubstr("\nsample 12345678\n"));
  EXPECT_THAT(rendered(0.0001 * 8), HasSubstr("\nsample 0.0008\n"));
  EXPECT_THAT(rendered(-2.5), HasSubstr("\nsample -2.5\n"));
  EXPECT_THAT(rendered(std::numeric_limits<double>::infinity()), HasSubstr("\nsample +Inf\n"));
  EXPECT_THAT(rendered(-std::numeric_limits<double>::infinity()), HasSubstr("\nsample -Inf\n"));
}

TEST(MetricsTest, HelpTextIsEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("escaped_total", "back\\slash and\nnewline");
  EXPECT_THAT(registry.Render(),
              HasSubstr("# HELP escaped_total back\\\\slash and\\nnewline\n# TYPE"));
}

TEST(MetricsTest, MetricsRenderInRegistrationOrder) {
  MetricsRegistry registry;
  registry.AddHistogram("first", "F", {1});
  registry.AddGauge("second", "S", [] { return 1.0; });
  registry.AddCounter("third_total", "T");
  const std::string text = registry.Render();
  ASSERT_THAT(text, HasSubstr("# TYPE third_total counter"));
  EXPECT_LT(text.find("# TYPE first histogram"), text.find("# TYPE second gauge"));
  EXPECT_LT(text.find("# TYPE second gauge"), text.find("# TYPE third_total counter"));
}

TEST(MetricsTest, NamesFollowThePrometheusRules) {
  EXPECT_TRUE(IsValidMetricName("rollcall_events_total"));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName("has space"));
}

TEST(MetricsDeathTest, BadRegistrationsAbortAtStartUp) {
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("twice", "x");
        registry.AddCounter("twice", "y");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("bad-name", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounterFamily("f", "x", {"le"});
      },
      "invalid label name");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddHistogram("h", "x", {1, 1});
      },
      "strictly increasing");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounterFamily("g", "x", {"a", "b"}).With({"only one"});
      },
      "expected 2 label values");
}

TEST(MetricsHttpTest, ServesTheRegistryAtSlashMetrics) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("scraped_total", "Scrapes");
  counter.Increment(3);
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(MetricsHttpOptions{}, registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(response->body, HasSubstr("scraped_total 3\n"));

  counter.Increment();
  response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_THAT(response->body, HasSubstr("scraped_total 4\n"));
  EXPECT_THAT(response->body, Not(HasSubstr("scraped_total 3\n")));

  response = client.Get("/nothing-here");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);

  // A port in use is a clear error, not a crash.
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> second =
      MetricsHttpServer::Start(OnPort((*server)->port()), registry);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("--metrics_port"));

  (*server)->Stop();
  EXPECT_FALSE(client.Get("/metrics"));  // stopped: nothing listens
}

}  // namespace
}  // namespace rollcall::service
