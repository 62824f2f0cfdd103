// Routing, global options and help text of `rollcall`; see dispatch.h.
#include "cli/dispatch.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_code.h"

namespace rollcall::cli {
namespace {

constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";

constexpr Choice<OutputFormat> kOutputFormats[] = {
    {"table", OutputFormat::kTable},
    {"json", OutputFormat::kJson},
};

// Groups in help order, with one line each.
struct Group {
  absl::string_view name;
  absl::string_view summary;
};
constexpr Group kGroups[] = {
    {"event", "report participant lifecycle events, as a media server would (IngestService)"},
    {"participants", "read and command participant sessions (ParticipantService)"},
    {"rooms", "create, read and end rooms (RoomService)"},
    {"tracks", "read a participant's published and subscribed tracks (TrackService)"},
    {"rules", "read and replace a participant's subscribe rules (TrackService)"},
    {"watch", "stream changes (WatchService)"},
};

constexpr absl::string_view kOutputHelp =
    "Output (-o):\n"
    "  table  aligned columns under a header row; times in RFC 3339 UTC; unset fields \"-\".\n"
    "         participants: SID ROOM IDENTITY STATUS START END DURATION REASON REVISION\n"
    "         rooms:        SID UNIQUE_NAME STATUS PARTICIPANTS CREATED END DURATION REVISION\n"
    "         event:        \"<OUTCOME> at revision N\" (APPLIED, DUPLICATE or IGNORED), then\n"
    "                       the participant\n"
    "         watch:        REVISION TIME CHANGE SID NAME STATUS PREVIOUS, one line per change\n"
    "         A list without --all prints one page; the next page token goes to stderr.\n"
    "  json   exactly one JSON object per record per line (proto field names, every field),\n"
    "         for jq. Lists and gets print Participant or Room objects; event prints the\n"
    "         RecordEventResponse (outcome, revision, participant); watch prints each change\n"
    "         as a Change object, each initial record as {\"initial_state\":{...}} holding\n"
    "         just that record, then {\"initial_state_end\":{\"revision\":...}} (and with\n"
    "         --progress, {\"progress\":{...}}). 64-bit integers are JSON strings.\n";

constexpr absl::string_view kWatchHelp =
    "Watch: one line per change, in revision order, until interrupted (SIGINT or SIGTERM:\n"
    "  exit 0). When the stream breaks (UNAVAILABLE, RESOURCE_EXHAUSTED, server gone), it\n"
    "  reconnects after 100 ms, doubling up to 5 s, from the last revision received + 1 (or\n"
    "  the revision of INITIAL_STATE_END or of a progress heartbeat + 1), never asking for the\n"
    "  initial state again; --no-resume exits instead. OUT_OF_RANGE (history already\n"
    "  compacted) is fatal and names the oldest retained revision. --timeout bounds the first\n"
    "  connection.\n";

constexpr absl::string_view kExitCodesHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  any other error\n"
    "  2  usage error: unknown command or flag, missing or bad value (the message names the flag)\n"
    "  3  NOT_FOUND\n"
    "  4  INVALID_ARGUMENT, OUT_OF_RANGE\n"
    "  5  FAILED_PRECONDITION, ALREADY_EXISTS, RESOURCE_EXHAUSTED\n"
    "  6  UNAVAILABLE, DEADLINE_EXCEEDED (server unreachable, too slow, or shutting down)\n"
    "Errors are one line on stderr: rollcall: <GRPC_CODE>: <server message>\n";

const Group* FindGroup(absl::string_view name) {
  for (const Group& g : kGroups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

// The group's commands, in table order.
std::vector<const Command*> GroupCommands(absl::string_view group) {
  std::vector<const Command*> out;
  for (const Command& c : Commands()) {
    if (c.group == group) out.push_back(&c);
  }
  return out;
}

bool HasSubcommands(absl::string_view group) {
  std::vector<const Command*> commands = GroupCommands(group);
  return !commands.empty() && !commands.front()->name.empty();
}

// Terminal columns of `s`: UTF-8 code points ("…" is one column, three bytes).
size_t Columns(absl::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string PadRight(std::string s, size_t width) {
  const size_t columns = Columns(s);
  if (columns < width) s.append(width - columns, ' ');
  return s;
}

// One line per flag with help text; flags without help (aliases such as -h) are not listed.
std::string FlagLines(const std::vector<FlagSpec>& flags, absl::string_view indent) {
  std::string out;
  for (const FlagSpec& f : flags) {
    if (f.help.empty()) continue;
    std::string left = f.is_switch() ? f.name : absl::StrCat(f.name, " ", f.value_name);
    absl::StrAppend(&out, indent, PadRight(std::move(left), 34), " ", f.help, "\n");
  }
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out =
      absl::StrCat("  rollcall ", c.FullName(), " ", c.synopsis, "\n      ", c.summary, "\n");
  absl::StrAppend(&out, FlagLines(c.flags, "        "));
  return out;
}

std::string GroupSection(const Group& g) {
  std::string out = absl::StrCat(g.name, ": ", g.summary, "\n");
  for (const Command* c : GroupCommands(g.name)) absl::StrAppend(&out, CommandHelp(*c));
  if (g.name == "watch") absl::StrAppend(&out, kWatchHelp);
  return out;
}

std::string GlobalHelp() {
  return absl::StrCat("Global flags (before or after the command):\n",
                      FlagLines(GlobalFlags(), "  "));
}

std::string HelpHint(absl::string_view group) {
  return group.empty() ? "see 'rollcall --help'"
                       : absl::StrCat("see 'rollcall ", group, " --help'");
}

int Usage(std::ostream& err, absl::string_view message, absl::string_view group) {
  err << "rollcall: " << message << " (" << HelpHint(group) << ")" << std::endl;
  return kExitUsage;
}

const FlagSpec* FindGlobal(absl::string_view token) {
  absl::string_view name = token.substr(0, token.find('='));
  for (const FlagSpec& f : GlobalFlags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IsFlag(absl::string_view token) { return token.size() > 1 && token[0] == '-'; }

bool HelpRequested(absl::Span<const std::string> args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

}  // namespace

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"--server", "HOST:PORT",
       absl::StrCat("rollcalld address (default: $ROLLCALL_SERVER, else ", kDefaultServer, ")")},
      {"--account", "AC…", "account SID of every request (default: the server's default account)"},
      {"-o", "table|json", "output format (default: table)"},
      {"--timeout", "DURATION",
       "deadline of each RPC, e.g. 500ms, 10s, 1m (default: 10s); watch: of connecting"},
      {"--help", "", "show help (also -h; 'rollcall GROUP --help' for one group)"},
      {"-h", "", ""},  // alias of --help, listed with it
  };
  return *flags;
}

absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 absl::string_view server_env) {
  GlobalOptions options;
  if (std::optional<std::string> server = args.Get("--server"); server.has_value()) {
    if (server->empty()) return absl::InvalidArgumentError("flag --server must not be empty");
    options.server = *server;
  } else {
    options.server = server_env.empty() ? std::string(kDefaultServer) : std::string(server_env);
  }
  if (std::optional<std::string> account = args.Get("--account"); account.has_value()) {
    if (account->empty()) return absl::InvalidArgumentError("flag --account must not be empty");
    options.account = *account;
  }
  if (std::optional<std::string> format = args.Get("-o"); format.has_value()) {
    absl::StatusOr<OutputFormat> f = ParseChoiceValue<OutputFormat>("-o", *format, kOutputFormats);
    if (!f.ok()) return f.status();
    options.format = *f;
  }
  if (std::optional<std::string> timeout = args.Get("--timeout"); timeout.has_value()) {
    absl::StatusOr<absl::Duration> d = ParseDurationValue("--timeout", *timeout);
    if (!d.ok()) return d.status();
    options.timeout = *d;
  }
  return options;
}

std::string MainHelp() {
  std::string out =
      "rollcall: command-line client of rollcall, which tracks who is in which video room.\n"
      "\n"
      "Usage: rollcall [global flags] <command> [arguments] [flags]\n"
      "       rollcall <group> --help\n"
      "\n"
      "Commands:\n";
  for (const Command& c : Commands()) {
    absl::StrAppend(&out, "  ", PadRight(c.FullName(), 24), " ", c.summary, "\n");
  }
  absl::StrAppend(&out, "\n", GlobalHelp(), "\n");
  for (const Group& g : kGroups) absl::StrAppend(&out, GroupSection(g), "\n");
  absl::StrAppend(&out,
                  "ROOM is a room SID (RM…) or the unique name of an in-progress room. TIME is "
                  "RFC 3339,\ne.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00.\n\n");
  absl::StrAppend(&out, kOutputHelp, "\n", kExitCodesHelp);
  return out;
}

std::string GroupHelp(absl::string_view group) {
  const Group* g = FindGroup(group);
  if (g == nullptr) return "";
  return absl::StrCat("Usage: rollcall ", g->name, HasSubcommands(g->name) ? " <command>" : "",
                      " [arguments] [flags]\n\n", GroupSection(*g), "\n", GlobalHelp(), "\n",
                      kOutputHelp, "\n", kExitCodesHelp);
}

int RunCli(absl::Span<const std::string> args, absl::string_view server_env, std::ostream& out,
           std::ostream& err) {
  const bool help = HelpRequested(args);

  // Split off the command words; tokens before them may only be global flags.
  std::vector<std::string> words;
  std::vector<std::string> tokens;  // global flags before the words, then everything after
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& token = args[i];
    const size_t wanted = words.empty() ? 1 : (HasSubcommands(words[0]) ? 2 : 1);
    if (words.size() >= wanted) break;
    if (token == "--") break;
    if (!IsFlag(token)) {
      words.push_back(token);
      if (words.size() == 1 && words[0] != "help" && FindGroup(words[0]) == nullptr) {
        return Usage(err, absl::StrCat("unknown command \"", words[0], "\""), "");
      }
      if (words[0] == "help") break;
      continue;
    }
    const FlagSpec* spec = FindGlobal(token);
    if (spec == nullptr) {
      if (help) break;  // e.g. `rollcall participants --room x --help`: still show help
      return Usage(err,
                   absl::StrCat("unknown flag ", token.substr(0, token.find('=')),
                                words.empty() ? " (only global flags may precede the command)"
                                              : " (command flags follow the command)"),
                   words.empty() ? "" : words[0]);
    }
    tokens.push_back(token);
    if (!spec->is_switch() && token.find('=') == std::string::npos && i + 1 < args.size()) {
      tokens.push_back(args[++i]);
    }
  }

  if (!words.empty() && words[0] == "help") {
    if (i + 1 < args.size() && FindGroup(args[i + 1]) != nullptr) {
      out << GroupHelp(args[i + 1]);
    } else {
      out << MainHelp();
    }
    return kExitOk;
  }
  if (words.empty()) {
    if (help) {
      out << MainHelp();
      return kExitOk;
    }
    err << MainHelp();
    return Usage(err, "missing command", "");
  }
  const std::string& group = words[0];
  if (words.size() < (HasSubcommands(group) ? 2u : 1u)) {
    if (help) {
      out << GroupHelp(group);
      return kExitOk;
    }
    std::string names;
    for (const Command* c : GroupCommands(group)) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", c->name);
    }
    return Usage(err, absl::StrCat("missing ", group, " command (one of: ", names, ")"), group);
  }
  const Command* command = nullptr;
  for (const Command* c : GroupCommands(group)) {
    if (words.size() == 1 || c->name == words[1]) command = c;
  }
  if (command == nullptr) {
    return Usage(err, absl::StrCat("unknown ", group, " command \"", words[1], "\""), group);
  }
  if (help) {
    out << GroupHelp(group);
    return kExitOk;
  }

  for (; i < args.size(); ++i) tokens.push_back(args[i]);
  std::vector<FlagSpec> specs = GlobalFlags();
  specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(tokens, specs);
  if (!parsed.ok()) return Usage(err, parsed.status().message(), command->FullName());
  if (parsed->positionals().size() > command->max_positionals) {
    return Usage(err,
                 absl::StrCat("unexpected argument \"",
                              parsed->positionals()[command->max_positionals], "\""),
                 command->FullName());
  }
  absl::StatusOr<GlobalOptions> options = ParseGlobalOptions(*parsed, server_env);
  if (!options.ok()) return Usage(err, options.status().message(), command->FullName());

  CommandEnv env(*command, *std::move(options), out, err);
  return command->run(*parsed, env);
}

}  // namespace rollcall::cli
