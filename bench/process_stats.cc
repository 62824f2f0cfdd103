#include "bench/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/latency.h"

namespace rollcall::bench {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A "Name:   1234 kB" line of /proc/<pid>/status (the kernel's kB are KiB), in MB (10^6
// bytes, the unit of the 600 MB target in docs/benchmarks.md).
double StatusMegabytes(const std::string& status, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    int64_t kilobytes = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kilobytes)) {
      return static_cast<double>(kilobytes) * 1024.0 / 1e6;
    }
  }
  return 0;
}

}  // namespace

std::optional<ProcessSample> SampleProcess(pid_t pid) {
  const std::string dir = absl::StrCat("/proc/", pid);
  const std::optional<std::string> stat = ReadFile(dir + "/stat");
  const std::optional<std::string> status = ReadFile(dir + "/status");
  if (!stat || !status) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted
  // from the last ')'. After it come field 3 (state) onwards; utime and stime are 14 and 15.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(close + 1), ' ', absl::SkipEmpty());
  constexpr size_t kUtime = 14 - 3;
  constexpr size_t kStime = 15 - 3;
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() <= kStime || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime)) {
    return std::nullopt;
  }
  ProcessSample sample;
  sample.at_nanos = NowNanos();
  sample.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.rss_mb = StatusMegabytes(*status, "VmRSS");
  sample.peak_rss_mb = StatusMegabytes(*status, "VmHWM");
  return sample;
}

double CoresBetween(const ProcessSample& first, const ProcessSample& last) {
  const double wall = static_cast<double>(last.at_nanos - first.at_nanos) / 1e9;
  return wall > 0 ? (last.cpu_seconds - first.cpu_seconds) / wall : 0;
}

std::optional<pid_t> ReadPidFile(const std::string& path) {
  const std::optional<std::string> contents = ReadFile(path);
  int64_t pid = 0;
  if (!contents || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*contents), &pid) || pid <= 0) {
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

}  // namespace rollcall::bench
