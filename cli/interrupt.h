// Turns SIGINT and SIGTERM into a plain callback, so `rollcall watch` can stop cleanly.
//
// While an InterruptHandler lives, those signals no longer kill the process: the signal
// handler only writes a byte to a pipe (async-signal-safe), and a dedicated thread reads it
// and runs `on_interrupt` there, where it may take locks and cancel RPCs. The destructor
// restores the previous dispositions and joins the thread. At most one may exist at a time.
#ifndef ROLLCALL_CLI_INTERRUPT_H_
#define ROLLCALL_CLI_INTERRUPT_H_

#include <csignal>
#include <functional>
#include <thread>

namespace rollcall::cli {

class InterruptHandler {
 public:
  explicit InterruptHandler(std::function<void()> on_interrupt);
  ~InterruptHandler();

  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

 private:
  void Loop();

  std::function<void()> on_interrupt_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::thread thread_;
};

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_INTERRUPT_H_
