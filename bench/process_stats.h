// ProcessStats: a process's CPU time and memory as the kernel accounts them, read from
// /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS, VmHWM). Two samples give
// the CPU the process used over a window, in cores.
#ifndef ROLLCALL_BENCH_PROCESS_STATS_H_
#define ROLLCALL_BENCH_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace rollcall::bench {

struct ProcessSample {
  int64_t at_nanos = 0;    // NowNanos() when taken
  double cpu_seconds = 0;  // user + system since the process started
  double rss_mb = 0;       // resident set now, MB (10^6 bytes)
  double peak_rss_mb = 0;  // high-water mark of the resident set, MB
};

// nullopt when the process does not exist (or /proc cannot be read).
std::optional<ProcessSample> SampleProcess(pid_t pid);

// CPU cores the process used between two samples (CPU seconds per wall second).
double CoresBetween(const ProcessSample& first, const ProcessSample& last);

// The pid in a pid file (a decimal number, surrounding whitespace allowed); nullopt when the
// file is missing or holds something else.
std::optional<pid_t> ReadPidFile(const std::string& path);

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_PROCESS_STATS_H_
