// ServerProcess: the real rollcalld binary, started on port 0 in a temp dir, for end-to-end
// tests. Start waits (with a deadline) for the port file the server writes once serving;
// Kill sends SIGKILL (a crash); Stop sends SIGTERM and returns the exit status. The data
// directory outlives restarts of the same ServerProcess.
#ifndef ROLLCALL_TESTS_E2E_SERVER_PROCESS_H_
#define ROLLCALL_TESTS_E2E_SERVER_PROCESS_H_

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace rollcall::testing {

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// Starts `args` (args[0] the binary) with stdout and stderr appended to `log_path`.
inline pid_t Spawn(std::vector<std::string> args, const std::string& log_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, STDERR_FILENO);
    dup2(log, STDOUT_FILENO);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "rollcall-e2e-XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // `flags` are extra rollcalld flags, e.g. {"--reconnect_timeout=2s"}.
  explicit ServerProcess(std::vector<std::string> flags = {}) : flags_(std::move(flags)) {}
  ~ServerProcess() {
    if (pid_ > 0) Kill();
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::string data_dir() const { return dir_.path() + "/data"; }
  int port() const { return port_; }
  // The Prometheus /metrics port (-1 if metrics are off, e.g. by a --metrics_port flag).
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  std::string log_path() const { return dir_.path() + "/rollcalld.log"; }
  void set_flags(std::vector<std::string> flags) { flags_ = std::move(flags); }

  // Starts the server and waits until it serves. Returns false (with a gtest failure) if it
  // does not come up in time.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const std::string port_file = dir_.path() + "/port";
    const std::string metrics_port_file = dir_.path() + "/metrics_port";
    std::filesystem::remove(port_file);
    std::filesystem::remove(metrics_port_file);
    std::vector<std::string> args = {ROLLCALLD_PATH,
                                     "--listen=127.0.0.1:0",
                                     "--port_file=" + port_file,
                                     "--metrics_port=0",
                                     "--metrics_port_file=" + metrics_port_file,
                                     "--data_dir=" + data_dir(),
                                     "--shutdown_grace=10s"};
    args.insert(args.end(), flags_.begin(), flags_.end());
    pid_ = Spawn(std::move(args), log_path());
    const bool up = WaitUntil(
        [&] {
          std::ifstream in(port_file);
          return in >> port_ && port_ > 0;
        },
        timeout);
    EXPECT_TRUE(up) << "rollcalld did not start; log:\n" << Log();
    // Written before the gRPC port file.
    metrics_port_ = -1;
    if (up) std::ifstream(metrics_port_file) >> metrics_port_;
    channel_.reset();
    return up;
  }

  // SIGKILL: nothing is flushed, as in a crash or power loss of the process.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    channel_.reset();
  }

  // SIGTERM and wait; returns the exit code (or 128 + signal).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    return Wait();
  }

  // Sends SIGTERM without waiting (for drain tests).
  void SendTerm() { ::kill(pid_, SIGTERM); }

  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    channel_.reset();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::shared_ptr<grpc::Channel> Channel() {
    if (!channel_) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(64 << 20);
      channel_ = grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
    }
    return channel_;
  }
  // A channel of its own (its own connection), for concurrent clients.
  std::shared_ptr<grpc::Channel> NewChannel(grpc::ChannelArguments args = {}) const {
    args.SetInt("rollcall.test.unique", ++unique_);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }

  std::string Log() const {
    std::ifstream in(log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  TempDir dir_;
  std::vector<std::string> flags_;
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  mutable int unique_ = 0;
};

// A deadline for one RPC.
inline std::unique_ptr<grpc::ClientContext> Deadline(
    std::chrono::seconds seconds = std::chrono::seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + seconds);
  return context;
}

// Runs rollcalld to its exit (or kills it after `timeout`); returns the exit code and log.
inline std::pair<int, std::string> RunToExit(
    const std::vector<std::string>& flags,
    std::chrono::seconds timeout = std::chrono::seconds(30)) {
  TempDir dir;
  const std::string log_path = dir.path() + "/log";
  std::vector<std::string> args = {ROLLCALLD_PATH, "--data_dir=" + dir.path() + "/data",
                                   "--metrics_port=-1"};
  args.insert(args.end(), flags.begin(), flags.end());
  const pid_t pid = Spawn(std::move(args), log_path);
  int status = 0;
  const bool exited = WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  std::ifstream in(log_path);
  std::string log((std::istreambuf_iterator<char>(in)), {});
  return {exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1, log};
}

// Runs `rollcalld <args>` (a shell word list, e.g. "verify --data_dir=D") to completion; returns
// its exit status and output. For commands on a data directory the test made.
inline std::pair<int, std::string> RunRollcalld(const std::string& args) {
  TempDir dir;
  const std::string out = dir.path() + "/out";
  const int status = std::system(
      (std::string(ROLLCALLD_PATH) + " " + args + " > " + out + " 2>&1 < /dev/null").c_str());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text};
}

}  // namespace rollcall::testing

#endif  // ROLLCALL_TESTS_E2E_SERVER_PROCESS_H_
