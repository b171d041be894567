#include "cloud_gateway/gateway.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <future>

#include "cloud_gateway/gateway_core.h"
#include "common/file_stamp.h"
#include "common/json_writer.h"
#include "common/log.h"

namespace partita::cloud_gateway {

namespace {

thread_local Worker* t_worker = nullptr;

void LogSessionException(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    LogError("gateway", std::string("a connection ended with an exception: ") + x.what());
  } catch (...) {
    LogError("gateway", "a connection ended with an unknown exception");
  }
}

Result<std::unique_ptr<net::tcp::acceptor>> Listen(asio::io_context& io, const std::string& address,
                                                   std::string_view what,
                                                   std::uint16_t port_override = 0,
                                                   bool reuse_port = false) {
  Result<net::tcp::endpoint> ep = net::ParseListenAddress(address);
  if (!ep.ok()) return ep.status();
  if (port_override != 0) ep->port(port_override);
  auto a = std::make_unique<net::tcp::acceptor>(io);
  net::error_code ec;
  a->open(ep->protocol(), ec);
  if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) {
    a->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  }
  if (!ec) a->bind(*ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + address + " (" + std::string(what) +
                       "): " + ec.message());
  }
  return a;
}

// Accepts plaintext device connections or metrics connections, served on `target`'s thread.
asio::awaitable<void> AcceptLoop(Gateway::Core& core, net::tcp::acceptor& acceptor, Worker& target,
                                 bool metrics) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(target.io, net::use_nothrow_awaitable);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      LogWarn("gateway", "accept failed: " + ec.message());
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(net::use_nothrow_awaitable);
      continue;
    }
    socket.set_option(net::tcp::no_delay(true), ec);
    if (metrics) {
      asio::co_spawn(target.io, http::ServeRoutes(std::move(socket), core.ops_routes),
                     LogSessionException);
    } else {
      asio::co_spawn(target.io, ServePlaintextSession(core, std::move(socket)),
                     LogSessionException);
    }
  }
}

// Re-reads the revoked list from the config file when it changes, until the gateway drains.
// The file is small and local: read on the first I/O thread, as the router reads its own.
asio::awaitable<void> WatchRevoked(Gateway::Core& core, std::string path) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string stamp = core.config->source_stamp;  // as loaded: an edit since then is a change
  while (!core.draining.load(std::memory_order_acquire)) {
    timer.expires_after(core.config->config_poll);
    co_await timer.async_wait(net::use_nothrow_awaitable);
    if (core.draining.load(std::memory_order_acquire)) co_return;
    const std::string now = FileStamp(path);
    if (now.empty() || now == stamp) continue;
    stamp = now;
    Result<GatewayConfigPtr> changed = LoadGatewayConfig(path);
    if (!changed.ok()) {
      LogError("gateway", "the changed config does not load; the revoked list is unchanged:\n" +
                              changed.status().message());
      if (core.observer.revoked_reloaded) core.observer.revoked_reloaded(changed.status());
      continue;
    }
    core.revoked.Set((*changed)->revoked);
    LogInfo("gateway", "reloaded the revoked list from " + path + " (" +
                           std::to_string((*changed)->revoked.size()) +
                           " device(s)); other changes apply at restart");
    if (core.observer.revoked_reloaded) core.observer.revoked_reloaded(Status::Ok());
  }
}

}  // namespace

Worker* CurrentWorker() { return t_worker; }
void SetCurrentWorker(Worker* worker) { t_worker = worker; }

Worker::~Worker() {
  for (auto& client : clients) client->CloseIdle();
}

void Worker::Add(SessionBase* s) {
  s->prev = nullptr;
  s->next = sessions;
  if (sessions != nullptr) sessions->prev = s;
  sessions = s;
}

void Worker::Remove(SessionBase* s) {
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else if (sessions == s) {
    sessions = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
}

Gateway::Core::Core(GatewayConfigPtr c)
    : config(std::move(c)),
      budgets(config->budgets),
      rate_limiter(config->rate_limits),
      retry(config->retry_budget_ratio, config->retry_min_concurrent),
      metrics(*config),
      revoked(config->revoked) {
  timeouts.connect = config->connect_timeout;
  timeouts.first_token = config->first_token_timeout;
  timeouts.between_chunks = config->between_chunks_timeout;
  timeouts.total = config->total_timeout;
  std::size_t flat = 0;
  boost::json::array data;
  for (std::size_t i = 0; i < config->models.size(); ++i) {
    const ModelConfig& m = config->models[i];
    auto model = std::make_unique<ModelRuntime>();
    model->config = &m;
    model->index = i;
    model->input_pico_per_token = PicoPerToken(m.input_usd_per_1m_tokens);
    model->output_pico_per_token = PicoPerToken(m.output_usd_per_1m_tokens);
    for (const UpstreamConfig& u : m.upstreams) {
      auto up = std::make_unique<UpstreamRuntime>(*config);
      up->config = &u;
      up->index = flat++;
      up->header_line = "X-Partita-Upstream: " + u.name + "\r\n";
      if (!u.model.empty() && u.model != m.name) up->rewritten_model = u.model;
      upstreams.push_back(up.get());
      model->upstreams.push_back(std::move(up));
    }
    models.push_back(std::move(model));
    boost::json::object o;
    o["id"] = m.name;
    o["object"] = "model";
    o["created"] = 0;
    o["owned_by"] = "partita-gateway";
    data.push_back(std::move(o));
  }
  boost::json::object root;
  root["object"] = "list";
  root["data"] = std::move(data);
  models_json = ToJson(root);
  RegisterStateMetrics();
}

void Gateway::Core::RecordLedger(Worker& worker, LedgerEntry entry) {
  worker.ledger_batch.push_back(std::move(entry));
  if (worker.ledger_batch.size() >= kLedgerBatchRows) {
    FlushWorkerLedger(worker);
    return;
  }
  if (worker.ledger_timer_armed) return;
  worker.ledger_timer_armed = true;
  worker.ledger_timer.expires_after(kLedgerBatchDelay);
  worker.ledger_timer.async_wait([this, &worker](const net::error_code&) {
    worker.ledger_timer_armed = false;
    FlushWorkerLedger(worker);
  });
}

void Gateway::Core::FlushWorkerLedger(Worker& worker) {
  if (worker.ledger_batch.empty()) return;
  const std::size_t rows = worker.ledger_batch.size();
  std::vector<LedgerEntry> batch;
  batch.reserve(kLedgerBatchRows);
  batch.swap(worker.ledger_batch);
  if (!ledger->RecordBatch(std::move(batch))) {
    metrics.ledger_dropped->Add(rows);
  }
}

ModelRuntime* Gateway::Core::FindModel(std::string_view name) const {
  for (const auto& m : models) {
    if (m->config->name == name) return m.get();
  }
  return nullptr;
}

void Gateway::Core::RequestEnded() {
  if (in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      draining.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(drain_mu);
    drain_cv.notify_all();
  }
}

GatewayHealth Gateway::Core::Health() const {
  GatewayHealth h;
  h.in_flight = std::max<std::int64_t>(0, in_flight.load(std::memory_order_relaxed));
  h.capacity = config->capacity;
  h.load = static_cast<double>(h.in_flight) / static_cast<double>(h.capacity);
  h.draining = draining.load(std::memory_order_relaxed);
  const SteadyNanos now = SteadyNow();
  bool any = false;
  for (const UpstreamRuntime* u : upstreams) any = any || u->health.Available(now);
  h.healthy = !h.draining && any;
  h.fleet_budget_left_usd = budgets.FleetLeftUsd();
  return h;
}

std::shared_ptr<const http::RouteTable> OpsRoutes(Gateway::Core& core) {
  auto table = std::make_shared<http::RouteTable>();
  table->routes["/metrics"] = [&core] {
    return http::HttpResponse{200, "text/plain; version=0.0.4", core.metrics.registry.Render()};
  };
  const http::RouteTable::Handler health = [&core] {
    return http::HttpResponse{core.Health().healthy ? 200 : 503, "application/json",
                              core.HealthJson()};
  };
  table->routes["/v1/partita/health"] = health;
  table->routes["/health"] = health;
  return table;
}

std::string Gateway::Core::HealthJson() const {
  const GatewayHealth h = Health();
  const SteadyNanos now = SteadyNow();
  boost::json::object root;
  root["healthy"] = h.healthy;
  root["load"] = h.load;
  root["in_flight"] = h.in_flight;
  root["capacity"] = h.capacity;
  root["draining"] = h.draining;
  if (h.fleet_budget_left_usd >= 0) {
    root["fleet_budget_left_usd"] = h.fleet_budget_left_usd;
  } else {
    root["fleet_budget_left_usd"] = nullptr;
  }
  boost::json::array ms;
  for (const auto& m : models) {
    boost::json::object mo;
    mo["name"] = m->config->name;
    bool available = false;
    boost::json::array ups;
    for (const auto& u : m->upstreams) {
      boost::json::object uo;
      uo["name"] = u->config->name;
      uo["priority"] = u->config->priority;
      uo["available"] = u->health.Available(now);
      uo["consecutive_failures"] = u->health.consecutive_failures();
      uo["ejected_for_ms"] = u->health.EjectedFor(now) / 1000000;
      uo["ejections"] = u->health.ejections();
      available = available || u->health.Available(now);
      ups.push_back(std::move(uo));
    }
    mo["available"] = available;
    mo["upstreams"] = std::move(ups);
    ms.push_back(std::move(mo));
  }
  root["models"] = std::move(ms);
  return ToJson(root);
}

void Gateway::Core::RegisterStateMetrics() {
  MetricsRegistry& r = metrics.registry;
  auto name = GatewayMetricName;
  r.AddCallbackGauge(name("in_flight"), "Chat requests in progress.",
                     [this] { return static_cast<double>(in_flight.load()); });
  r.AddCallbackGauge(name("capacity"), "In-flight requests at load 1.0.",
                     [this] { return static_cast<double>(config->capacity); });
  r.AddCallbackGauge(name("load"), "in_flight / capacity (the router's fleet.cloud_load).",
                     [this] { return Health().load; });
  r.AddCallbackGauge(name("healthy"), "1 when the gateway can serve (fleet.cloud_healthy).",
                     [this] { return Health().healthy ? 1.0 : 0.0; });
  r.AddCallbackGauge(name("draining"), "1 while draining for shutdown.",
                     [this] { return draining.load() ? 1.0 : 0.0; });
  r.AddCallbackGauge(name("fleet_spent_usd"), "Fleet spending today (UTC).",
                     [this] { return ToUsd(budgets.FleetSpent()); });
  r.AddCallbackGauge(name("fleet_budget_usd"), "Fleet budget per day (0: unlimited).",
                     [this] { return ToUsd(budgets.fleet_limit()); });
  for (const auto& m : models) {
    for (const auto& u : m->upstreams) {
      const UpstreamRuntime* up = u.get();
      const std::vector<std::pair<std::string, std::string>> labels = {
          {"model", m->config->name}, {"upstream", up->config->name}};
      r.AddCallbackCounter(
          name("upstream_ejections_total"),
          "Times an upstream was ejected by passive health checks.",
          [up] { return static_cast<double>(up->health.ejections()); }, labels);
      r.AddCallbackGauge(
          name("upstream_ejected"), "1 while the upstream is ejected.",
          [up] { return up->health.Available(SteadyNow()) ? 0.0 : 1.0; }, labels);
    }
  }
  r.AddCallbackCounter(name("tls_handshakes_total"), "TLS handshakes accepted.", [this] {
    return tls_listener ? static_cast<double>(tls_listener->stats().accepted.load()) : 0.0;
  });
  for (std::size_t i = 0; i < net::kHandshakeFailureCount; ++i) {
    const auto reason = static_cast<net::HandshakeFailure>(i);
    r.AddCallbackCounter(
        name("tls_refusals_total"), "TLS connections refused, by reason.",
        [this, reason] {
          return tls_listener ? static_cast<double>(tls_listener->stats().Failed(reason)) : 0.0;
        },
        {{"reason", net::HandshakeFailureLabel(reason)}});
  }
  r.AddCallbackCounter(name("ledger_failed_writes_total"), "Ledger rows SQLite refused.", [this] {
    return ledger ? static_cast<double>(ledger->failed_writes()) : 0.0;
  });
}

// ---------------------------------------------------------------------------------------------

namespace {

// "gateway.yaml: 'listen'": where an error's setting is, for messages.
std::string ConfigKey(const GatewayConfig& config, std::string_view key) {
  return (config.source_file.empty() ? std::string() : config.source_file + ": ") + "'" +
         std::string(key) + "'";
}

// Reservations that can be open at once: every request in flight, and those whose ledger row
// is waiting for its batch (up to kLedgerBatchDelay).
std::uint32_t JournalSlots(const GatewayConfig& config) {
  return static_cast<std::uint32_t>(std::max<std::int64_t>(1024, config.capacity * 4));
}

}  // namespace

Gateway::Gateway(std::unique_ptr<Core> core) : core_(std::move(core)) {}

Gateway::~Gateway() { Stop(); }

Result<std::unique_ptr<Gateway>> Gateway::Create(GatewayConfigPtr config,
                                                 GatewayObserver observer) {
  if (!config) return InvalidArgument("no gateway configuration");
  auto core = std::make_unique<Core>(config);
  core->observer = std::move(observer);
  if (config->tls) {
    net::TlsFiles files{config->tls->ca_file, config->tls->cert_file, config->tls->key_file};
    Result<net::TlsContextPtr> ctx =
        net::MakeServerTlsContext(files, {net::PeerKind::kDevice, net::PeerKind::kRouter});
    if (!ctx.ok()) return ctx.status().WithContext(ConfigKey(*config, "tls"));
    core->tls_context = *ctx;
  }
  for (UpstreamRuntime* u : core->upstreams) {
    if (!u->config->url.starts_with("https://")) continue;
    Result<net::TlsContextPtr> ctx = backends::MakePublicTlsContext(u->config->ca_file);
    if (!ctx.ok()) return ctx.status().WithContext("upstream '" + u->config->name + "'");
    u->tls = *ctx;
  }
  // The reservations a killed gateway left open are settled at their reserved cost before the
  // day's spending is read back.
  std::vector<ReservationJournal::Open> left_open;
  Result<std::unique_ptr<ReservationJournal>> journal =
      ReservationJournal::OpenFile(config->ledger_path + ".reservations", &left_open);
  if (!journal.ok()) return journal.status();
  core->journal = std::move(*journal);
  Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(config->ledger_path);
  if (!ledger.ok()) return ledger.status();
  core->ledger = std::move(*ledger);
  if (!left_open.empty()) {
    Result<Ledger::Settled> settled = core->ledger->SettleCrashed(left_open);
    if (!settled.ok()) {
      return settled.status().WithContext("settling the reservations of " + core->journal->path());
    }
    if (settled->requests > 0) {
      char usd[32];
      std::snprintf(usd, sizeof usd, "%.6f", settled->cost_usd);
      LogWarn("gateway", "settled " + std::to_string(settled->requests) +
                             " request(s) that a previous gateway process left in flight (it "
                             "was killed or crashed) at their reserved cost: $" +
                             usd);
    }
  }
  PARTITA_RETURN_IF_ERROR(core->journal->Reset(JournalSlots(*config)));
  core->ledger->SetJournal(core->journal.get());
  const std::int32_t today = UtcDayNow();
  Result<std::vector<std::pair<std::string, double>>> spent =
      Ledger::SpentOnDay(config->ledger_path, today);
  if (!spent.ok()) return spent.status().WithContext("ledger '" + config->ledger_path + "'");
  core->budgets.Restore(*spent, today);
  return std::unique_ptr<Gateway>(new Gateway(std::move(core)));
}

Status Gateway::Start() {
  Core& c = *core_;
  if (c.started) return FailedPrecondition("the gateway is already started");
  const GatewayConfig& cfg = *c.config;
  for (int i = 0; i < cfg.threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = static_cast<std::size_t>(i);
    for (UpstreamRuntime* u : c.upstreams) {
      backends::ClientConfig cc;
      cc.url = u->config->url;
      cc.api_key = u->config->api_key;
      cc.tls = u->tls;
      cc.verify_host_name = u->tls != nullptr;
      cc.max_idle_connections = u->config->max_idle_connections;
      cc.idle_timeout = std::chrono::seconds(30);
      Result<std::unique_ptr<backends::ChatClient>> client =
          backends::ChatClient::Create(w->io.get_executor(), cc);
      if (!client.ok()) return client.status().WithContext("upstream '" + u->config->name + "'");
      w->clients.push_back(std::move(*client));
    }
    c.workers.push_back(std::move(w));
  }
  Worker& first = *c.workers[0];
  std::vector<asio::io_context*> contexts;
  for (auto& w : c.workers) contexts.push_back(&w->io);

  if (cfg.tls) {
    Result<net::tcp::endpoint> ep = net::ParseListenAddress(cfg.tls->listen);
    if (!ep.ok()) return ep.status();
    net::TlsListenerOptions o;
    o.endpoint = *ep;
    o.handshake_timeout = cfg.tls->handshake_timeout;
    o.max_connections_per_identity = cfg.tls->max_connections_per_device;
    o.log_component = "gateway";
    Core* core = core_.get();
    if (c.observer.tls_refused) {
      o.on_refused = [core](net::HandshakeFailure reason, const std::string&) {
        core->observer.tls_refused(reason);
      };
    }
    Result<std::unique_ptr<net::TlsListener>> listener = net::TlsListener::Create(
        first.io, contexts, c.tls_context, o,
        [core](net::TlsStream stream, net::PeerIdentity peer) {
          return ServeTlsSession(*core, std::move(stream), std::move(peer));
        });
    if (!listener.ok()) return listener.status().WithContext(ConfigKey(cfg, "listen"));
    c.tls_listener = std::move(*listener);
    c.tls_port = c.tls_listener->local_endpoint().port();
    c.tls_listener->Start();
  }
  if (cfg.plaintext) {
    for (auto& w : c.workers) {
      Result<std::unique_ptr<net::tcp::acceptor>> a = Listen(
          w->io, cfg.plaintext->listen, "plaintext front", c.plaintext_port, /*reuse_port=*/true);
      if (!a.ok()) return a.status().WithContext(ConfigKey(cfg, "plaintext.listen"));
      c.plaintext_port = (*a)->local_endpoint().port();
      c.plaintext_acceptors.push_back(std::move(*a));
      asio::co_spawn(w->io, AcceptLoop(c, *c.plaintext_acceptors.back(), *w, false),
                     LogSessionException);
    }
  }
  if (!cfg.metrics_listen.empty()) {
    Result<std::unique_ptr<net::tcp::acceptor>> a = Listen(first.io, cfg.metrics_listen, "metrics");
    if (!a.ok()) return a.status().WithContext(ConfigKey(cfg, "metrics_listen"));
    c.metrics_acceptor = std::move(*a);
    c.metrics_port = c.metrics_acceptor->local_endpoint().port();
    c.ops_routes = OpsRoutes(c);
    asio::co_spawn(first.io, AcceptLoop(c, *c.metrics_acceptor, first, true), LogSessionException);
  }
  // A config read from a file (not one parsed from text, as tests do) is watched.
  if (!cfg.source_stamp.empty()) {
    asio::co_spawn(first.io, WatchRevoked(c, cfg.source_file), LogSessionException);
  }
  for (auto& w : c.workers) {
    Worker* worker = w.get();
    worker->thread = std::thread([worker] {
      SetCurrentWorker(worker);
      auto guard = asio::make_work_guard(worker->io);
      for (;;) {
        try {
          worker->io.run();
          break;
        } catch (const std::exception& e) {
          LogError("gateway", std::string("I/O thread caught an exception: ") + e.what());
        }
      }
    });
  }
  c.started = true;
  return Status::Ok();
}

std::uint16_t Gateway::tls_port() const { return core_->tls_port; }
std::uint16_t Gateway::plaintext_port() const { return core_->plaintext_port; }
std::uint16_t Gateway::metrics_port() const { return core_->metrics_port; }

void Gateway::Drain(std::chrono::milliseconds timeout) {
  Core& c = *core_;
  if (!c.started || c.stopped) {
    Stop();
    return;
  }
  c.draining.store(true, std::memory_order_release);
  Core* core = core_.get();
  asio::post(c.workers[0]->io, [core] {
    if (core->tls_listener) core->tls_listener->Stop();
  });
  for (std::size_t i = 0; i < c.plaintext_acceptors.size(); ++i) {
    net::tcp::acceptor* acceptor = c.plaintext_acceptors[i].get();
    asio::post(c.workers[i]->io, [acceptor] {
      net::error_code ignored;
      acceptor->close(ignored);
    });
  }
  auto for_each_session = [&](void (SessionBase::*fn)()) {
    for (auto& w : c.workers) {
      Worker* worker = w.get();
      asio::post(worker->io, [worker, fn] {
        for (SessionBase* s = worker->sessions; s != nullptr; s = s->next) (s->*fn)();
      });
    }
  };
  for_each_session(&SessionBase::CloseIfIdle);
  const std::int64_t at_start = c.in_flight.load();
  LogInfo("gateway", "draining: " + std::to_string(at_start) + " request(s) in flight, up to " +
                         std::to_string(timeout.count()) + " ms");
  std::unique_lock<std::mutex> lock(c.drain_mu);
  const auto idle = [&] { return c.in_flight.load(std::memory_order_acquire) <= 0; };
  if (!c.drain_cv.wait_for(lock, timeout, idle)) {
    LogWarn("gateway", "drain deadline passed with " + std::to_string(c.in_flight.load()) +
                           " request(s) in flight; ending them with gateway_shutdown");
    c.aborting.store(true);
    for_each_session(&SessionBase::AbortStream);
    c.drain_cv.wait_for(lock, std::chrono::seconds(2), idle);
  }
  lock.unlock();
  Stop();
}

void Gateway::Stop() {
  Core& c = *core_;
  if (c.stopped.exchange(true)) return;
  c.draining.store(true);
  for (auto& w : c.workers) w->io.stop();
  for (auto& w : c.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : c.workers) c.FlushWorkerLedger(*w);
  if (c.ledger) (void)c.ledger->Flush();
}

GatewayHealth Gateway::health() const { return core_->Health(); }
std::string Gateway::HealthJson() const { return core_->HealthJson(); }
std::string Gateway::MetricsText() const { return core_->metrics.registry.Render(); }
const GatewayMetrics& Gateway::metrics() const { return core_->metrics; }
const GatewayConfig& Gateway::config() const { return *core_->config; }
Status Gateway::FlushLedger() {
  Core& c = *core_;
  if (c.started && !c.stopped) {
    std::vector<std::future<void>> done;
    for (auto& w : c.workers) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      Worker* worker = w.get();
      Core* core = &c;
      asio::post(worker->io, [core, worker, promise] {
        core->FlushWorkerLedger(*worker);
        promise->set_value();
      });
    }
    for (auto& f : done) {
      if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        return DeadlineExceeded("an I/O thread did not flush its ledger rows within 10 s");
      }
    }
  }
  return c.ledger->Flush();
}

}  // namespace partita::cloud_gateway
