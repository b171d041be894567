// `partita`: the one command-line entry point. See `partita --help` and README.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/log.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon.h"

namespace partita::cli {

namespace {

// Whether `text` starts with a located diagnostic: "FILE:LINE:COL: error: " (or "warning: ").
bool StartsLocated(std::string_view text) {
  const std::size_t file_end = text.find(':');
  if (file_end == 0 || file_end == std::string_view::npos) return false;
  if (text.substr(0, file_end).find_first_of(" \t\n") != std::string_view::npos) return false;
  std::size_t at = file_end + 1;
  for (int number = 0; number < 2; ++number) {
    const std::size_t digits_end = text.find_first_not_of("0123456789", at);
    if (digits_end == at || digits_end == std::string_view::npos || text[digits_end] != ':') {
      return false;
    }
    at = digits_end + 1;
  }
  const std::string_view rest = text.substr(at);
  return rest.rfind(" error: ", 0) == 0 || rest.rfind(" warning: ", 0) == 0;
}

}  // namespace

void PrintError(const std::string& message) {
  // Located diagnostics ("FILE:LINE:COL: error: ...") print as they are, one per line, so
  // editors and scripts find the location at the start of the line.
  if (StartsLocated(message)) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return;
  }
  std::fprintf(stderr, "partita: error: %s\n", message.c_str());
}

}  // namespace partita::cli

int main(int argc, char** argv) {
  CLI::App app{
      "Partita: routes language-model requests between the device, a nearby phone and the "
      "cloud, by policy.",
      "partita"};
  app.set_version_flag("--version", std::string("partita ") + PARTITA_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")->default_val("info");

  int exit_code = 0;
  partita::cli::AddAgentCommands(app, exit_code);
  partita::cli::AddAskCommands(app, exit_code);
  partita::cli::AddDemoCommands(app, exit_code);
  partita::cli::AddGatewayCommands(app, exit_code);
  partita::cli::AddModeldCommands(app, exit_code);
  partita::cli::AddPkiCommands(app, exit_code);
  partita::cli::AddPolicyCommands(app, exit_code);
  partita::cli::AddProfilesCommands(app, exit_code);
  partita::cli::AddReportCommands(app, exit_code);
  partita::cli::AddRouterCommands(app, exit_code);
  partita::cli::AddScorerCommands(app, exit_code);
  partita::cli::AddSimCommands(app, exit_code);

  // Usage errors read like every other error of the command line: "partita: error: ...".
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "partita: error: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });

  app.parse_complete_callback([&] {
    partita::LogLevel level;
    if (!partita::ParseLogLevel(log_level, &level)) {
      throw CLI::ValidationError("--log-level", "expected debug, info, warn, error or off");
    }
    partita::SetLogLevel(level);
    static std::string command;
    for (const CLI::App* sub : app.get_subcommands()) command = sub->get_name();
    partita::cli::ReportCrashes(command.c_str());
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return exit_code;
}
