// Registration of the `partita` command groups. Each Add*Commands adds its subcommands to the
// app; a subcommand's callback sets the process exit code through `exit_code` (0 ok, 1 the
// command failed, 2 usage error). Called once from main() before parsing.
#pragma once

#include <CLI/App.hpp>

namespace partita::cli {

void AddAgentCommands(CLI::App& app, int& exit_code);
void AddAskCommands(CLI::App& app, int& exit_code);
void AddDemoCommands(CLI::App& app, int& exit_code);
void AddGatewayCommands(CLI::App& app, int& exit_code);
void AddModeldCommands(CLI::App& app, int& exit_code);
void AddPkiCommands(CLI::App& app, int& exit_code);
void AddPolicyCommands(CLI::App& app, int& exit_code);
void AddProfilesCommands(CLI::App& app, int& exit_code);
void AddReportCommands(CLI::App& app, int& exit_code);
void AddRouterCommands(CLI::App& app, int& exit_code);
void AddScorerCommands(CLI::App& app, int& exit_code);
void AddSimCommands(CLI::App& app, int& exit_code);

// Prints "partita: error: MESSAGE" to stderr.
void PrintError(const std::string& message);

}  // namespace partita::cli
