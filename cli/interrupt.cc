// Self-pipe signal handling; see interrupt.h.
#include "cli/interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace rollcall::cli {
namespace {

constexpr char kInterrupt = 'I';
constexpr char kQuit = 'Q';

// The pipe the signal handler writes to; -1 when no handler is installed.
std::atomic<int> g_write_fd{-1};

extern "C" void OnSignal(int /*signo*/) {
  const int saved_errno = errno;
  const int fd = g_write_fd.load();
  if (fd >= 0) {
    const char byte = kInterrupt;
    // Nothing useful can be done about a failed write inside a signal handler.
    [[maybe_unused]] ssize_t n = write(fd, &byte, 1);
  }
  errno = saved_errno;
}

}  // namespace

InterruptHandler::InterruptHandler(std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    // Without the pipe signals keep their default action (terminate); still usable.
    std::perror("rollcall: pipe2");
    return;
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  g_write_fd.store(write_fd_);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
  thread_ = std::thread([this] { Loop(); });
}

InterruptHandler::~InterruptHandler() {
  if (read_fd_ < 0) return;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_write_fd.store(-1);
  const char byte = kQuit;
  while (write(write_fd_, &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  close(read_fd_);
  close(write_fd_);
}

void InterruptHandler::Loop() {
  for (;;) {
    char byte;
    ssize_t n = read(read_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kQuit) return;
    on_interrupt_();
  }
}

}  // namespace rollcall::cli
