// rollcall: the command-line client of rollcalld. Everything but reading argv and the
// environment lives in rollcall_cli_lib (see dispatch.h); exit codes are in exit_code.h.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/dispatch.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return rollcall::cli::RunCli(args, rollcall::cli::CliEnvironment::FromProcess(), std::cout,
                               std::cerr);
}
