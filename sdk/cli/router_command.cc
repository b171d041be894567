// `partita router --config router.yaml`: the router daemon.
#include <csignal>
#include <cstdio>

#include "common/log.h"
#include "router/router.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon_signals.h"
#include "sdk/cli/new_files.h"

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
    // Files this start creates are removed again if it fails (a port in use, say).
    const std::string& log = config->decision_log;
    const std::vector<std::string> created = NewFiles({log, log + "-wal", log + "-shm"});
    Result<std::unique_ptr<router::Router>> r = router::Router::Create(*config);
    if (!r.ok()) {
      RemoveFiles(created);
      PrintError(r.status().message());
      exit_code = 1;
      return;
    }
    if (Status s = (*r)->Start(); !s.ok()) {
      r->reset();
      RemoveFiles(created);
      PrintError(s.message());
      exit_code = 1;
      return;
    }
    WaitForTerminationSignal([&](int signo) {
      LogInfo("router",
              std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + "; draining");
      (*r)->Shutdown();
    });
    exit_code = 0;
  });
}

}  // namespace partita::cli
