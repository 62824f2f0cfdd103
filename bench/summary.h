// The suite's report: reads the per-run JSON files bench/run collected, and writes one row
// per (workload, metric) with rollcall's median over the runs, its spread (min–max), the
// baseline's median from the same suite and their ratio, the Redis peer's median and the ratio
// to it where the peer was measured, and the docs/benchmarks.md, targets target it is held to,
// if any. As Markdown (a table) and as JSON.
//
// Layout read: <dir>/<case>/<server>-<n>.json, server "rollcall", "baseline" or "redis", each
// file rollcall-bench's report or bench/redis_peer's, which has the same shape (its "metrics"
// object and "errors" count are what is used), and <dir>/meta.txt, "key=value" lines copied to
// the header.
#ifndef ROLLCALL_BENCH_SUMMARY_H_
#define ROLLCALL_BENCH_SUMMARY_H_

#include <string>

#include "absl/status/status.h"

namespace rollcall::bench {

// Writes the Markdown to `markdown_path` and the JSON to `json_path` (either may be empty:
// not written); the Markdown also goes to stdout.
absl::Status WriteSuiteReport(const std::string& dir, const std::string& markdown_path,
                              const std::string& json_path);

}  // namespace rollcall::bench

#endif  // ROLLCALL_BENCH_SUMMARY_H_
