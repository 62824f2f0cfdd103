// Entry point of `rollcall`: CLI11 routes argv to a subcommand of the command table
// (commands.h), parses the global options (which may come before or after the command words)
// and serves --help at every level.
//
// Routing: leading tokens may only be global flags; the first word names the group
// ("participants"), the second the command ("list") for groups that have several; every later
// token is parsed against the global flags plus the command's own flags. `--help`/`-h`
// anywhere, or `rollcall help [GROUP]`, prints help to stdout and exits 0. Usage errors are
// one stderr line naming the flag or word, exit 2. Adding a command is adding a row to
// Commands(): its flags, help and routing follow from the row.
#ifndef ROLLCALL_CLI_DISPATCH_H_
#define ROLLCALL_CLI_DISPATCH_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace rollcall::cli {

// What `rollcall` reads from its environment: $ROLLCALL_SERVER and the credentials, under
// Twilio's names (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_KEY, TWILIO_API_SECRET) or
// rollcall's (ROLLCALL_ACCOUNT_SID, ...; these win over Twilio's). Empty means unset.
struct CliEnvironment {
  std::string server;
  std::string account_sid;
  std::string auth_token;
  std::string api_key;
  std::string api_secret;

  // From the process environment.
  static CliEnvironment FromProcess();
};

// --server, --account, -o, --timeout, the credential and TLS flags, --help, -h.
const std::vector<FlagSpec>& GlobalFlags();

// The global options from parsed flags, with `environment` as the fallback of --server and
// of the credential flags. Errors are usage errors naming the flag.
absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 const CliEnvironment& environment);
absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 absl::string_view server_env);

// `rollcall --help`: every command, global flags, output formats, exit codes.
std::string MainHelp();
// `rollcall GROUP --help`: that group's commands with their flags, global flags, exit codes.
// Empty for an unknown group.
std::string GroupHelp(absl::string_view group);

// Runs `rollcall` with `args` (argv without the program name); returns the exit code.
int RunCli(absl::Span<const std::string> args, const CliEnvironment& environment, std::ostream& out,
           std::ostream& err);
// The same with only $ROLLCALL_SERVER from the environment ("" when unset).
int RunCli(absl::Span<const std::string> args, absl::string_view server_env, std::ostream& out,
           std::ostream& err);

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_DISPATCH_H_
