#include "service/callback_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

constexpr size_t kMaxAnswerBytes = 64 << 10;

// Reads and drops an answer, refusing one longer than kMaxAnswerBytes.
size_t DropAnswer(char*, size_t size, size_t count, void* userdata) {
  size_t& received = *static_cast<size_t*>(userdata);
  received += size * count;
  return received > kMaxAnswerBytes ? 0 : size * count;
}

bool IsNonPublicV4(const uint8_t a[4]) {
  const uint32_t ip = uint32_t{a[0]} << 24 | uint32_t{a[1]} << 16 | uint32_t{a[2]} << 8 | a[3];
  struct Range {
    uint32_t base;
    int bits;
  };
  static constexpr Range kRanges[] = {
      {0x00000000, 8},   // 0.0.0.0/8 "this network"
      {0x0a000000, 8},   // 10/8 private
      {0x64400000, 10},  // 100.64/10 shared (carrier-grade NAT)
      {0x7f000000, 8},   // 127/8 loopback
      {0xa9fe0000, 16},  // 169.254/16 link-local (cloud metadata)
      {0xac100000, 12},  // 172.16/12 private
      {0xc0000000, 24},  // 192.0.0/24 protocol assignments
      {0xc0000200, 24},  // 192.0.2/24 documentation
      {0xc0a80000, 16},  // 192.168/16 private
      {0xc6120000, 15},  // 198.18/15 benchmarking
      {0xc6336400, 24},  // 198.51.100/24 documentation
      {0xcb007100, 24},  // 203.0.113/24 documentation
      {0xe0000000, 4},   // 224/4 multicast
      {0xf0000000, 4},   // 240/4 reserved, broadcast
  };
  for (const Range& range : kRanges) {
    const uint32_t mask = ~uint32_t{0} << (32 - range.bits);
    if ((ip & mask) == range.base) return true;
  }
  return false;
}

bool IsNonPublicV6(const uint8_t a[16]) {
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(a, kZero, 15) == 0 && (a[15] == 0 || a[15] == 1)) return true;  // :: and ::1
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(a, kMapped, 12) == 0 || std::memcmp(a, kNat64, 12) == 0) {
    return IsNonPublicV4(a + 12);
  }
  if ((a[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (a[0] == 0xff) return true;                           // ff00::/8 multicast
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return true;  // 2001:db8::/32
  return false;
}

bool IsNonPublicSockaddr(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return IsNonPublicV4(reinterpret_cast<const uint8_t*>(&v4->sin_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return IsNonPublicV6(reinterpret_cast<const uint8_t*>(&v6->sin6_addr));
  }
  return true;  // only IP is spoken
}

absl::Status BadUrl(absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("status_callback: ", rule));
}

}  // namespace

bool IsNonPublicAddress(absl::string_view address) {
  const std::string text(absl::StripPrefix(absl::StripSuffix(address, "]"), "["));
  uint8_t bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) return IsNonPublicV4(bytes);
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) return IsNonPublicV6(bytes);
  return false;  // a name: its addresses are checked when connecting
}

absl::Status CheckCallbackUrl(absl::string_view url, bool refuse_private) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory parsing a URL");
  const std::string text(url);
  char* scheme = nullptr;
  char* host = nullptr;
  absl::Status status;
  if (curl_url_set(parsed, CURLUPART_URL, text.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    status = BadUrl("must be an absolute http:// or https:// URL with a host");
  } else if (absl::string_view(scheme) != "http" && absl::string_view(scheme) != "https") {
    status = BadUrl("must be an absolute http:// or https:// URL with a host");
  } else if (refuse_private &&
             (IsNonPublicAddress(host) || absl::AsciiStrToLower(host) == "localhost" ||
              absl::EndsWith(absl::AsciiStrToLower(host), ".localhost"))) {
    status = BadUrl(
        "must not name a loopback, private or otherwise non-public address "
        "(--callback_refuse_private)");
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  return status;
}

struct CurlTransport::Transfer {
  CallbackRequest request;
  std::function<void(CallbackResult)> done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  size_t answer_bytes = 0;
  bool refused = false;  // the address was not public (--callback_refuse_private)
  bool refuse_private = false;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  static curl_socket_t OpenSocket(void* self, curlsocktype, curl_sockaddr* address) {
    auto* transfer = static_cast<Transfer*>(self);
    if (transfer->refuse_private && IsNonPublicSockaddr(&address->addr)) {
      transfer->refused = true;
      return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
  }
};

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(const CurlOptions& options) {
  static const CURLcode initialized = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialized != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("libcurl failed to initialize: ", curl_easy_strerror(initialized)));
  }
  std::unique_ptr<CurlTransport> transport(new CurlTransport(options));
  transport->multi_ = curl_multi_init();
  if (transport->multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
  transport->thread_ = std::thread([raw = transport.get()] { raw->Run(); });
  return transport;
}

CurlTransport::CurlTransport(const CurlOptions& options) : options_(options) {}

CurlTransport::~CurlTransport() {
  Stop();
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void CurlTransport::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (thread_.joinable()) thread_.join();
}

void CurlTransport::Send(CallbackRequest request, std::function<void(CallbackResult)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queued_.push_back(std::move(transfer));
      transfer = nullptr;
    }
  }
  if (transfer != nullptr) {
    transfer->done({.delivered = false, .error = "the server is shutting down"});
    return;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void CurlTransport::StartTransfer(std::unique_ptr<Transfer> transfer) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    transfer->done({.delivered = false, .error = "curl_easy_init failed"});
    return;
  }
  transfer->easy = easy;
  transfer->refuse_private = options_.refuse_private;
  const CallbackRequest& request = transfer->request;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "rollcall-callbacks/1");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, DropAnswer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer->answer_bytes);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  if (!request.signature.empty()) {
    headers =
        curl_slist_append(headers, absl::StrCat("X-Twilio-Signature: ", request.signature).c_str());
  }
  if (request.method == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  transfer->headers = headers;
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), easy) != CURLM_OK) {
    transfer->done({.delivered = false, .error = "curl_multi_add_handle failed"});
    return;
  }
  active_.insert(transfer.release());  // owned by the multi handle until it finishes (Run)
}

void CurlTransport::Run() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  while (true) {
    std::vector<std::unique_ptr<Transfer>> queued;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      queued.swap(queued_);
    }
    for (auto& transfer : queued) StartTransfer(std::move(transfer));
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      std::unique_ptr<Transfer> transfer(raw);
      active_.erase(raw);
      curl_multi_remove_handle(multi, easy);
      long code = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
      CallbackResult result;
      const CURLcode outcome = message->data.result;
      if (transfer->refused) {
        result.error = "refused: the receiver's address is not public (--callback_refuse_private)";
      } else if (outcome != CURLE_OK && !(outcome == CURLE_WRITE_ERROR && code != 0)) {
        result.error = transfer->error[0] != '\0' ? transfer->error : curl_easy_strerror(outcome);
      } else if (code >= 200 && code < 300) {
        result.delivered = true;
      } else if (code >= 300 && code < 400) {
        result.error = absl::StrCat("HTTP ", code, " (redirects are not followed)");
      } else {
        result.error = absl::StrCat("HTTP ", code);
      }
      transfer->done(std::move(result));
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  // Abandoned: their callbacks stay in the store and go out again after a restart.
  for (Transfer* transfer : active_) {
    curl_multi_remove_handle(multi, transfer->easy);
    delete transfer;
  }
  active_.clear();
}

}  // namespace rollcall::service
