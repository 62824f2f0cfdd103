// CurlTransport: the status callbacks' HTTP client (docs/callbacks.md), libcurl's multi
// interface on one thread. Every delivery has a whole-request timeout; https verifies the
// receiver's certificate (against --callback_ca_file when given); redirects are never followed
// (a 3xx is a failed attempt); only http and https are spoken; answers are read and dropped,
// at most 64 KiB of them. With `refuse_private`, connections to loopback, private, link-local,
// and other non-public addresses are refused when the socket is opened — after name
// resolution, so a public name that resolves to a private address is refused too.
#ifndef ROLLCALL_SERVICE_CALLBACK_HTTP_H_
#define ROLLCALL_SERVICE_CALLBACK_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/callback_dispatcher.h"

namespace rollcall::service {

struct CurlOptions {
  absl::Duration timeout = absl::Seconds(10);  // --callback_timeout: the whole request
  std::string ca_file;                         // --callback_ca_file; empty: the system's
  bool refuse_private = false;                 // --callback_refuse_private
};

// INVALID_ARGUMENT naming `status_callback` unless `url` is an absolute http(s) URL with a host
// (libcurl's parser decides); with `refuse_private`, also when its host is an IP address that is
// not public, or "localhost".
absl::Status CheckCallbackUrl(absl::string_view url, bool refuse_private);

// Whether a numeric address (IPv4 or IPv6 text) is one callbacks may not reach under
// --callback_refuse_private: loopback, private, link-local, shared, multicast, unspecified,
// documentation and other reserved ranges.
bool IsNonPublicAddress(absl::string_view address);

class CurlTransport final : public CallbackTransport {
 public:
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(const CurlOptions& options);
  ~CurlTransport() override;

  void Send(CallbackRequest request, std::function<void(CallbackResult)> done) override;
  // Abandons what is in flight (its `done` is never called) and stops the thread.
  void Stop();

 private:
  struct Transfer;
  explicit CurlTransport(const CurlOptions& options);
  void Run();
  void StartTransfer(std::unique_ptr<Transfer> transfer);

  const CurlOptions options_;
  void* multi_ = nullptr;  // CURLM*
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Transfer*> active_;  // the thread's: transfers in the multi handle
  std::thread thread_;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CALLBACK_HTTP_H_
