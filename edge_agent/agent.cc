#include "edge_agent/agent.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>

#include "common/log.h"
#include "edge_agent/ask.h"
#include "edge_agent/request_features.h"
#include "net/tls_listener.h"
#include "policies/loader.h"
#include "proto/convert.h"

namespace partita::agent {

namespace {

constexpr const char* kLog = "agent";

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FillRoute(const Catalog& catalog, const policy::Route& route, v1::Route* out) {
  out->set_tier(ToProto(route.tier));
  out->set_model(catalog.model(route.model).name);
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  std::unique_ptr<Agent> a(new Agent(std::move(config)));
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(a->config_.catalog_file);
  if (!catalog.ok()) return catalog.status();
  a->catalog_ = *catalog;
  std::optional<DeviceClassIndex> profile = a->catalog_->FindDevice(a->config_.profile);
  if (!profile) {
    return InvalidArgument(a->config_.file + ": unknown profile '" + a->config_.profile +
                           "'; see `partita profiles list`");
  }
  a->profile_ = *profile;
  if (a->config_.models.empty()) {
    for (const ModelRuntime& rt : a->catalog_->device(*profile).runtimes)
      a->models_.Insert(rt.model);
  } else {
    for (const std::string& m : a->config_.models) {
      std::optional<ModelIndex> idx = a->catalog_->FindModel(m);
      if (!idx) return InvalidArgument(a->config_.file + ": unknown model '" + m + "'");
      a->models_.Insert(*idx);
    }
  }
  if (a->config_.scorer == "shipped") {
    const Result<scorer::DifficultyModel>& shipped = scorer::DifficultyModel::Shipped();
    if (!shipped.ok()) return shipped.status();
    a->difficulty_model_ = &*shipped;
  } else if (a->config_.scorer != "keywords") {
    Result<scorer::DifficultyModel> loaded = scorer::DifficultyModel::Load(a->config_.scorer);
    if (!loaded.ok()) return loaded.status().WithContext(a->ConfigKey("scorer"));
    a->own_difficulty_model_ = std::move(*loaded);
    a->difficulty_model_ = &*a->own_difficulty_model_;
  }
  Result<net::TlsContextPtr> tls =
      net::MakeClientTlsContext(a->config_.tls, {net::PeerKind::kRouter});
  if (!tls.ok()) return tls.status().WithContext(a->ConfigKey("pki_dir' or 'tls"));
  a->router_tls_ = *tls;
  if (!a->config_.offline_policy.empty()) {
    Result<policy::PolicyPtr> p = policy::LoadPolicyFile(a->config_.offline_policy, a->catalog_);
    if (!p.ok()) return p.status().WithContext(a->ConfigKey("offline_policy"));
    a->policy_ = *p;
  }
  // The router's last policy, saved by an earlier run, wins over offline_policy: it is what
  // the router last asked this device to run. A cache that does not load is ignored.
  if (const std::string path = PolicyCachePath(a->config_); !path.empty()) {
    a->policy_cache_ = std::make_unique<PolicyCache>(path);
    Result<policy::PolicyPtr> cached = a->policy_cache_->Load(a->catalog_);
    if (cached.ok()) {
      a->policy_ = *cached;
      a->cached_version_ = (*cached)->version();
      LogInfo(kLog, "offline policy '" + a->policy_->name() + "' version " +
                        a->policy_->version().substr(0, 12) + " loaded from the policy cache " +
                        path);
    } else if (cached.status().code() != StatusCode::kNotFound) {
      LogWarn(kLog,
              "ignoring the policy cache (it is replaced when the router next sends its "
              "policy; until then " +
                  std::string(a->policy_ ? "offline_policy is used" : "no policy is cached") +
                  "): " + cached.status().message());
    }
  }
  a->next_request_id_ = static_cast<std::uint64_t>(UnixMillis()) << 16;
  return a;
}

Agent::~Agent() { Shutdown(); }

Status Agent::Start() {
  Result<std::pair<std::string, std::uint16_t>> router = net::SplitHostPort(config_.router);
  if (!router.ok()) return router.status().WithContext(ConfigKey("router"));
  work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
      io_.get_executor());
  if (config_.runtime) {
    Result<std::unique_ptr<RuntimeTier>> t =
        RuntimeTier::Create(io_.get_executor(), *config_.runtime, nullptr);
    if (!t.ok()) return t.status().WithContext(ConfigKey("runtime"));
    (*t)->set_on_ran([this](const std::string& model) {
      if (std::optional<ModelIndex> m = catalog_->FindModel(model)) {
        warm_until_[*m] = std::chrono::steady_clock::now() + config_.warm_minutes;
      }
    });
    device_tier_ = std::move(*t);
  }
  if (config_.gateway) {
    Result<net::TlsContextPtr> tls =
        net::MakeClientTlsContext(config_.tls, {net::PeerKind::kGateway});
    if (!tls.ok()) return tls.status().WithContext(ConfigKey("pki_dir' or 'tls"));
    Result<std::unique_ptr<RuntimeTier>> t =
        RuntimeTier::Create(io_.get_executor(), *config_.gateway, *tls);
    if (!t.ok()) return t.status().WithContext(ConfigKey("gateway"));
    cloud_tier_ = std::move(*t);
  }
  {
    Result<net::TlsContextPtr> tls =
        net::MakeClientTlsContext(config_.tls, {net::PeerKind::kDevice});
    if (!tls.ok()) return tls.status().WithContext(ConfigKey("pki_dir' or 'tls"));
    phone_tier_ = std::make_unique<PhoneTier>(io_.get_executor(), *tls);
  }
  Result<std::unique_ptr<AppServer>> app = AppServer::Create(
      io_, config_.app_socket,
      [this](const v1::AskRequest& r, const ChunkFn& on_chunk) { return Ask(r, on_chunk); });
  if (!app.ok()) return app.status().WithContext(ConfigKey("app_socket"));
  app_server_ = std::move(*app);
  app_server_->set_on_finished([this] { drain_wake_.cancel(); });
  if (!config_.peer_listen.empty()) {
    Result<net::TlsContextPtr> tls =
        net::MakeServerTlsContext(config_.tls, {net::PeerKind::kDevice});
    if (!tls.ok()) return tls.status().WithContext(ConfigKey("pki_dir' or 'tls"));
    TierRequest defaults;
    defaults.ttft_timeout = config_.ttft_timeout;
    defaults.stall_timeout = config_.stall_timeout;
    const DeviceClass& own = catalog_->device(profile_);
    Result<std::unique_ptr<PeerServer>> peer = PeerServer::Create(
        io_, config_.peer_listen, *tls,
        [this](const std::string& asking) { return AdmitOffload(asking); }, device_tier_.get(),
        defaults,
        [&own](std::uint32_t ms) {
          return std::max(0.0, own.active_power_w - own.idle_power_w) * ms / 1000.0;
        });
    if (!peer.ok()) return peer.status().WithContext(ConfigKey("peer_listen"));
    peer_server_ = std::move(*peer);
    peer_server_->set_on_finished([this] { drain_wake_.cancel(); });
  }
  state_ = std::make_unique<StateMonitor>(io_.get_executor(), config_.state, config_.state_file);
  RouterLinkOptions options;
  options.host = router->first;
  options.port = router->second;
  options.tls = router_tls_;
  options.connect_timeout = config_.connect_timeout;
  options.heartbeat_interval = config_.heartbeat_interval;
  RouterLinkCallbacks callbacks;
  callbacks.make_hello = [this] {
    v1::Hello h;
    h.set_device_id(config_.device_id);
    h.set_profile(config_.profile);
    h.set_household(config_.household);
    h.set_agent_version(PARTITA_VERSION);
    // The configured advertisement, or where the offload server really listens (port 0).
    std::string advertise = config_.peer_advertise;
    if (peer_server_ && (advertise.empty() || advertise.ends_with(":0"))) {
      advertise = peer_endpoint();
    }
    h.set_peer_endpoint(advertise);
    *h.mutable_state() = WireState();
    return h;
  };
  callbacks.current_state = [this] {
    state_->set_measured_rtt(link_ ? link_->rtt_ms() : 0);
    return WireState();
  };
  callbacks.on_policy = [this](const v1::PolicyBundle& b) { OnPolicyBundle(b); };
  callbacks.on_household = [this](const v1::HouseholdView& view) {
    if (peer_server_ && (!household_view_ || household_view_->household() != view.household())) {
      LogInfo(kLog, view.household().empty()
                        ? "the router puts this device in no household: it serves no offloads"
                        : "the router puts this device in household '" + view.household() + "' (" +
                              std::to_string(view.members_size()) + " device(s))");
    }
    household_view_ = view;
  };
  callbacks.on_connection = [this](bool up) {
    {
      std::lock_guard<std::mutex> lock(events_mu_);
      connected_ = up;
    }
    events_.notify_all();
  };
  callbacks.on_ack = [this](std::size_t unacked) {
    {
      std::lock_guard<std::mutex> lock(events_mu_);
      unacked_ = unacked;
    }
    events_.notify_all();
  };
  link_ = std::make_shared<RouterLink>(io_.get_executor(), options, std::move(callbacks));
  asio::post(io_, [this] {
    state_->Start([this] { link_->HeartbeatNow(); });
    link_->Start();
    app_server_->Start();
    if (peer_server_) peer_server_->Start();
  });
  if (!config_.metrics_listen.empty()) {
    Result<net::tcp::endpoint> where = net::ParseListenAddress(config_.metrics_listen);
    if (!where.ok()) return where.status().WithContext(ConfigKey("metrics_listen"));
    metrics_.AddCallbackGauge("partita_agent_router_connected", "1 while the router is connected",
                              [this] { return connected_.load() ? 1.0 : 0.0; });
    metrics_.AddCallbackGauge("partita_agent_outcomes_unacked",
                              "Outcomes waiting for the router's acknowledgement", [this] {
                                std::lock_guard<std::mutex> lock(events_mu_);
                                return static_cast<double>(unacked_);
                              });
    if (peer_server_) {
      const PeerServer* peer = peer_server_.get();
      metrics_.AddCallbackGauge("partita_agent_offloads_in_flight",
                                "Offloads this phone is answering now",
                                [peer] { return static_cast<double>(peer->in_flight()); });
      metrics_.AddCallbackCounter("partita_agent_offload_frames_refused_total",
                                  "Offload connections closed for a bad first frame",
                                  [peer] { return static_cast<double>(peer->refused_frames()); });
    }
    Result<std::unique_ptr<http::HttpEndpoint>> ep = http::HttpEndpoint::Create(
        io_, *where,
        {{"/metrics", [this] {
            return http::HttpResponse{200, "text/plain; version=0.0.4", metrics_.Render()};
          }}});
    if (!ep.ok()) return ep.status().WithContext(ConfigKey("metrics_listen"));
    metrics_endpoint_ = std::move(*ep);
    metrics_endpoint_->Start();
  }
  thread_ = std::thread([this] { io_.run(); });
  started_ = true;
  LogInfo(kLog, "device '" + config_.device_id + "' (" + config_.profile + ") started; router " +
                    config_.router +
                    (peer_server_ ? "; phone-tier offloads on " + peer_endpoint() : ""));
  return Status::Ok();
}

void Agent::BeginShutdown() {
  if (!started_ || draining_.exchange(true)) return;
  auto begun = std::make_shared<std::promise<void>>();
  asio::post(io_, [this, begun] {
    if (app_server_) app_server_->BeginDrain();
    begun->set_value();
  });
  begun->get_future().wait_for(std::chrono::seconds(5));
}

asio::awaitable<void> Agent::Drain() {
  const auto deadline = std::chrono::steady_clock::now() + config_.drain_timeout;
  auto busy = [this] {
    return (app_server_ ? app_server_->in_flight() : 0) +
           (peer_server_ ? peer_server_->serving() : 0);
  };
  if (busy() > 0) {
    LogInfo(kLog, "stopping: letting " + std::to_string(busy()) +
                      " asks and offloads in progress finish (up to drain_timeout_ms = " +
                      std::to_string(config_.drain_timeout.count()) + ")");
  }
  while (busy() > 0 && std::chrono::steady_clock::now() < deadline) {
    drain_wake_.expires_at(deadline);
    co_await drain_wake_.async_wait(net::use_nothrow_awaitable);
  }
  if (busy() > 0) {
    LogWarn(kLog, std::to_string(busy()) +
                      " asks and offloads still in progress after drain_timeout_ms = " +
                      std::to_string(config_.drain_timeout.count()) +
                      " are cut off; raise drain_timeout_ms to let them finish");
  }
  if (link_ && link_->unacked_outcomes() > 0) {
    if (link_->connected()) {
      (void)co_await link_->WaitAcked(std::chrono::steady_clock::now() + kOutcomeAckWait);
    }
    if (link_->unacked_outcomes() > 0) {
      LogWarn(kLog, std::to_string(link_->unacked_outcomes()) +
                        " outcomes were not acknowledged by the router before stopping (" +
                        (link_->connected() ? "it did not answer in time" : "not connected") +
                        "); they are not in its decision log");
    }
  }
  if (link_) link_->Stop();
  if (state_) state_->Stop();
  if (app_server_) app_server_->Stop();
  if (peer_server_) peer_server_->Stop();
}

void Agent::Shutdown() {
  if (!started_) return;
  BeginShutdown();
  started_ = false;
  auto done = std::make_shared<std::promise<void>>();
  asio::co_spawn(io_, Drain(), [done](std::exception_ptr) { done->set_value(); });
  if (done->get_future().wait_for(config_.drain_timeout + kOutcomeAckWait +
                                  std::chrono::seconds(5)) != std::future_status::ready) {
    LogWarn(kLog, "the agent's thread did not finish stopping in time; stopping it anyway");
  }
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  if (policy_cache_) policy_cache_->Flush();
}

void Agent::OnPolicyBundle(const v1::PolicyBundle& bundle) {
  bool same = false;
  {
    std::lock_guard<std::mutex> lock(policy_mu_);
    same = policy_ && policy_->version() == bundle.version();
  }
  if (!same) {
    Diagnostics d("policy bundle '" + bundle.name() + "'");
    policy::PolicyPtr p = policy::ParsePolicy(bundle.source(), d, catalog_);
    if (!p) {
      LogError(kLog, "router sent a policy this agent cannot load; keeping the previous one:\n" +
                         d.ToString());
      return;
    }
    std::lock_guard<std::mutex> lock(policy_mu_);
    policy_ = std::move(p);
    LogInfo(kLog, "offline policy '" + policy_->name() + "' version " +
                      policy_->version().substr(0, 12) + " cached");
  }
  // The cache follows the router, also when the policy in memory (from offline_policy) was
  // already this version.
  if (policy_cache_ && cached_version_ != bundle.version()) {
    policy_cache_->Store(bundle.source());
    cached_version_ = bundle.version();
  }
  { std::lock_guard<std::mutex> lock(events_mu_); }
  events_.notify_all();
}

bool Agent::revoked_by_router() const { return link_ && link_->revoked(); }

bool Agent::WaitConnected(bool connected, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(events_mu_);
  return events_.wait_for(lock, timeout, [&] { return connected_.load() == connected; });
}

bool Agent::WaitForPolicy(const std::string& version, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(events_mu_);
  return events_.wait_for(lock, timeout, [&] { return policy_version() == version; });
}

bool Agent::WaitOutcomesAcked(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(events_mu_);
  return events_.wait_for(lock, timeout, [&] { return unacked_ == 0; });
}

std::string Agent::policy_version() const {
  std::lock_guard<std::mutex> lock(policy_mu_);
  return policy_ ? policy_->version() : "";
}

v1::DeviceState Agent::WireState() const {
  const DeviceState& s = state_->current();
  v1::DeviceState w;
  w.set_battery_pct(static_cast<float>(s.battery_pct));
  w.set_charging(s.charging);
  w.set_thermal(ToProto(s.thermal));
  w.set_free_mem_mb(static_cast<std::uint32_t>(s.free_mem_mb));
  for (std::size_t i = 0; i < catalog_->models().size(); ++i) {
    if (models_.Contains(static_cast<ModelIndex>(i))) w.add_models(catalog_->models()[i].name);
  }
  const policy::ModelSet warm = WarmModels();
  for (std::size_t i = 0; i < catalog_->models().size(); ++i) {
    if (warm.Contains(static_cast<ModelIndex>(i))) w.add_models_warm(catalog_->models()[i].name);
  }
  w.set_in_flight(peer_server_ ? static_cast<std::uint32_t>(peer_server_->in_flight()) : 0);
  w.mutable_network()->set_type(ToProto(s.network));
  w.mutable_network()->set_rtt_ms(static_cast<float>(s.rtt_ms));
  w.mutable_network()->set_metered(s.metered);
  w.set_observed_unix_ms(UnixMillis());
  return w;
}

policy::DecisionInput Agent::LocalInput(const policy::RequestFacts& features) const {
  const DeviceState& s = state_->current();
  policy::DecisionInput in;
  in.device.id = config_.device_id;
  in.device.profile = profile_;
  in.device.battery_pct = s.battery_pct;
  in.device.charging = s.charging;
  in.device.thermal = s.thermal;
  in.device.free_mem_mb = s.free_mem_mb;
  in.device.models = models_;
  in.device.models_warm = WarmModels();
  in.network.type = s.network;
  in.network.rtt_ms = s.rtt_ms;
  in.network.metered = s.metered;
  in.request = features;
  // Offline, the agent knows nothing of the fleet: the cloud is assumed healthy (a failure is
  // handled by the fallback chain) and no household phone is assumed reachable.
  const std::time_t secs = std::time(nullptr);
  std::tm local{};
  localtime_r(&secs, &local);
  in.time.hour = local.tm_hour;
  return in;
}

v1::Decision Agent::DecideOffline(const policy::RequestFacts& features, std::uint64_t request_id,
                                  const std::string& why) const {
  v1::Decision d;
  d.set_request_id(request_id);
  d.set_decided_offline(true);
  policy::PolicyPtr p;
  {
    std::lock_guard<std::mutex> lock(policy_mu_);
    p = policy_;
  }
  if (!p) {
    d.set_rule("(no policy cached: " + why + ")");
    LogWarn(kLog, "no policy cached for an offline decision (" + why + ")");
    return d;  // no route: the ask fails with a clear error
  }
  policy::DecisionResult result;
  policy::Decide(*p, LocalInput(features), result);
  d.set_policy_version(p->version());
  d.set_rule(std::string(p->rule_name(result.rule_index)));
  d.set_deadline_ms(result.deadline_ms);
  if (result.ok) {
    FillRoute(*catalog_, result.route, d.mutable_route());
    for (int i = 0; i < result.fallback_count; ++i) {
      FillRoute(*catalog_, result.fallback[static_cast<std::size_t>(i)], d.add_fallback());
    }
  }
  for (std::size_t g = 0; g < p->guard_count() && g < 32; ++g) {
    if ((result.guards_applied >> g) & 1u) d.add_guards(std::string(p->guard_name(g)));
  }
  return d;
}

asio::awaitable<v1::Decision> Agent::Decide(const policy::RequestFacts& features) {
  const std::uint64_t id = next_request_id_++;
  v1::DecideRequest req;
  req.set_request_id(id);
  *req.mutable_features() = ToWire(features);
  *req.mutable_state() = WireState();
  Result<v1::Decision> d = co_await link_->Decide(std::move(req), config_.decide_timeout);
  if (d.ok()) co_return std::move(*d);
  LogInfo(kLog, "deciding offline: " + d.status().message());
  co_return DecideOffline(features, id, d.status().message());
}

policy::ModelSet Agent::WarmModels() const {
  policy::ModelSet warm;
  for (const ModelRuntime& rt : catalog_->device(profile_).runtimes) {
    if (rt.resident && models_.Contains(rt.model)) warm.Insert(rt.model);
  }
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [model, until] : warm_until_) {
    if (until > now) warm.Insert(model);
  }
  return warm;
}

std::uint8_t Agent::ForbiddenTiers(const policy::RequestFacts& features) const {
  policy::PolicyPtr p;
  {
    std::lock_guard<std::mutex> lock(policy_mu_);
    p = policy_;
  }
  if (!p) return 0;
  policy::DecisionResult result;
  policy::Decide(*p, LocalInput(features), result);
  std::uint8_t forbidden = 0;
  for (std::size_t g = 0; g < p->guard_count() && g < 32; ++g) {
    if ((result.guards_applied >> g) & 1u) forbidden |= p->program().guards[g].never;
  }
  return forbidden;
}

std::string Agent::ConfigKey(std::string_view key) const {
  return (config_.file.empty() ? std::string() : config_.file + ": ") + "'" + std::string(key) +
         "'";
}

std::optional<std::string> Agent::AdmitOffload(const std::string& asking) const {
  if (draining_) return std::string("the agent is shutting down");
  const auto named = [&](const auto& ids) {
    return std::find(ids.begin(), ids.end(), asking) != ids.end();
  };
  if (household_view_ && named(household_view_->revoked())) {
    return "'" + asking + "' is revoked";
  }
  const Admission& a = config_.admission;
  if (!a.from.empty()) {
    if (!named(a.from)) return "'" + asking + "' is not in this phone's admission.from";
  } else if (!household_view_) {
    return std::string("this phone has not heard its household from the router yet");
  } else if (household_view_->household().empty()) {
    return std::string("the router puts this phone in no household");
  } else if (!named(household_view_->members())) {
    return "'" + asking + "' is not in this phone's household '" + household_view_->household() +
           "'";
  }
  const DeviceState& s = state_->current();
  if (!s.charging && s.battery_pct < a.min_battery_pct) {
    return "battery " + std::to_string(static_cast<int>(s.battery_pct)) + "% < " +
           std::to_string(static_cast<int>(a.min_battery_pct)) + "%";
  }
  if (s.thermal > a.max_thermal) return "thermal state " + std::string(Name(s.thermal));
  if (peer_server_ && peer_server_->in_flight() >= a.max_in_flight) {
    return "busy: " + std::to_string(peer_server_->in_flight()) + " offloads in flight";
  }
  return std::nullopt;
}

std::string Agent::peer_endpoint() const {
  if (!peer_server_) return "";
  const net::tcp::endpoint e = peer_server_->endpoint();
  return e.address().to_string() + ":" + std::to_string(e.port());
}

asio::awaitable<v1::AskResult> Agent::Ask(const v1::AskRequest& request, const ChunkFn& on_chunk) {
  TierSet tiers{device_tier_.get(), phone_tier_.get(), cloud_tier_.get()};
  v1::AskResult result = co_await RunAsk(*this, tiers, request, on_chunk);
  CountAsk(result);
  co_return result;
}

void Agent::CountAsk(const v1::AskResult& r) {
  const auto tier = [](v1::Tier t) {
    const std::optional<Tier> known = FromProto(t);
    return known ? std::string(Name(*known)) : std::string("none");
  };
  metrics_
      .LabeledCounter("partita_agent_asks_total",
                      "Asks answered, by the tier that answered and how",
                      {{"tier", tier(r.tier())},
                       {"result", r.ok()          ? "ok"
                                  : r.truncated() ? "truncated"
                                                  : "failed"}})
      ->Add();
  metrics_
      .LabeledCounter("partita_agent_decisions_total",
                      "Decisions, by who made them (the router, or this agent offline)",
                      {{"by", r.decided_offline() ? "agent" : "router"}})
      ->Add();
  for (const v1::Attempt& a : r.attempts()) {
    metrics_
        .LabeledCounter("partita_agent_attempts_total", "Attempts on each tier, by result",
                        {{"tier", tier(a.tier())}, {"result", AttemptResultName(a.result())}})
        ->Add();
  }
}

net::tcp::endpoint Agent::metrics_endpoint() const {
  return metrics_endpoint_ ? metrics_endpoint_->local_endpoint() : net::tcp::endpoint{};
}

void Agent::ReportOutcome(v1::Outcome outcome) {
  link_->ReportOutcome(std::move(outcome));
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    unacked_ = link_->unacked_outcomes();
  }
  events_.notify_all();
}

template <typename T>
T Agent::RunOnAgentThread(std::function<T()> fn) {
  std::promise<T> p;
  asio::post(io_, [&] { p.set_value(fn()); });
  return p.get_future().get();
}

v1::Decision Agent::DecideBlocking(const policy::RequestFacts& features) {
  std::promise<v1::Decision> p;
  asio::co_spawn(io_, Decide(features), [&](std::exception_ptr e, v1::Decision d) {
    if (e) {
      v1::Decision failed;
      failed.set_rule("(internal error)");
      p.set_value(failed);
    } else {
      p.set_value(std::move(d));
    }
  });
  return p.get_future().get();
}

void Agent::ReportOutcomeBlocking(v1::Outcome outcome) {
  RunOnAgentThread<int>([&] {
    ReportOutcome(std::move(outcome));
    return 0;
  });
}

void Agent::RefreshStateBlocking() {
  RunOnAgentThread<int>([&] {
    if (state_->Refresh()) link_->HeartbeatNow();
    return 0;
  });
}

std::size_t Agent::unacked_outcomes() {
  return RunOnAgentThread<std::size_t>([&] { return link_->unacked_outcomes(); });
}

}  // namespace partita::agent
