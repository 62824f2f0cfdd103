// The `rollcall` subcommands: for each, its flags and help, and how it builds the request,
// calls the stub and prints the result. Dispatch (global options, help, routing) lives in
// dispatch.h.
//
// Every command reports an RPC error as one stderr line, `rollcall: <CODE>: <message>`, and
// returns the exit code of exit_code.h; a bad flag value is a usage error (exit 2) reported
// before any RPC is made.
#ifndef ROLLCALL_CLI_COMMANDS_H_
#define ROLLCALL_CLI_COMMANDS_H_

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/format.h"
#include "grpcpp/channel.h"

namespace rollcall::cli {

// Options that apply to every command; they may appear before or after the command words.
struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string account;  // empty: the server's default account
  OutputFormat format = OutputFormat::kTable;
  absl::Duration timeout = absl::Seconds(10);  // deadline of each unary RPC
  // "Basic base64(SID:SECRET)", sent as `authorization` metadata on every call; empty: none.
  std::string authorization;
  // TLS: verify the server against ca_pem (empty: the system's roots); present cert_pem and
  // key_pem when set (mTLS). Without tls, the channel is plaintext.
  bool tls = false;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

struct Command;

// What a running command works with.
class CommandEnv {
 public:
  CommandEnv(const Command& command, GlobalOptions options, std::ostream& out, std::ostream& err)
      : command_(command), options_(std::move(options)), out_(out), err_(err) {}

  const Command& command() const { return command_; }
  const GlobalOptions& options() const { return options_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // The channel to options().server, created on first use: TLS as the options say, and the
  // credentials added to every call made on it. Reconnects back off from 100 ms to 5 s,
  // matching `watch`'s own resume backoff.
  std::shared_ptr<grpc::Channel> channel();

  // Prints a usage error (naming the command's help) and returns kExitUsage.
  int UsageError(const absl::Status& status);

 private:
  const Command& command_;
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<grpc::Channel> channel_;
};

// One subcommand, e.g. `rollcall participants list`.
struct Command {
  std::string group;     // "participants"
  std::string name;      // "list"; empty when the group is the command ("watch")
  std::string synopsis;  // positional arguments and flags, for help
  std::string summary;   // one line, for help
  std::vector<FlagSpec> flags;
  size_t max_positionals = 0;
  int (*run)(const ParsedArgs& args, CommandEnv& env) = nullptr;

  // "participants list" or "watch".
  std::string FullName() const { return name.empty() ? group : group + " " + name; }
};

// Every subcommand, grouped, in help order.
const std::vector<Command>& Commands();

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_COMMANDS_H_
