// `partita agent --config agent.yaml`: the edge agent daemon.
#include <csignal>

#include "common/log.h"
#include "edge_agent/agent.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon_signals.h"

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
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Create(*config);
    if (!a.ok()) {
      PrintError(a.status().message());
      exit_code = 1;
      return;
    }
    if (Status s = (*a)->Start(); !s.ok()) {
      PrintError(s.message());
      exit_code = 1;
      return;
    }
    WaitForTerminationSignal([&](int) {
      LogInfo("agent", "stopping");
      (*a)->Shutdown();
    });
    exit_code = 0;
  });
}

}  // namespace partita::cli
