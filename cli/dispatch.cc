// Routing, global options and help of `rollcall` on CLI11; see dispatch.h.
#include "cli/dispatch.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
    {"callbacks", "status callbacks given up on (AdminService)"},
    {"watch", "stream changes (WatchService)"},
    {"health", "ask the server's gRPC health service (grpc.health.v1)"},
};

constexpr absl::string_view kOutputHelp =
    "Output (-o):\n"
    "  table  aligned columns under a header row; times in RFC 3339 UTC; unset fields \"-\".\n"
    "         participants: SID ROOM IDENTITY STATUS START END DURATION REASON REVISION\n"
    "         rooms:        SID UNIQUE_NAME STATUS PARTICIPANTS CREATED END DURATION REVISION\n"
    "         event:        \"<OUTCOME> at revision N\" (APPLIED, DUPLICATE or IGNORED), then\n"
    "                       the participant\n"
    "         watch:        REVISION TIME CHANGE SID NAME STATUS PREVIOUS, one line per change\n"
    "         health:       SERVING or NOT_SERVING\n"
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

constexpr absl::string_view kCredentialsHelp =
    "Credentials: an API key (--api-key SK… --api-secret S) or an account's auth token\n"
    "  (--account-sid AC… --auth-token T), sent on every call as\n"
    "  \"authorization: Basic base64(SID:SECRET)\". Without the flags they come from the\n"
    "  environment: ROLLCALL_API_KEY/ROLLCALL_API_SECRET, else TWILIO_API_KEY/TWILIO_API_SECRET,\n"
    "  else ROLLCALL_ACCOUNT_SID/ROLLCALL_AUTH_TOKEN, else TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN.\n"
    "  --tls verifies the server against the system's CA roots, --ca FILE against FILE's;\n"
    "  --cert/--key present a client certificate (mTLS). Without --tls, --ca or --cert the\n"
    "  connection is plaintext, and credentials are refused (they would travel in clear)\n"
    "  unless the server is on loopback.\n";

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

// The group's commands, in table order.
std::vector<const Command*> GroupCommands(absl::string_view group) {
  std::vector<const Command*> out;
  for (const Command& c : Commands()) {
    if (c.group == group) out.push_back(&c);
  }
  return out;
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
                      FlagLines(GlobalFlags(), "  "), kCredentialsHelp);
}

// The text under CLI11's own usage, options and subcommands lists.
std::string MainFooter() {
  std::string out;
  for (const Group& g : kGroups) absl::StrAppend(&out, GroupSection(g), "\n");
  absl::StrAppend(&out,
                  "ROOM is a room SID (RM…) or the unique name of an in-progress room. TIME is "
                  "RFC 3339,\ne.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00.\n\n");
  absl::StrAppend(&out, kCredentialsHelp, "\n", kOutputHelp, "\n", kExitCodesHelp);
  return out;
}

std::string GroupFooter(const Group& g) {
  return absl::StrCat(GroupSection(g), "\n", GlobalHelp(), "\n", kOutputHelp, "\n", kExitCodesHelp);
}

// CLI11's help with the full command path in its usage line ("Usage: rollcall rooms list").
class Formatter final : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string path;
    for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
      path = path.empty() ? a->get_name() : absl::StrCat(a->get_name(), " ", path);
    }
    return CLI::Formatter::make_usage(app, name.empty() ? name : path);
  }
};

// The CLI11 application built from the command table: one subcommand per group, one
// sub-subcommand per command (a group with one unnamed command is the command). Global flags
// are the root's options; subcommands fall through to them, so they may come after the
// command words. Values are collected as given and interpreted by the commands (ParsedArgs),
// so that every message names the flag and the rule.
class Cli {
 public:
  Cli()
      : app_(
            "rollcall: command-line client of rollcall, which tracks who is in which video "
            "room.",
            "rollcall") {
    app_.formatter(std::make_shared<Formatter>());
    app_.allow_extras();
    app_.footer(MainFooter());
    AddFlags(app_, GlobalFlags());
    help_ = app_.add_subcommand("help", "show help for every command, or for one GROUP");
    help_->add_option("GROUP")->expected(0, 1);
    for (const Group& g : kGroups) {
      CLI::App* group = app_.add_subcommand(std::string(g.name), std::string(g.summary));
      group->fallthrough();
      group->footer(GroupFooter(g));
      groups_.push_back(group);
      for (const Command* c : GroupCommands(g.name)) {
        CLI::App* leaf = c->name.empty() ? group : group->add_subcommand(c->name, c->summary);
        leaf->fallthrough();
        if (leaf != group) leaf->footer(GroupFooter(g));
        AddFlags(*leaf, c->flags);
        leaf->add_option("ARGS")
            ->expected(0, CLI::detail::expected_max_vector_size)
            ->allow_extra_args();
        leaves_.push_back({leaf, c});
      }
    }
  }

  CLI::App& app() { return app_; }
  CLI::App* help() { return help_; }
  CLI::App* GroupApp(absl::string_view name) {
    for (CLI::App* g : groups_) {
      if (g->get_name() == name) return g;
    }
    return nullptr;
  }
  // The selected group, or null.
  CLI::App* SelectedGroup() {
    for (CLI::App* g : groups_) {
      if (g->parsed()) return g;
    }
    return nullptr;
  }
  // The selected command, or null.
  const Command* SelectedCommand(CLI::App** leaf_app) {
    for (const auto& [leaf, command] : leaves_) {
      if (leaf->parsed()) {
        *leaf_app = leaf;
        return command;
      }
    }
    return nullptr;
  }

  // The global and the command's flags and positionals, as given. A flag given twice is an
  // error naming it.
  absl::StatusOr<ParsedArgs> Collect(CLI::App& leaf) {
    ParsedArgs parsed;
    for (CLI::App* app : {&app_, &leaf}) {
      for (const CLI::Option* option : app->get_options()) {
        if (option->count() == 0 || option->get_name() == "--help") continue;
        if (option->get_positional()) {
          for (const std::string& value : option->results()) parsed.AddPositional(value);
          continue;
        }
        const std::string name = FlagName(*option);
        const bool is_switch = option->get_type_size() == 0;
        for (size_t i = 0; i < (is_switch ? option->count() : option->results().size()); ++i) {
          absl::Status added = parsed.AddFlag(name, is_switch ? "" : option->results()[i]);
          if (!added.ok()) return added;
        }
      }
    }
    return parsed;
  }

 private:
  static void AddFlags(CLI::App& app, const std::vector<FlagSpec>& flags) {
    for (const FlagSpec& f : flags) {
      if (f.name == "--help" || f.name == "-h") continue;  // CLI11's own help flag
      if (f.is_switch()) {
        app.add_flag(f.name, f.help);
      } else {
        app.add_option(f.name, f.help)
            ->type_name(f.value_name)
            ->expected(1)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      }
    }
  }
  // The name as the command table spells it: "--room", "-o".
  static std::string FlagName(const CLI::Option& option) {
    if (!option.get_lnames().empty()) return "--" + option.get_lnames().front();
    return "-" + option.get_snames().front();
  }

  CLI::App app_;
  CLI::App* help_ = nullptr;
  std::vector<CLI::App*> groups_;
  std::vector<std::pair<CLI::App*, const Command*>> leaves_;
};

std::string HelpHint(absl::string_view command) {
  return command.empty() ? "see 'rollcall --help'"
                         : absl::StrCat("see 'rollcall ", command, " --help'");
}

int Usage(std::ostream& err, absl::string_view message, absl::string_view command) {
  err << "rollcall: " << message << " (" << HelpHint(command) << ")" << std::endl;
  return kExitUsage;
}

// The message of a CLI11 parse error, made one line.
std::string OneLine(const CLI::Error& e) {
  std::string message = e.what();
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

absl::StatusOr<std::string> ReadFileFlag(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  if (!in || contents.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", flag, ": cannot read \"", path, "\" (or it is empty)"));
  }
  return contents.str();
}

bool IsLoopback(absl::string_view server) {
  return absl::StartsWith(server, "127.") || absl::StartsWith(server, "localhost:") ||
         absl::StartsWith(server, "[::1]:") || absl::StartsWith(server, "unix:");
}

// --api-key/--api-secret or --account-sid/--auth-token, each pair from flags or else from the
// environment; the Basic authorization value, or "" when no credential is given.
absl::StatusOr<std::string> Authorization(const ParsedArgs& args,
                                          const CliEnvironment& environment) {
  struct Pair {
    const char* id_flag;
    const char* secret_flag;
    const std::string& id_env;
    const std::string& secret_env;
  };
  const Pair pairs[] = {
      {"--api-key", "--api-secret", environment.api_key, environment.api_secret},
      {"--account-sid", "--auth-token", environment.account_sid, environment.auth_token},
  };
  // Flags first: a pair given on the command line wins over anything in the environment.
  for (const bool from_flags : {true, false}) {
    for (const Pair& pair : pairs) {
      const std::optional<std::string> id =
          from_flags ? args.Get(pair.id_flag)
                     : (pair.id_env.empty() ? std::nullopt : std::optional(pair.id_env));
      const std::optional<std::string> secret =
          from_flags ? args.Get(pair.secret_flag)
                     : (pair.secret_env.empty() ? std::nullopt : std::optional(pair.secret_env));
      if (!id.has_value() && !secret.has_value()) continue;
      const absl::string_view where = from_flags ? "" : " (from the environment)";
      if (!id.has_value() || id->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag ", pair.secret_flag, " needs ", pair.id_flag, where));
      }
      if (!secret.has_value() || secret->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag ", pair.id_flag, " needs ", pair.secret_flag, where));
      }
      if (absl::StrContains(*id, ':')) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag ", pair.id_flag, " must not contain ':'", where));
      }
      return absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(*id, ":", *secret)));
    }
  }
  return std::string();
}

absl::Status ParseTransport(const ParsedArgs& args, GlobalOptions& options) {
  options.tls = args.Has("--tls");
  if (std::optional<std::string> ca = args.Get("--ca"); ca.has_value()) {
    absl::StatusOr<std::string> pem = ReadFileFlag("--ca", *ca);
    if (!pem.ok()) return pem.status();
    options.ca_pem = *std::move(pem);
    options.tls = true;
  }
  if (args.Has("--cert") != args.Has("--key")) {
    return absl::InvalidArgumentError(args.Has("--cert") ? "flag --cert needs --key"
                                                         : "flag --key needs --cert");
  }
  if (args.Has("--cert")) {
    absl::StatusOr<std::string> cert = ReadFileFlag("--cert", *args.Get("--cert"));
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFileFlag("--key", *args.Get("--key"));
    if (!key.ok()) return key.status();
    options.cert_pem = *std::move(cert);
    options.key_pem = *std::move(key);
    options.tls = true;
  }
  return absl::OkStatus();
}

}  // namespace

CliEnvironment CliEnvironment::FromProcess() {
  // ROLLCALL_* wins over TWILIO_*; each name of a pair is looked up on its own.
  auto get = [](const char* rollcall, const char* twilio) {
    for (const char* name : {rollcall, twilio}) {
      if (name == nullptr) continue;
      const char* value = std::getenv(name);
      if (value != nullptr && *value != '\0') return std::string(value);
    }
    return std::string();
  };
  CliEnvironment environment;
  environment.server = get("ROLLCALL_SERVER", nullptr);
  environment.account_sid = get("ROLLCALL_ACCOUNT_SID", "TWILIO_ACCOUNT_SID");
  environment.auth_token = get("ROLLCALL_AUTH_TOKEN", "TWILIO_AUTH_TOKEN");
  environment.api_key = get("ROLLCALL_API_KEY", "TWILIO_API_KEY");
  environment.api_secret = get("ROLLCALL_API_SECRET", "TWILIO_API_SECRET");
  return environment;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"--server", "HOST:PORT",
       absl::StrCat("rollcalld address (default: $ROLLCALL_SERVER, else ", kDefaultServer, ")")},
      {"--account", "AC…", "account SID of every request (default: the server's default account)"},
      {"-o", "table|json", "output format (default: table)"},
      {"--timeout", "DURATION",
       "deadline of each RPC, e.g. 500ms, 10s, 1m (default: 10s); watch: of connecting"},
      {"--account-sid", "AC…", "authenticate as this account, with --auth-token"},
      {"--auth-token", "TOKEN", "the account's auth token"},
      {"--api-key", "SK…", "authenticate with this API key, with --api-secret"},
      {"--api-secret", "SECRET", "the API key's secret"},
      {"--tls", "", "connect with TLS, verifying the server against the system's CA roots"},
      {"--ca", "FILE", "connect with TLS, verifying the server against FILE's CAs (PEM)"},
      {"--cert", "FILE", "client certificate chain for mTLS (PEM), with --key"},
      {"--key", "FILE", "the client certificate's private key (PEM)"},
      {"--help", "", "show help (also -h; 'rollcall GROUP --help' for one group)"},
      {"-h", "", ""},  // alias of --help, listed with it
  };
  return *flags;
}

absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 const CliEnvironment& environment) {
  GlobalOptions options;
  if (std::optional<std::string> server = args.Get("--server"); server.has_value()) {
    if (server->empty()) return absl::InvalidArgumentError("flag --server must not be empty");
    options.server = *server;
  } else {
    options.server = environment.server.empty() ? std::string(kDefaultServer) : environment.server;
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
  absl::StatusOr<std::string> authorization = Authorization(args, environment);
  if (!authorization.ok()) return authorization.status();
  options.authorization = *std::move(authorization);
  if (absl::Status s = ParseTransport(args, options); !s.ok()) return s;
  if (!options.authorization.empty() && !options.tls && !IsLoopback(options.server)) {
    return absl::InvalidArgumentError(
        absl::StrCat("credentials would be sent in clear to ", options.server,
                     ": add --tls or --ca FILE (plaintext is allowed only to a loopback address)"));
  }
  return options;
}

absl::StatusOr<GlobalOptions> ParseGlobalOptions(const ParsedArgs& args,
                                                 absl::string_view server_env) {
  CliEnvironment environment;
  environment.server = std::string(server_env);
  return ParseGlobalOptions(args, environment);
}

std::string MainHelp() { return Cli().app().help("", CLI::AppFormatMode::Normal); }

std::string GroupHelp(absl::string_view group) {
  Cli cli;
  CLI::App* g = cli.GroupApp(group);
  return g == nullptr ? "" : g->help("rollcall", CLI::AppFormatMode::Normal);
}

namespace {

// The arguments as CLI11 wants them (in reverse order). CLI11 reads "--flag=" as "--flag"
// wanting the next token; the user meant an empty value, which the command then rejects by
// name.
std::vector<std::string> ForCli11(absl::Span<const std::string> args) {
  std::vector<std::string> tokens;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      tokens.insert(tokens.end(), args.begin() + i, args.end());
      break;
    }
    if (absl::StartsWith(args[i], "--") && absl::EndsWith(args[i], "=")) {
      tokens.push_back(args[i].substr(0, args[i].size() - 1));
      tokens.emplace_back();
    } else {
      tokens.push_back(args[i]);
    }
  }
  return {tokens.rbegin(), tokens.rend()};
}

// After a successful parse: the usage error when no single command was named, or leftover
// arguments remain (`where` names the group or command for the message); nullopt when
// `command` may run.
std::optional<int> RejectIncomplete(const std::vector<std::string>& extras, CLI::App* group,
                                    const Command* command, const std::string& where,
                                    std::ostream& err) {
  for (const std::string& extra : extras) {
    if (extra.size() > 1 && extra[0] == '-') {
      return Usage(err, absl::StrCat("unknown flag ", extra.substr(0, extra.find('='))), where);
    }
  }
  if (group == nullptr) {
    if (!extras.empty()) {
      return Usage(err, absl::StrCat("unknown command \"", extras.front(), "\""), "");
    }
    err << MainHelp();
    return Usage(err, "missing command", "");
  }
  if (command == nullptr) {
    if (!extras.empty()) {
      return Usage(err,
                   absl::StrCat("unknown ", group->get_name(), " command \"", extras.front(), "\""),
                   where);
    }
    std::vector<std::string> names;
    for (const Command* c : GroupCommands(group->get_name())) names.push_back(c->name);
    return Usage(err,
                 absl::StrCat("missing ", group->get_name(),
                              " command (one of: ", absl::StrJoin(names, ", "), ")"),
                 where);
  }
  if (!extras.empty()) {
    return Usage(err, absl::StrCat("unexpected argument \"", extras.front(), "\""), where);
  }
  return std::nullopt;
}

// The group or command the arguments selected, for usage messages ("" for none).
std::string Where(const Command* command, CLI::App* group) {
  return command != nullptr ? command->FullName() : group != nullptr ? group->get_name() : "";
}

}  // namespace

int RunCli(absl::Span<const std::string> args, const CliEnvironment& environment, std::ostream& out,
           std::ostream& err) {
  Cli cli;
  try {
    cli.app().parse(ForCli11(args));
  } catch (const CLI::CallForHelp&) {
    out << cli.app().help("", CLI::AppFormatMode::Normal);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    CLI::App* leaf = nullptr;
    const Command* command = cli.SelectedCommand(&leaf);
    return Usage(err, OneLine(e), Where(command, cli.SelectedGroup()));
  }

  if (cli.help()->parsed()) {
    const std::vector<std::string> topic = cli.help()->get_options().back()->results();
    const std::string group_help = topic.empty() ? "" : GroupHelp(topic.front());
    out << (group_help.empty() ? MainHelp() : group_help);
    return kExitOk;
  }
  CLI::App* group = cli.SelectedGroup();
  CLI::App* leaf = nullptr;
  const Command* command = cli.SelectedCommand(&leaf);
  const std::string where = Where(command, group);
  if (std::optional<int> usage =
          RejectIncomplete(cli.app().remaining(), group, command, where, err)) {
    return *usage;
  }

  absl::StatusOr<ParsedArgs> parsed = cli.Collect(*leaf);
  if (!parsed.ok()) return Usage(err, parsed.status().message(), where);
  if (parsed->positionals().size() > command->max_positionals) {
    return Usage(err,
                 absl::StrCat("unexpected argument \"",
                              parsed->positionals()[command->max_positionals], "\""),
                 where);
  }
  absl::StatusOr<GlobalOptions> options = ParseGlobalOptions(*parsed, environment);
  if (!options.ok()) return Usage(err, options.status().message(), where);

  CommandEnv env(*command, *std::move(options), out, err);
  return command->run(*parsed, env);
}

int RunCli(absl::Span<const std::string> args, absl::string_view server_env, std::ostream& out,
           std::ostream& err) {
  CliEnvironment environment;
  environment.server = std::string(server_env);
  return RunCli(args, environment, out, err);
}

}  // namespace rollcall::cli
