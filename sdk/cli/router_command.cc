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
    std::unique_ptr<router::Router> r;
    const std::string& log = config->decision_log;
    exit_code = RunDaemon({.name = "router",
                           .files_it_creates = {log, log + "-wal", log + "-shm"},
                           .start = [&]() -> Status {
                             Result<std::unique_ptr<router::Router>> made =
                                 router::Router::Create(*config);
                             if (!made.ok()) return made.status();
                             r = std::move(*made);
                             return r->Start();
                           },
                           .release = [&] { r.reset(); },
                           .drain = [&](int) { r->Shutdown(); }});
  });
}

}  // namespace partita::cli
