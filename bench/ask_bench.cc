// What Partita adds to one request: `ask` through the SDK (unix socket) -> agent -> router
// decision over mutual TLS (logged to SQLite before it is answered) -> the device tier's
// runtime, against calling the same runtime directly with the same HTTP client.
//
//   ask_bench [--requests 2000]
//
// The runtime is modeld with its rates scaled up so its own time is small and steady. Prints
// p50/p90/p99 of both paths and the difference.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <vector>

#include "backends/chat_client.h"
#include "backends/openai.h"
#include "bench/flags.h"
#include "common/log.h"
#include "edge_agent/agent.h"
#include "modeld/model_server.h"
#include "net/pki.h"
#include "router/router.h"
#include "sdk/client.h"

using namespace partita;
using Clock = std::chrono::steady_clock;

namespace {

double Pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100 * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 2000;
  bench::Flags("usage: ask_bench [--requests 2000]")
      .Option("--requests", &requests)
      .Parse(argc, argv);
  SetLogLevel(LogLevel::kWarn);
  const std::string dir = std::filesystem::temp_directory_path() / "partita-ask-bench";
  std::filesystem::remove_all(dir);
  net::PkiInitOptions pki;
  pki.dir = dir + "/pki";
  pki.device_ids = {"speaker"};
  if (!net::InitPki(pki).ok()) return 1;

  asio::io_context model_io(1);
  modeld::ModelServerOptions mo;
  mo.model = "milm-1.3b";
  mo.rate_scale = 1e6;
  mo.default_max_tokens = 8;
  auto model = modeld::ModelServer::Create({&model_io}, mo, DefaultCatalog());
  if (!model.ok()) return 1;
  (*model)->Start();
  auto guard = asio::make_work_guard(model_io);
  std::thread model_thread([&] { model_io.run(); });
  const std::string url =
      "http://127.0.0.1:" + std::to_string((*model)->local_endpoint().port()) + "/v1";

  router::RouterConfig rc;
  rc.listen = "127.0.0.1:0";
  rc.metrics_listen = "";
  rc.tls = net::RouterTlsFiles(pki.dir);
  rc.policy_file = std::string(PARTITA_SOURCE_DIR) + "/policies/library/balanced.yaml";
  rc.decision_log = dir + "/router.db";
  rc.io_threads = 1;
  auto router = router::Router::Create(rc);
  if (!router.ok() || !(*router)->Start().ok()) return 1;

  agent::AgentConfig ac;
  ac.device_id = "speaker";
  ac.profile = "smart-speaker";
  ac.tls = net::DeviceTlsFiles(pki.dir, "speaker");
  ac.router = "127.0.0.1:" + std::to_string((*router)->agent_endpoint().port());
  ac.app_socket = dir + "/speaker.sock";
  ac.runtime = agent::RuntimeEndpoint{url, "", ""};
  ac.decide_timeout = std::chrono::seconds(2);
  auto agent = agent::Agent::Create(ac);
  if (!agent.ok() || !(*agent)->Start().ok() ||
      !(*agent)->WaitConnected(true, std::chrono::seconds(10))) {
    std::fprintf(stderr, "agent did not start\n");
    return 1;
  }

  // Direct: the same HTTP client, the same runtime, the same request body shape.
  std::vector<double> direct_ms;
  {
    asio::io_context io(1);
    backends::ClientConfig cc;
    cc.url = url;
    auto client = backends::ChatClient::Create(io.get_executor(), cc);
    backends::ChatParams p;
    p.model = "milm-1.3b";
    p.messages = {{"user", "Turn off the kitchen lights"}};
    p.max_tokens = 8;
    const std::string body = backends::BuildChatRequestBody(p);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < requests + 100; ++i) {
            const auto t0 = Clock::now();
            co_await backends::Complete(**client, body, true, backends::Timeouts{});
            if (i >= 100) {
              direct_ms.push_back(
                  std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
          }
        },
        asio::detached);
    io.run();
  }

  std::vector<double> ask_ms;
  Client client(ac.app_socket);
  AskOptions options;
  options.max_tokens = 8;
  int failures = 0;
  for (int i = 0; i < requests + 100; ++i) {
    const auto t0 = Clock::now();
    Result<Answer> a = client.Ask("Turn off the kitchen lights", options);
    if (!a.ok() || a->tier != Tier::kDevice) ++failures;
    if (i >= 100)
      ask_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }

  std::printf(
      "%d requests each, after 100 warm-up (runtime: modeld milm-1.3b, rates x1e6, 8 tokens)\n",
      requests);
  std::printf("direct to the runtime      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms\n",
              Pct(direct_ms, 50), Pct(direct_ms, 90), Pct(direct_ms, 99));
  std::printf("partita ask (device tier)  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms   failures %d\n",
              Pct(ask_ms, 50), Pct(ask_ms, 90), Pct(ask_ms, 99), failures);
  std::printf(
      "added by Partita at p50: %.3f ms (SDK socket, agent, router decision logged to "
      "SQLite, fallback bookkeeping)\n",
      Pct(ask_ms, 50) - Pct(direct_ms, 50));
  (*agent)->Shutdown();
  (*router)->Shutdown();
  (*model)->Stop();
  guard.reset();
  model_io.stop();
  model_thread.join();
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
