// `partita gateway --config gateway.yaml`: the cloud gateway daemon (cloud_gateway/gateway.h).
// SIGTERM or SIGINT drains in-flight streams for drain_timeout_ms, then exits 0.
#include <cstdio>

#include "cloud_gateway/gateway.h"
#include "common/log.h"
#include "net/asio.h"
#include "net/tls.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon.h"

namespace partita::cli {

namespace {

struct GatewayArgs {
  std::string config;
  bool check = false;
};

// The bound fronts, one line each (scripts and tests read the ports from them).
void PrintFronts(const cloud_gateway::GatewayConfig& c, const cloud_gateway::Gateway& g) {
  if (c.tls)
    std::printf("partita gateway: TLS 1.3 front (mutual auth) on %s (port %u)\n",
                c.tls->listen.c_str(), g.tls_port());
  if (c.plaintext) {
    std::printf(
        "partita gateway: PLAINTEXT front on %s (port %u): loopback benchmarking and trusted "
        "loopback only, no authentication\n",
        c.plaintext->listen.c_str(), g.plaintext_port());
  }
  if (!c.metrics_listen.empty()) {
    std::printf("partita gateway: metrics and health on http://%s (port %u)\n",
                c.metrics_listen.c_str(), g.metrics_port());
  }
  for (const cloud_gateway::ModelConfig& m : c.models) {
    std::printf("partita gateway: model %s -> %zu upstream(s), $%g / $%g per 1M tokens in/out\n",
                m.name.c_str(), m.upstreams.size(), m.input_usd_per_1m_tokens,
                m.output_usd_per_1m_tokens);
  }
  std::printf("partita gateway: ledger %s\n", c.ledger_path.c_str());
  std::fflush(stdout);
}

int RunGateway(const GatewayArgs& a) {
  Result<cloud_gateway::GatewayConfigPtr> config = cloud_gateway::LoadGatewayConfig(a.config);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    PrintError("gateway configuration '" + a.config + "' has errors (see docs/gateway.md)");
    return 1;
  }
  const cloud_gateway::GatewayConfig& c = **config;
  if (a.check) {
    // The files it names must load too (the certificate, its key, the CA).
    if (c.tls) {
      Result<net::TlsContextPtr> tls = net::MakeServerTlsContext(
          {c.tls->ca_file, c.tls->cert_file, c.tls->key_file}, {net::PeerKind::kDevice});
      if (!tls.ok()) {
        PrintError(a.config + ": 'tls': " + tls.status().message());
        return 1;
      }
    }
    std::printf("%s: ok (%zu model(s))\n", a.config.c_str(), c.models.size());
    return 0;
  }
  const std::string& ledger = c.ledger_path;
  return RunOwnedDaemon<cloud_gateway::Gateway>(
      {.name = "gateway",
       .files_it_creates = {ledger, ledger + "-wal", ledger + "-shm", ledger + ".reservations"},
       .create = [&] { return cloud_gateway::Gateway::Create(*config); },
       .started = [&](const cloud_gateway::Gateway& g) { PrintFronts(c, g); },
       .drain = [&](cloud_gateway::Gateway& g) { g.Drain(c.drain_timeout); }});
}

}  // namespace

void AddGatewayCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gateway",
      "Run the cloud gateway: TLS 1.3 front for devices, budgets, metering ledger, OpenAI-"
      "compatible upstreams with passive health and retries (gateway.yaml: docs/gateway.md)");
  cmd->add_option("--config", args->config, "gateway.yaml")->required();
  cmd->add_flag("--check", args->check, "Check the configuration and exit");
  cmd->callback([args, &exit_code] { exit_code = RunGateway(*args); });
}

}  // namespace partita::cli
