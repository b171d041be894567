// `partita`: the one command-line entry point. See `partita --help` and README.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <regex>
#include <string>

#include "common/log.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

void PrintError(const std::string& message) {
  // Located diagnostics ("FILE:LINE:COL: error: ...") print as they are, one per line, so
  // editors and scripts find the location at the start of the line.
  static const std::regex kLocated(R"(^[^\s:]+:\d+:\d+: (error|warning): )");
  if (std::regex_search(message, kLocated)) {
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
  partita::cli::AddSimCommands(app, exit_code);

  app.parse_complete_callback([&] {
    partita::LogLevel level;
    if (!partita::ParseLogLevel(log_level, &level)) {
      throw CLI::ValidationError("--log-level", "expected debug, info, warn, error or off");
    }
    partita::SetLogLevel(level);
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
