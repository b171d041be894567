// `partita router --config router.yaml`: the router daemon.
#include <csignal>
#include <cstdio>

#include "common/log.h"
#include "router/router.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon.h"

namespace partita::cli {

void AddRouterCommands(CLI::App& app, int& exit_code) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "router", "Run the router: decides where each request runs (docs/router.md)");
  cmd->add_option("--config", *config_path, "Router config YAML (kind: RouterConfig)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([config_path, &exit_code] {
    Result<router::RouterConfig> config = router::LoadRouterConfig(*config_path);
    if (!config.ok()) {
      PrintError(config.status().message());
      exit_code = 1;
      return;
    }
    const std::string& log = config->decision_log;
    exit_code =
        RunOwnedDaemon<router::Router>({.name = "router",
                                        .files_it_creates = {log, log + "-wal", log + "-shm"},
                                        .create = [&] { return router::Router::Create(*config); },
                                        .drain = [](router::Router& r) { r.Shutdown(); }});
  });
}

}  // namespace partita::cli
