// `partita modeld`: the simulated OpenAI-compatible model server (modeld/model_server.h).
// The first line on stdout names the bound address ("... listening on http://HOST:PORT/v1"),
// so scripts and tests that start it with --port 0 read the port from there.
#include <boost/asio/post.hpp>
#include <cstdio>
#include <thread>

#include "common/log.h"
#include "modeld/model_server.h"
#include "net/tls_listener.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/daemon.h"

namespace partita::cli {

namespace {

struct ModeldArgs {
  std::string model = "milm-7b-moe";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device;
  std::string catalog;
  double rate_scale = 1.0;
  int threads = 1;
  std::string fault;
  std::int64_t max_tokens = 64;
};

// The first line names the bound address: scripts and tests read the port from it.
void PrintListening(const modeld::ModelServer& s, double rate_scale) {
  const net::tcp::endpoint bound = s.local_endpoint();
  std::printf(
      "partita modeld: listening on http://%s:%u/v1 (SIMULATED %s: placeholder text, not a "
      "model's answer)\n",
      bound.address().is_v6() ? ("[" + bound.address().to_string() + "]").c_str()
                              : bound.address().to_string().c_str(),
      bound.port(), s.served_name().c_str());
  std::printf(
      "partita modeld: rates from the catalog (%s) x%g: prefill %.0f tokens/s, decode %.1f "
      "tokens/s; fault: %s\n",
      s.rates_source().c_str(), rate_scale, s.prefill_tokens_per_s(), s.decode_tokens_per_s(),
      s.fault().ToString().c_str());
  std::fflush(stdout);
}

int RunModeld(const ModeldArgs& a) {
  modeld::ModelServerOptions o;
  o.model = a.model;
  o.device = a.device;
  o.rate_scale = a.rate_scale;
  o.default_max_tokens = a.max_tokens;
  if (!a.fault.empty()) {
    Result<modeld::FaultSpec> f = modeld::ParseFaultSpec(a.fault);
    if (!f.ok()) {
      PrintError("--fault: " + f.status().message());
      return 1;
    }
    o.fault = *f;
  }
  const std::string address =
      (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" +
      std::to_string(a.port);
  Result<net::tcp::endpoint> ep = net::ParseListenAddress(address);
  if (!ep.ok()) {
    PrintError("--host/--port: " + ep.status().message());
    return 1;
  }
  o.endpoint = *ep;
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(a.catalog);
  if (!catalog.ok()) {
    PrintError(catalog.status().message());
    return 1;
  }
  std::vector<std::unique_ptr<net::asio::io_context>> contexts;
  std::vector<net::asio::io_context*> raw;
  for (int i = 0; i < a.threads; ++i) {
    contexts.push_back(std::make_unique<net::asio::io_context>(1));
    raw.push_back(contexts.back().get());
  }
  std::unique_ptr<modeld::ModelServer> server;
  std::vector<std::thread> threads;
  return RunDaemon({.name = "modeld",
                    .start = [&]() -> Status {
                      Result<std::unique_ptr<modeld::ModelServer>> made =
                          modeld::ModelServer::Create(raw, o, *catalog);
                      if (!made.ok()) return made.status();
                      server = std::move(*made);
                      PrintListening(*server, a.rate_scale);
                      server->Start();
                      for (net::asio::io_context* io : raw) {
                        threads.emplace_back([io] {
                          auto guard = net::asio::make_work_guard(*io);
                          for (;;) {
                            try {
                              io->run();
                              return;
                            } catch (const std::exception& e) {
                              LogError("modeld",
                                       std::string("I/O loop caught an exception: ") + e.what());
                            }
                          }
                        });
                      }
                      return Status::Ok();
                    },
                    .drain =
                        [&](int) {
                          net::asio::post(*raw[0], [&] { server->Stop(); });
                          for (net::asio::io_context* io : raw) io->stop();
                          for (std::thread& t : threads) t.join();
                        }});
}

}  // namespace

void AddModeldCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ModeldArgs>();
  CLI::App* cmd = app.add_subcommand(
      "modeld",
      "Run a SIMULATED OpenAI-compatible model server (demos, tests, load tests). It streams "
      "deterministic placeholder text at a catalog model's prefill and decode rates and marks "
      "every response as simulated (header X-Partita-Simulated: 1, \"partita_simulated\": true). "
      "Faults per request with the header X-Partita-Fault (see docs/backends.md).");
  cmd->add_option("--model", args->model, "Catalog model whose rates to simulate")
      ->default_val("milm-7b-moe");
  cmd->add_option("--host", args->host, "Address to listen on (an IP address)")
      ->default_val("127.0.0.1");
  cmd->add_option("--port", args->port, "Port to listen on; 0 picks a free one (printed)")
      ->default_val(8080)
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--device", args->device,
                  "Device class whose rates to use (default: the cloud's, else the first device "
                  "class that runs the model)");
  cmd->add_option("--catalog", args->catalog, "Catalog YAML (default: the built-in one)");
  cmd->add_option("--rate-scale", args->rate_scale,
                  "Multiply prefill and decode rates (e.g. 100 for fast tests)")
      ->default_val(1.0)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "I/O threads")
      ->default_val(1)
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-tokens", args->max_tokens,
                  "Tokens to generate when a request sets no max_tokens")
      ->default_val(64)
      ->check(CLI::Range(0, 8192));
  cmd->add_option("--fault", args->fault,
                  "Fault for every request: status=CODE, refuse, stall-after=N, drop-after=N, "
                  "slow-ms=M, bad-sse, no-usage (comma-separated)");
  cmd->callback([args, &exit_code] { exit_code = RunModeld(*args); });
}

}  // namespace partita::cli
