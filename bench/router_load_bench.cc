// Load generator for the router: N agents over mutual TLS on loopback sending DecideRequests,
// each keeping `window` requests in flight (closed loop, the router's saturation throughput), or
// with `--rate R` sending R decisions/s in all, due each millisecond, whatever the answers do (open
// loop: a stalled router cannot slow the senders and hide its queue). The router runs in
// this process on its own I/O threads with its real decision log (SQLite in a temporary
// directory); the agents run on one more thread.
//
//   router_load_bench [--connections 32] [--window 4] [--rate R] [--seconds 10]
//                     [--io-threads 2] [--timeline MS]
//
// Prints decisions/s, client-side latency p50/p99/p999, and the decision log's commits;
// `--timeline MS` also prints p50/p99/max for each MS-millisecond window of the run, to tell a
// steady tail from stalls.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "common/log.h"
#include "net/framed_connection.h"
#include "net/pki.h"
#include "net/tls_listener.h"
#include "router/router.h"
#include "storage/sqlite.h"

using namespace partita;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int connections = 32;
  int window = 4;
  double seconds = 10;
  int io_threads = 2;
  double rate = 0;      // decisions/s over all connections; 0 = closed loop
  int timeline_ms = 0;  // > 0: per-window percentiles
};

struct Sample {
  float at_ms;  // completion time since the measurement started
  float latency_us;
};

struct Shared {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> decisions{0};
  std::atomic<std::uint64_t> errors{0};
  Clock::time_point measure_start;
  std::vector<std::vector<Sample>> samples;  // one vector per connection
  // Open loop: each connection's send function once it is welcomed (client thread only).
  std::vector<std::function<void(Clock::time_point)>> senders;
};

// Open loop: one timer for all connections; every tick sends the requests that fell due since
// the last one, round robin over the connections, stamped with the tick's time.
asio::awaitable<void> Pacer(const Options& o, Shared& shared) {
  constexpr auto kTick = std::chrono::milliseconds(1);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto start = Clock::now();
  std::uint64_t sent = 0;
  std::size_t next = 0;
  for (auto tick = start + kTick; !shared.stop; tick += kTick) {
    timer.expires_at(tick);
    co_await timer.async_wait(asio::use_awaitable);
    const auto now = Clock::now();
    const auto due =
        static_cast<std::uint64_t>(o.rate * std::chrono::duration<double>(now - start).count());
    for (std::size_t tries = 0; sent < due && tries < due - sent + shared.senders.size(); ++tries) {
      auto& send = shared.senders[next++ % shared.senders.size()];
      if (!send) continue;
      send(now);
      ++sent;
    }
  }
}

asio::awaitable<void> Agent(int index, std::string pki, std::uint16_t port, const Options& o,
                            Shared& shared) {
  const std::string id = net::NumberedDeviceIds(index + 1).back();
  auto tls = net::MakeClientTlsContext(net::DeviceTlsFiles(pki, id), {net::PeerKind::kRouter});
  auto stream = co_await net::ConnectTls(co_await asio::this_coro::executor, "127.0.0.1", port,
                                         *tls, std::chrono::seconds(5));
  if (!stream.ok()) {
    std::fprintf(stderr, "%s: %s\n", id.c_str(), stream.status().message().c_str());
    co_return;
  }
  auto conn = std::make_shared<net::FramedConnection<net::TlsStream>>(
      std::move(*stream), net::FramedConnectionOptions{});
  conn->Start();
  v1::Envelope hello;
  hello.mutable_hello()->set_device_id(id);
  hello.mutable_hello()->set_profile(index % 2 == 0 ? "smart-speaker" : "phone-mid");
  hello.mutable_hello()->mutable_state()->set_battery_pct(70);
  hello.mutable_hello()->mutable_state()->mutable_network()->set_type(v1::NETWORK_WIFI);
  conn->Send(hello);
  std::vector<Clock::time_point> sent(1 << 16);
  std::uint64_t next_id = 1;
  auto send_one = [&](Clock::time_point scheduled) {
    v1::Envelope e;
    v1::DecideRequest* r = e.mutable_decide_request();
    r->set_request_id(next_id);
    v1::RequestFeatures* f = r->mutable_features();
    f->set_kind(next_id % 3 == 0   ? v1::KIND_REASONING
                : next_id % 3 == 1 ? v1::KIND_COMMAND
                                   : v1::KIND_CHAT);
    f->set_difficulty(static_cast<float>((next_id * 37) % 100) / 100.0f);
    f->set_tokens_in(20 + static_cast<std::uint32_t>(next_id % 200));
    f->set_tokens_out(30);
    f->set_privacy(next_id % 10 == 0 ? v1::PRIVACY_PRIVATE : v1::PRIVACY_NORMAL);
    sent[next_id & 0xffff] = scheduled;
    ++next_id;
    conn->Send(e);
  };
  auto& samples = shared.samples[static_cast<std::size_t>(index)];
  auto receive_loop = [&]() -> asio::awaitable<void> {
    while (!shared.stop) {
      v1::Envelope in;
      if (co_await conn->Read(in)) break;
      if (in.has_decision()) {
        const auto now = Clock::now();
        const double us = std::chrono::duration<double, std::micro>(
                              now - sent[in.decision().request_id() & 0xffff])
                              .count();
        if (shared.measuring) {
          samples.push_back(
              {std::chrono::duration<float, std::milli>(now - shared.measure_start).count(),
               static_cast<float>(us)});
          shared.decisions.fetch_add(1, std::memory_order_relaxed);
        }
        if (o.rate <= 0) send_one(Clock::now());
      } else if (in.has_error()) {
        shared.errors.fetch_add(1);
        if (o.rate <= 0) send_one(Clock::now());
      }
    }
  };
  for (v1::Envelope in; !in.has_welcome();) {
    if (co_await conn->Read(in)) co_return;
  }
  if (o.rate > 0) {
    shared.senders[static_cast<std::size_t>(index)] = send_one;
  } else {
    for (int i = 0; i < o.window; ++i) send_one(Clock::now());
  }
  co_await receive_loop();
  shared.senders[static_cast<std::size_t>(index)] = nullptr;  // the pacer must not call it now
  conn->Close("done");
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bench::Flags(
      "usage: router_load_bench [--connections 32] [--window 4] [--rate R] [--seconds 10]\n"
      "                         [--io-threads 2] [--timeline MS]")
      .Option("--connections", &o.connections)
      .Option("--window", &o.window)
      .Option("--rate", &o.rate)
      .Option("--seconds", &o.seconds)
      .Option("--io-threads", &o.io_threads)
      .Option("--timeline", &o.timeline_ms)
      .Parse(argc, argv);
  SetLogLevel(LogLevel::kWarn);
  const std::string dir = std::filesystem::temp_directory_path() / "partita-router-bench";
  std::filesystem::remove_all(dir);
  net::PkiInitOptions pki;
  pki.dir = dir + "/pki";
  pki.device_ids = net::NumberedDeviceIds(o.connections);
  if (auto r = net::InitPki(pki); !r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    return 1;
  }
  router::RouterConfig config;
  config.listen = "127.0.0.1:0";
  config.metrics_listen = "";
  config.tls = net::RouterTlsFiles(pki.dir);
  config.policy_file = std::string(PARTITA_SOURCE_DIR) + "/policies/library/balanced.yaml";
  config.decision_log = dir + "/router.db";
  config.io_threads = o.io_threads;
  // Pairs of devices share a household (a speaker and a phone), as router.yaml would say.
  for (int i = 0; i < o.connections; ++i) {
    config.households[pki.device_ids[static_cast<std::size_t>(i)]] =
        "home-" + std::to_string(i / 2);
  }
  auto router = router::Router::Create(config);
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().message().c_str());
    return 1;
  }
  if (Status s = (*router)->Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  const std::uint16_t port = (*router)->agent_endpoint().port();

  Shared shared;
  shared.samples.resize(static_cast<std::size_t>(o.connections));
  shared.senders.resize(static_cast<std::size_t>(o.connections));
  asio::io_context clients(1);
  for (int i = 0; i < o.connections; ++i) {
    asio::co_spawn(clients, Agent(i, pki.dir, port, o, shared), asio::detached);
  }
  if (o.rate > 0) asio::co_spawn(clients, Pacer(o, shared), asio::detached);
  std::thread client_thread([&] { clients.run(); });
  std::this_thread::sleep_for(std::chrono::seconds(2));  // warm-up
  const auto t0 = Clock::now();
  shared.measure_start = t0;
  shared.measuring = true;
  const double cpu0 = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  shared.measuring = false;
  const double cpu = CpuSeconds() - cpu0;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  shared.stop = true;
  const std::uint64_t n = shared.decisions.load();
  (*router)->Shutdown();
  const storage::BatchWriter::Stats log_stats = (*router)->decision_log_stats();
  clients.stop();
  client_thread.join();

  std::vector<double> all;
  std::vector<std::vector<double>> windows;
  for (const auto& v : shared.samples) {
    for (const Sample& s : v) {
      all.push_back(s.latency_us);
      if (o.timeline_ms <= 0) continue;
      const auto w = static_cast<std::size_t>(s.at_ms / static_cast<float>(o.timeline_ms));
      if (w >= windows.size()) windows.resize(w + 1);
      windows[w].push_back(s.latency_us);
    }
  }
  auto db = storage::Database::Open(config.decision_log);
  const std::int64_t rows = db.ok() ? (*db)->QueryInt("SELECT count(*) FROM requests").value() : 0;
  if (o.rate > 0) {
    std::printf("connections %d, open loop at %.0f decisions/s, router io threads %d, %.1f s\n",
                o.connections, o.rate, o.io_threads, secs);
  } else {
    std::printf("connections %d, window %d, router io threads %d, %.1f s measured\n", o.connections,
                o.window, o.io_threads, secs);
  }
  std::printf("decisions/s %.0f   latency p50 %.0f us  p99 %.0f us  p99.9 %.0f us   errors %llu\n",
              static_cast<double>(n) / secs, Percentile(all, 50), Percentile(all, 99),
              Percentile(all, 99.9), static_cast<unsigned long long>(shared.errors.load()));
  std::printf("CPU %.1f us per decision (router + log writer + the agents' side, all threads)\n",
              n > 0 ? cpu * 1e6 / static_cast<double>(n) : 0);
  for (std::size_t w = 0; w < windows.size(); ++w) {
    auto& v = windows[w];
    std::printf("  %6zu ms  n %6zu  p50 %5.0f us  p99 %5.0f us  max %6.0f us\n",
                w * static_cast<std::size_t>(o.timeline_ms), v.size(), Percentile(v, 50),
                Percentile(v, 99), v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()));
  }
  std::printf("decision log rows %lld (every decision is committed before it is sent)\n",
              static_cast<long long>(rows));
  std::printf(
      "decision log commits %llu (%.1f rows each), checkpoints %llu background, %llu "
      "inline, WAL restarts %llu\n",
      static_cast<unsigned long long>(log_stats.commits),
      log_stats.commits > 0
          ? static_cast<double>(log_stats.jobs) / static_cast<double>(log_stats.commits)
          : 0.0,
      static_cast<unsigned long long>(log_stats.background_checkpoints),
      static_cast<unsigned long long>(log_stats.inline_checkpoints),
      static_cast<unsigned long long>(log_stats.wal_restarts));
  std::filesystem::remove_all(dir);
  return 0;
}
