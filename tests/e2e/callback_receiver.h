// Status-callback receivers for end-to-end tests (docs/callbacks.md):
//  - ScriptReceiver runs tests/e2e/callback_receiver.py or .js, which judge each request's
//    X-Twilio-Signature with Twilio's own validators and log it as one JSON line;
//  - Receiver is an in-process cpp-httplib server that records every request and answers as
//    told (200, 500, after a delay), for ordering, crash and failure tests;
//  - DeadReceiver listens and never accepts: a receiver that never answers;
//  - MetricValue reads one series off the metrics port.
// Every wait has a deadline; the processes and threads started here end with their object.
#ifndef ROLLCALL_TESTS_E2E_CALLBACK_RECEIVER_H_
#define ROLLCALL_TESTS_E2E_CALLBACK_RECEIVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server_process.h"

namespace rollcall::testing {

using Params = std::map<std::string, std::string>;

// Decodes application/x-www-form-urlencoded text (a POST body or a URL query).
inline Params DecodeForm(const std::string& text) {
  auto unescape = [](const std::string& in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out.push_back(' ');
      } else if (in[i] == '%' && i + 2 < in.size() && isxdigit(in[i + 1]) && isxdigit(in[i + 2])) {
        out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(in[i]);
      }
    }
    return out;
  };
  Params params;
  size_t at = 0;
  while (at <= text.size() && !text.empty()) {
    size_t end = text.find('&', at);
    if (end == std::string::npos) end = text.size();
    const std::string pair = text.substr(at, end - at);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      params[unescape(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : unescape(pair.substr(eq + 1));
    }
    at = end + 1;
  }
  return params;
}

// Encodes `params` as application/x-www-form-urlencoded.
inline std::string EncodeForm(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&name, &value}) {
      for (unsigned char c : *part) {
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out.push_back(static_cast<char>(c));
        } else {
          char hex[4];
          std::snprintf(hex, sizeof(hex), "%%%02X", c);
          out += hex;
        }
      }
      if (part == &name) out += '=';
    }
  }
  return out;
}

// One request a receiver got.
struct Delivery {
  std::string method;
  std::string path;  // with the query
  std::string host;
  std::string body;
  std::string content_type;
  std::string signature;
  Params params;       // the POST form, or the GET query
  bool valid = false;  // ScriptReceiver only: the official validator's verdict
  std::chrono::steady_clock::time_point received;  // Receiver only
  std::string Room() const { return params.count("RoomSid") ? params.at("RoomSid") : ""; }
  int Sequence() const {
    return params.count("SequenceNumber") ? std::stoi(params.at("SequenceNumber")) : -1;
  }
  std::string Event() const {
    return params.count("StatusCallbackEvent") ? params.at("StatusCallbackEvent") : "";
  }
};

// tests/e2e/callback_receiver.{py,js} with `token` as TWILIO_AUTH_TOKEN, in `dir`.
class ScriptReceiver {
 public:
  enum class Language { kPython, kNode };

  ScriptReceiver(Language language, const std::string& dir, const std::string& token,
                 std::vector<std::string> options = {})
      : name_(language == Language::kPython ? "python" : "node"),
        port_file_(dir + "/" + name_ + "-receiver.port"),
        log_file_(dir + "/" + name_ + "-receiver.log") {
    std::vector<std::string> args =
        language == Language::kPython
            ? std::vector<std::string>{"/usr/bin/python3",
                                       ROLLCALL_SOURCE_DIR "/tests/e2e/callback_receiver.py"}
            : std::vector<std::string>{"/usr/bin/env", "node",
                                       ROLLCALL_SOURCE_DIR "/tests/e2e/callback_receiver.js"};
    args.push_back(port_file_);
    args.push_back(log_file_);
    args.insert(args.end(), options.begin(), options.end());
    setenv("TWILIO_AUTH_TOKEN", token.c_str(), 1);
    pid_ = Spawn(std::move(args), dir + "/" + name_ + "-receiver.out");
    const bool up = WaitUntil([&] {
      std::ifstream in(port_file_);
      return in >> port_ && port_ > 0;
    });
    EXPECT_TRUE(up) << name_ << " receiver did not start; output:\n"
                    << ReadFile(dir + "/" + name_ + "-receiver.out");
  }
  ~ScriptReceiver() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ScriptReceiver(const ScriptReceiver&) = delete;
  ScriptReceiver& operator=(const ScriptReceiver&) = delete;

  const std::string& name() const { return name_; }
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request logged so far, in arrival order.
  std::vector<Delivery> Deliveries() const {
    std::vector<Delivery> out;
    std::ifstream in(log_file_);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded()) continue;  // a line being written
      Delivery d;
      d.method = json.value("method", "");
      d.path = json.value("path", "");
      d.host = json.value("host", "");
      d.body = json.value("body", "");
      d.content_type = json.value("content_type", "");
      d.signature = json.value("signature", "");
      d.valid = json.value("valid", false);
      for (const auto& [name, value] : json["params"].items()) {
        d.params[name] = value.get<std::string>();
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  // Sends `d` again (method, path, body, Host, signature as given) and returns the verdict
  // the receiver logged for it.
  std::optional<bool> Replay(const Delivery& d) {
    const size_t before = Deliveries().size();
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(std::chrono::seconds(10));
    client.set_read_timeout(std::chrono::seconds(10));
    httplib::Headers headers = {{"Host", d.host}, {"X-Twilio-Signature", d.signature}};
    httplib::Result result = d.method == "POST" ? client.Post(d.path.c_str(), headers, d.body,
                                                              "application/x-www-form-urlencoded")
                                                : client.Get(d.path.c_str(), headers);
    if (!result || result->status != 200) return std::nullopt;
    const std::vector<Delivery> after = Deliveries();
    if (after.size() != before + 1) return std::nullopt;
    EXPECT_EQ(after.back().host, d.host) << "the replay's Host header was not kept";
    return after.back().valid;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string name_;
  std::string port_file_;
  std::string log_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// An in-process receiver on 127.0.0.1, port 0. `Answer` decides each response's status (and
// may block, e.g. to delay); by default 200.
class Receiver {
 public:
  using Answer = std::function<int(const Delivery&)>;

  explicit Receiver(Answer answer = nullptr) : answer_(std::move(answer)) {
    auto handle = [this](const httplib::Request& request, httplib::Response& response) {
      Delivery d;
      d.method = request.method;
      d.path = request.target.empty() ? request.path : request.target;
      d.host = request.get_header_value("Host");
      d.body = request.body;
      d.content_type = request.get_header_value("Content-Type");
      d.signature = request.get_header_value("X-Twilio-Signature");
      const size_t query = d.path.find('?');
      d.params = request.method == "POST"
                     ? DecodeForm(request.body)
                     : DecodeForm(query == std::string::npos ? "" : d.path.substr(query + 1));
      d.received = std::chrono::steady_clock::now();
      Answer answer;
      std::string location;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        deliveries_.push_back(d);
        answer = answer_;
        location = location_;
      }
      response.status = answer ? answer(d) : 200;
      if (!location.empty()) response.set_header("Location", location);
      response.set_content("ok\n", "text/plain");
    };
    // Enough threads that keep-alive connections from rollcalld never queue behind each other.
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    // Headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms for
    // the delayed ACK (Nagle), which would make every delivery look slow.
    server_.set_tcp_nodelay(true);
    // Stopping waits for connections kept alive by rollcalld: keep that short.
    server_.set_keep_alive_timeout(1);
    server_.Get(".*", handle);
    server_.Post(".*", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    EXPECT_TRUE(WaitUntil([&] { return server_.is_running(); }));
  }
  ~Receiver() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path = "/callbacks") const {
    return "http://" + host() + path;
  }
  void set_answer(Answer answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    answer_ = std::move(answer);
  }
  // A Location header on every answer (for redirects).
  void set_location(std::string location) {
    std::lock_guard<std::mutex> lock(mutex_);
    location_ = std::move(location);
  }
  std::vector<Delivery> Deliveries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return deliveries_;
  }
  size_t Count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return deliveries_.size();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<Delivery> deliveries_;
  Answer answer_;
  std::string location_;
};

// A TCP port that listens and never accepts: connections queue in the kernel, requests are
// never read, nothing is ever answered.
class DeadReceiver {
 public:
  DeadReceiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(fd_, 1024), 0);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~DeadReceiver() { close(fd_); }
  DeadReceiver(const DeadReceiver&) = delete;
  DeadReceiver& operator=(const DeadReceiver&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host() + "/never"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The body of GET /metrics on `port` (empty on failure).
inline std::string ScrapeMetrics(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(5));
  httplib::Result response = client.Get("/metrics");
  return response && response->status == 200 ? response->body : "";
}

// The sum of the samples of `name` whose labels contain `label` (e.g. host="127.0.0.1:80"; empty:
// every series), or nullopt when there is none.
inline std::optional<double> MetricValue(const std::string& text, const std::string& name,
                                         const std::string& label = "") {
  std::optional<double> sum;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    const size_t space = line.rfind(' ');
    sum = sum.value_or(0) + std::strtod(line.c_str() + space + 1, nullptr);
  }
  return sum;
}

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_CALLBACK_RECEIVER_H_
