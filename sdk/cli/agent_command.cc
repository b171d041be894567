// `partita agent --config agent.yaml`: the edge agent daemon.
#include <csignal>

#include "common/log.h"
#include "edge_agent/agent.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon.h"

namespace partita::cli {

void AddAgentCommands(CLI::App& app, int& exit_code) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("agent", "Run the edge agent on a device (docs/agent.md)");
  cmd->add_option("--config", *config_path, "Agent config YAML (kind: AgentConfig)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([config_path, &exit_code] {
    Result<agent::AgentConfig> config = agent::LoadAgentConfig(*config_path);
    if (!config.ok()) {
      PrintError(config.status().message());
      exit_code = 1;
      return;
    }
    exit_code =
        RunOwnedDaemon<agent::Agent>({.name = "agent",
                                      .create = [&] { return agent::Agent::Create(*config); },
                                      .drain = [](agent::Agent& a) { a.Shutdown(); }});
  });
}

}  // namespace partita::cli
