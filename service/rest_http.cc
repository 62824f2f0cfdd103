#include "service/rest_http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "service/rest_tls.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

// application/x-www-form-urlencoded decoding of one name or value.
std::string FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (int byte = 0; text[i] == '%' && i + 2 < text.size() &&
                             absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                             absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 2])) &&
                             absl::SimpleHexAtoi(text.substr(i + 1, 2), &byte)) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseFormEncoded(absl::string_view body) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (absl::string_view part : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t equals = part.find('=');
    if (equals == absl::string_view::npos) {
      pairs.emplace_back(FormDecode(part), "");
    } else {
      pairs.emplace_back(FormDecode(part.substr(0, equals)), FormDecode(part.substr(equals + 1)));
    }
  }
  return pairs;
}

namespace {

// One request from its first header to its answer. Owned by libmicrohttpd's per-request
// pointer; freed in the completion callback, which runs only after the connection is resumed.
struct Exchange {
  std::string uri;  // as the client sent it, query included
  bool begun = false;
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  bool body_too_large = false;
  bool dispatched = false;
  std::atomic<bool> answered{false};
  HttpResponse response;
};

// A fixed set of threads running queued requests, at most `max_queued` waiting.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() { Stop(); }

  // False when the queue is full or the pool stopped.
  bool Submit(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    return true;
  }

  // Runs what is queued, then joins the threads.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](WorkerPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
              return pool->stopping_ || !pool->queue_.empty();
            },
            this));
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "host:port" or "[v6]:port" as a socket address.
absl::StatusOr<sockaddr_storage> ParseListen(const std::string& listen, bool& v6) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rest_listen: must be host:port (e.g. 127.0.0.1:8080), got ", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_storage address{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    v6 = false;
  } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    v6 = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--rest_listen: the host must be an IP address or localhost, got ", host));
  }
  return address;
}

// libmicrohttpd's URI callback: the request's state is made here, with the raw URI, so the
// query is decoded as a form ('+' is a space) and freed by OnCompleted whatever happens next.
void* NewExchange(void*, const char* uri, MHD_Connection*) {
  auto* exchange = new Exchange;
  exchange->uri = uri == nullptr ? "" : uri;
  return exchange;
}

std::string Header(MHD_Connection* connection, const char* name) {
  const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  return value == nullptr ? std::string() : std::string(value);
}

// Whether a mutual-TLS connection presented a client certificate the CA verifies.
bool ClientCertificateVerified(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return false;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned int list_size = 0;
  if (gnutls_certificate_get_peers(session, &list_size) == nullptr || list_size == 0) return false;
  unsigned int status = 0;
  return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

MHD_Result Queue(MHD_Connection* connection, const HttpResponse& answer) {
  MHD_Response* response = MHD_create_response_from_buffer(
      answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  for (const auto& [name, value] : answer.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned int>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

struct RestHttpServer::Impl {
  RestHttpOptions options;
  HttpHandler handler;
  HttpErrorBody error_body;
  std::unique_ptr<WorkerPool> workers;
  MHD_Daemon* daemon = nullptr;
  int port = 0;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  // Dispatched requests whose answer libmicrohttpd has not finished sending.
  absl::Mutex flight_mu;
  int in_flight ABSL_GUARDED_BY(flight_mu) = 0;
  std::unique_ptr<RestTlsKeyPair> key_pair;  // must outlive the daemon, as must ca_pem
  std::string ca_pem;

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* /*version*/, const char* upload_data,
                              size_t* upload_data_size, void** request_state);
  static void OnCompleted(void* cls, MHD_Connection* connection, void** request_state,
                          MHD_RequestTerminationCode code);
  MHD_Result Begin(MHD_Connection* connection, const char* url, const char* method,
                   Exchange& exchange);
  MHD_Result Dispatch(Exchange& exchange);
};

MHD_Result RestHttpServer::Impl::OnRequest(void* cls, MHD_Connection* connection, const char* url,
                                           const char* method, const char*, const char* upload_data,
                                           size_t* upload_data_size, void** request_state) {
  auto* impl = static_cast<Impl*>(cls);
  auto* exchange = static_cast<Exchange*>(*request_state);
  if (!exchange->begun) return impl->Begin(connection, url, method, *exchange);
  if (*upload_data_size > 0) {  // a piece of the body
    if (!exchange->body_too_large &&
        exchange->request.body.size() + *upload_data_size <= impl->options.max_body_bytes) {
      exchange->request.body.append(upload_data, *upload_data_size);
    } else {
      exchange->body_too_large = true;
      exchange->request.body.clear();
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (exchange->answered.load(std::memory_order_acquire)) {
    return Queue(connection, exchange->response);
  }
  if (exchange->dispatched) return MHD_YES;  // resumed spuriously: still waiting
  if (exchange->body_too_large) {
    return Queue(connection,
                 impl->error_body(413, absl::StrCat("the request body is larger than the "
                                                    "limit of ",
                                                    impl->options.max_body_bytes,
                                                    " bytes (--rest_max_body_bytes)")));
  }
  return impl->Dispatch(*exchange);
}

MHD_Result RestHttpServer::Impl::Begin(MHD_Connection* connection, const char* url,
                                       const char* method, Exchange& exchange) {
  exchange.begun = true;
  exchange.connection = connection;
  HttpRequest& request = exchange.request;
  request.method = method;
  request.path = url;
  request.tls = options.tls.enabled();
  if (const size_t question = exchange.uri.find('?'); question != std::string::npos) {
    request.query = ParseFormEncoded(absl::string_view(exchange.uri).substr(question + 1));
  }
  request.content_type = Header(connection, MHD_HTTP_HEADER_CONTENT_TYPE);
  request.authorization = Header(connection, MHD_HTTP_HEADER_AUTHORIZATION);
  request.host = Header(connection, MHD_HTTP_HEADER_HOST);
  Exchange* started = &exchange;
  if (options.tls.enabled() && !options.tls.client_ca_file.empty() &&
      !ClientCertificateVerified(connection)) {
    started->answered = true;  // answered before any body is read
    started->response = error_body(403, "a client certificate signed by the client CA is required");
    return Queue(connection, started->response);
  }
  size_t length = 0;
  const std::string declared = Header(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!declared.empty() && absl::SimpleAtoi(declared, &length) && length > options.max_body_bytes) {
    started->answered = true;
    started->response =
        error_body(413, absl::StrCat("the request body is larger than the limit of ",
                                     options.max_body_bytes, " bytes (--rest_max_body_bytes)"));
    return Queue(connection, started->response);
  }
  return MHD_YES;
}

MHD_Result RestHttpServer::Impl::Dispatch(Exchange& exchange) {
  if (stopping.load(std::memory_order_acquire)) {
    exchange.answered = true;
    exchange.response = error_body(503, "the server is shutting down; retry on another");
    exchange.response.headers.emplace_back("Connection", "close");
    return Queue(exchange.connection, exchange.response);
  }
  {
    absl::MutexLock lock(&flight_mu);
    ++in_flight;
  }
  exchange.dispatched = true;
  MHD_suspend_connection(exchange.connection);
  Exchange* pending = &exchange;
  const bool queued = workers->Submit([this, pending] {
    pending->response = handler(pending->request);
    pending->answered.store(true, std::memory_order_release);
    MHD_resume_connection(pending->connection);
  });
  if (!queued) {
    exchange.response =
        error_body(429, absl::StrCat("too many requests are waiting (--rest_max_queued_requests ",
                                     options.max_queued_requests, "); retry later"));
    exchange.answered.store(true, std::memory_order_release);
    MHD_resume_connection(exchange.connection);
  }
  return MHD_YES;
}

void RestHttpServer::Impl::OnCompleted(void* cls, MHD_Connection*, void** request_state,
                                       MHD_RequestTerminationCode) {
  auto* exchange = static_cast<Exchange*>(*request_state);
  if (exchange != nullptr && exchange->dispatched) {
    auto* impl = static_cast<Impl*>(cls);
    absl::MutexLock lock(&impl->flight_mu);
    --impl->in_flight;
  }
  delete exchange;
  *request_state = nullptr;
}

absl::StatusOr<std::unique_ptr<RestHttpServer>> RestHttpServer::Start(
    const RestHttpOptions& options, HttpHandler handler, HttpErrorBody error_body) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->error_body = std::move(error_body);
  bool v6 = false;
  absl::StatusOr<sockaddr_storage> address = ParseListen(options.listen, v6);
  if (!address.ok()) return address.status();
  if (options.workers < 1 || options.io_threads < 1) {
    return absl::InvalidArgumentError("--rest_workers and --rest_io_threads: must be at least 1");
  }

  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                       MHD_USE_ERROR_LOG;
  if (v6) flags |= MHD_USE_IPv6;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_SOCK_ADDR, 0, &*address},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.max_connections), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT,
       static_cast<intptr_t>(std::max<int64_t>(1, absl::ToInt64Seconds(options.idle_timeout))),
       nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(options.max_header_bytes),
       nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(options.io_threads), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::OnCompleted), impl.get()},
      {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&NewExchange), nullptr},
  };
  if (options.max_connections_per_ip > 0) {
    items.push_back({MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                     static_cast<intptr_t>(options.max_connections_per_ip), nullptr});
  }
  if (options.tls.enabled()) {
    absl::StatusOr<std::unique_ptr<RestTlsKeyPair>> pair =
        RestTlsKeyPair::Load(options.tls.cert_file, options.tls.key_file);
    if (!pair.ok()) return pair.status();
    impl->key_pair = *std::move(pair);
    RestTlsKeyPair::Register(impl->key_pair.get());
    flags |= MHD_USE_TLS;
    items.push_back(
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, reinterpret_cast<void*>(&RestTlsKeyPair::Retrieve)});
    if (!options.tls.client_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(options.tls.client_ca_file, "--tls_client_ca_file");
      if (!ca.ok()) return ca.status();
      impl->ca_pem = *std::move(ca);
      items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, impl->ca_pem.data()});
    }
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});

  impl->workers = std::make_unique<WorkerPool>(options.workers, options.max_queued_requests);
  impl->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::OnRequest, impl.get(),
                                  MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    impl->workers->Stop();
    return absl::UnavailableError(absl::StrCat("--rest_listen: cannot listen on ", options.listen,
                                               " (in use, no such address, or unusable TLS "
                                               "files)"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  impl->port = info == nullptr ? 0 : info->port;
  return std::unique_ptr<RestHttpServer>(new RestHttpServer(std::move(impl)));
}

RestHttpServer::RestHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RestHttpServer::~RestHttpServer() { Stop(); }

int RestHttpServer::port() const { return impl_->port; }

void RestHttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true, std::memory_order_release);  // later requests: 503
  MHD_quiesce_daemon(impl_->daemon);
  impl_->workers->Stop();  // every dispatched request is answered and its connection resumed
  {
    // Let the answers go out before the connections close (bounded: a client that does not
    // read its answer is cut off).
    absl::MutexLock lock(&impl_->flight_mu);
    impl_->flight_mu.AwaitWithTimeout(absl::Condition(
                                          +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                               impl->flight_mu) { return impl->in_flight == 0; },
                                          impl_.get()),
                                      absl::Seconds(5));
  }
  MHD_stop_daemon(impl_->daemon);
}

}  // namespace rollcall::service
