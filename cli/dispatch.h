// Entry point of `rollcall`: routes argv to a subcommand, parses the global options (which
// may come before or after the command words), and serves --help at every level.
//
// Routing: leading tokens may only be global flags; the first word names the group
// ("participants"), the second the command ("list") for groups that have several; every
// later token is parsed strictly against the global flags plus the command's own flags.
// `--help`/`-h` anywhere, or `rollcall help [GROUP]`, prints help to stdout and exits 0.
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

// --server, --account, -o, --timeout, --help, -h.
const std::vector<FlagSpec>& GlobalFlags();

// The global options from parsed flags. `server_env` is $ROLLCALL_SERVER ("" when unset),
// used when --server is absent. Errors are usage errors naming the flag.
absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 absl::string_view server_env);

// `rollcall --help`: every command with its flags, global flags, output formats, exit codes.
std::string MainHelp();
// `rollcall GROUP --help`: that group's commands with their flags, global flags, exit codes.
// Empty for an unknown group.
std::string GroupHelp(absl::string_view group);

// Runs `rollcall` with `args` (argv without the program name); returns the exit code.
int RunCli(absl::Span<const std::string> args, absl::string_view server_env, std::ostream& out,
           std::ostream& err);

}  // namespace rollcall::cli

#endif  // ROLLCALL_CLI_DISPATCH_H_
