#include "router/router.h"

#include <boost/asio/post.hpp>
#include <future>

#include "common/file_stamp.h"
#include "common/log.h"
#include "common/yaml_tree.h"
#include "device_profiles/catalog_loader.h"
#include "device_profiles/predictor.h"
#include "net/framed_connection.h"
#include "net/tls_listener.h"
#include "policies/loader.h"
#include "proto/convert.h"

namespace partita::router {

namespace {

// A peer's text fit for a log line: control characters replaced, at most 64 characters.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > 64) out += "...";
  return out;
}

constexpr const char* kLog = "router";
using Connection = net::FramedConnection<net::TlsStream>;

v1::Envelope ErrorFrame(v1::ErrorCode code, std::string message, std::uint64_t request_id = 0) {
  v1::Envelope e;
  e.mutable_error()->set_code(code);
  e.mutable_error()->set_message(std::move(message));
  e.mutable_error()->set_request_id(request_id);
  return e;
}

// Tells the agent why, then closes its connection (on the connection's executor).
asio::awaitable<void> SendErrorAndClose(std::shared_ptr<Connection> conn, v1::ErrorCode code,
                                        std::string message, std::string close_reason) {
  conn->Send(ErrorFrame(code, std::move(message)));
  co_await conn->Flush(std::chrono::seconds(1));  // the agent learns why before the close
  conn->Close(std::move(close_reason));
}

asio::awaitable<void> SendRevokedAndClose(std::shared_ptr<Connection> conn, std::string device_id) {
  return SendErrorAndClose(std::move(conn), v1::ERROR_REVOKED,
                           "device '" + device_id + "' is revoked", "revoked");
}

policy::ModelSet ModelsFrom(const google::protobuf::RepeatedPtrField<std::string>& names,
                            const Catalog& catalog) {
  policy::ModelSet set;
  for (const std::string& n : names) {
    if (auto m = catalog.FindModel(n)) set.Insert(*m);
  }
  return set;
}

void ApplyState(const v1::DeviceState& s, const Catalog& catalog, DeviceSnapshot& d) {
  d.battery_pct = std::clamp(static_cast<double>(s.battery_pct()), 0.0, 100.0);
  d.charging = s.charging();
  d.thermal = FromProto(s.thermal());
  d.free_mem_mb = s.free_mem_mb();
  d.network = FromProto(s.network().type());
  d.rtt_ms = s.network().rtt_ms();
  d.metered = s.network().metered();
  d.in_flight = s.in_flight();
  if (s.models_size() > 0) d.models = ModelsFrom(s.models(), catalog);
  d.models_warm = ModelsFrom(s.models_warm(), catalog);
  d.last_seen = std::chrono::steady_clock::now();
}

}  // namespace

// One connected agent: its connection, its registry entry, and its place in the broadcast set.
class AgentSession {
 public:
  AgentSession(std::uint64_t id, std::shared_ptr<Connection> conn)
      : id_(id), conn_(std::move(conn)) {}
  std::uint64_t id() const { return id_; }
  Connection& conn() { return *conn_; }
  const std::shared_ptr<Connection>& conn_ptr() const { return conn_; }
  std::shared_ptr<DeviceEntry> entry;
  std::string device_id;
  std::size_t lane = 0;   // the I/O thread this connection lives on
  std::string household;  // on the router's authority, set at Hello
  // Decision counters by (rule, tier) for one policy version: no registry lookup per decision.
  std::string counters_version;
  std::vector<Counter*> counters;

 private:
  std::uint64_t id_;
  std::shared_ptr<Connection> conn_;
};

Result<std::unique_ptr<Router>> Router::Create(RouterConfig config) {
  std::unique_ptr<Router> r(new Router(std::move(config)));
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(r->config_.catalog_file);
  if (!catalog.ok()) return catalog.status();
  r->catalog_ = *catalog;
  Result<policy::PolicyPtr> policy = policy::LoadPolicyFile(r->config_.policy_file, r->catalog_);
  if (!policy.ok()) return policy.status().WithContext("the policy does not load");
  r->policy_stamp_ = FileStamp(r->config_.policy_file);
  if (!r->config_.config_path.empty()) r->config_stamp_ = FileStamp(r->config_.config_path);
  r->policies_ = std::make_unique<policy::PolicyStore>(*policy);
  std::set<std::string> revoked(r->config_.revoked.begin(), r->config_.revoked.end());
  std::unordered_map<std::string, std::string> households(r->config_.households.begin(),
                                                          r->config_.households.end());
  r->registry_ = std::make_unique<FleetRegistry>(std::move(revoked), std::move(households));
  r->cloud_ = std::make_unique<CloudState>(r->config_.cloud.healthy, r->config_.cloud.load,
                                           r->config_.budget_usd_per_day);
  r->decider_ = std::make_unique<Decider>(*r->registry_, *r->policies_, *r->cloud_);
  Result<net::TlsContextPtr> tls =
      net::MakeServerTlsContext(r->config_.tls, {net::PeerKind::kDevice});
  if (!tls.ok()) return tls.status().WithContext(r->ConfigKey("pki_dir' or 'tls"));
  r->tls_ = *tls;

  storage::RunInfo run;
  run.source = "router";
  run.label = "production";
  run.policy_name = (*policy)->name();
  run.policy_hash = (*policy)->version();
  run.catalog_hash = r->catalog_->content_hash();
  run.partita_version = PARTITA_VERSION;
  run.started_unix_ms = UnixMillis();
  run.time_origin_unix_ms = run.started_unix_ms;
  Result<std::unique_ptr<DecisionLog>> log =
      DecisionLog::Open(r->config_.decision_log, r->config_.durable_fsync, run);
  if (!log.ok()) return log.status().WithContext("decision log '" + r->config_.decision_log + "'");
  r->log_ = std::move(*log);
  return r;
}

Router::Router(RouterConfig config) : config_(std::move(config)) {
  MetricsRegistry& m = metrics_;
  const std::string frames = "partita_router_frames_rejected_total";
  const std::string frames_help =
      "Frames or connections refused after the TLS handshake, by reason";
  m_.frames_oversize = m.LabeledCounter(frames, frames_help, {{"reason", "oversize"}});
  m_.frames_undecodable = m.LabeledCounter(frames, frames_help, {{"reason", "undecodable"}});
  m_.frames_truncated = m.LabeledCounter(frames, frames_help, {{"reason", "truncated"}});
  m_.frames_not_allowed = m.LabeledCounter(frames, frames_help, {{"reason", "not_allowed"}});
  m_.identity_mismatch = m.LabeledCounter(frames, frames_help, {{"reason", "identity_mismatch"}});
  m_.revoked = m.LabeledCounter(frames, frames_help, {{"reason", "revoked"}});
  m_.idle_disconnects = m.LabeledCounter(frames, frames_help, {{"reason", "idle_timeout"}});
  m_.decisions_shed =
      m.AddCounter("partita_router_decisions_shed_total",
                   "DecideRequests refused because the decision log queue was full");
  m_.outcomes = m.AddCounter("partita_router_outcomes_total", "Outcomes stored");
  m_.household_claims_ignored = m.AddCounter(
      "partita_router_household_claims_ignored_total",
      "Hellos that named a household other than the one router.yaml or the certificate gives");
  m_.duplicate_refused = m.LabeledCounter(
      "partita_router_duplicate_sessions_total",
      "Hellos from a device that already had a session: refused while that session was live, "
      "or replacing a silent one",
      {{"action", "refused"}});
  m_.duplicate_replaced = m.LabeledCounter("partita_router_duplicate_sessions_total",
                                           "Hellos from a device that already had a session: "
                                           "refused while that session was live, or replacing "
                                           "a silent one",
                                           {{"action", "replaced"}});
  m_.policy_reloads_ok = m.LabeledCounter("partita_router_policy_reloads_total",
                                          "Policy file reloads", {{"result", "ok"}});
  m_.policy_reloads_failed = m.LabeledCounter("partita_router_policy_reloads_total",
                                              "Policy file reloads", {{"result", "rejected"}});
  m_.decision_latency =
      m.AddHistogram("partita_router_decision_latency_seconds",
                     "DecideRequest received to Decision sent, including the decision log commit",
                     ExponentialBounds(0.00005, 2, 16));
  m_.decide_function =
      m.AddHistogram("partita_router_decide_function_seconds",
                     "Time in the policy decision function", ExponentialBounds(0.0000001, 2, 14));
}

Router::~Router() { Shutdown(std::chrono::seconds(2)); }

std::string Router::ConfigKey(std::string_view key) const {
  return (config_.config_path.empty() ? std::string() : config_.config_path + ": ") + "'" +
         std::string(key) + "'";
}

Status Router::Start() {
  Result<net::tcp::endpoint> where = net::ParseListenAddress(config_.listen);
  if (!where.ok()) return where.status();
  for (int i = 0; i < config_.io_threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    work_.push_back(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
        contexts_.back()->get_executor()));
  }
  std::vector<asio::io_context*> session_contexts;
  for (auto& c : contexts_) session_contexts.push_back(c.get());
  completions_ = std::make_unique<CompletionQueue>(session_contexts);
  net::TlsListenerOptions options;
  options.endpoint = *where;
  options.handshake_timeout = config_.handshake_timeout;
  options.max_connections_per_identity = config_.max_connections_per_device;
  options.log_component = kLog;
  // Every refusal reason shows from the start, at 0, so a dashboard can rate() it.
  m_.tls_refused = CounterByEnum<net::HandshakeFailure>(
      metrics_, "partita_router_tls_refused_total",
      "Connections refused during the TLS handshake, by reason", "reason",
      net::HandshakeFailureLabel);
  options.on_refused = [this](net::HandshakeFailure reason, const std::string&) {
    m_.tls_refused.Add(reason);
    std::lock_guard<std::mutex> lock(observer_mu_);
    if (refusal_observer_) refusal_observer_(reason);
  };
  Result<std::unique_ptr<net::TlsListener>> listener =
      net::TlsListener::Create(*contexts_[0], session_contexts, tls_, options,
                               [this](net::TlsStream s, net::PeerIdentity peer) {
                                 return ServeAgent(std::move(s), std::move(peer));
                               });
  if (!listener.ok()) return listener.status().WithContext(ConfigKey("listen"));
  listener_ = std::move(*listener);

  if (!config_.metrics_listen.empty()) {
    Result<net::tcp::endpoint> mwhere = net::ParseListenAddress(config_.metrics_listen);
    if (!mwhere.ok()) return mwhere.status();
    Result<std::unique_ptr<http::HttpEndpoint>> ep = http::HttpEndpoint::Create(
        *contexts_[0], *mwhere,
        {{"/metrics",
          [this] {
            return http::HttpResponse{200, "text/plain; version=0.0.4", RenderMetrics()};
          }},
         {"/healthz", [] {
            return http::HttpResponse{200, "text/plain", "ok\n"};
          }}});
    if (!ep.ok()) return ep.status().WithContext(ConfigKey("metrics_listen"));
    metrics_endpoint_ = std::move(*ep);
    metrics_endpoint_->Start();
  }
  metrics_.AddCallbackGauge("partita_router_connected_devices", "Agents connected now",
                            [this] { return static_cast<double>(registry_->online()); });
  metrics_.AddCallbackGauge("partita_router_decision_log_queue", "Rows waiting for the writer",
                            [this] { return static_cast<double>(log_->stats().queued); });
  metrics_.AddCallbackCounter("partita_router_decision_log_commits_total",
                              "Group commits of the decision log",
                              [this] { return static_cast<double>(log_->stats().commits); });
  metrics_.AddCallbackCounter(
      "partita_router_decision_log_wal_restarts_total",
      "Times the decision log's WAL was checkpointed completely and started over",
      [this] { return static_cast<double>(log_->stats().wal_restarts); });

  if (!config_.cloud.health_url.empty()) {
    Result<net::TlsContextPtr> health_tls =
        net::MakeClientTlsContext(config_.tls, {net::PeerKind::kGateway});
    if (!health_tls.ok()) return health_tls.status();
    Result<std::unique_ptr<CloudHealthPoller>> poller = CloudHealthPoller::Create(
        config_.cloud.health_url, config_.cloud.poll_interval, *health_tls, *cloud_);
    if (!poller.ok()) return poller.status();
    health_poller_ = std::move(*poller);
    asio::co_spawn(*contexts_[0], health_poller_->Run(), asio::detached);
  }
  listener_->Start();
  asio::co_spawn(*contexts_[0], PolicyWatchLoop(), asio::detached);
  asio::co_spawn(*contexts_[0], HousekeepingLoop(), asio::detached);
  for (auto& c : contexts_) {
    threads_.emplace_back([ctx = c.get()] { ctx->run(); });
  }
  const policy::PolicyPtr p = policies_->Current();
  // The bound addresses (a port 0 in the config is resolved here).
  const auto where_text = [](const net::tcp::endpoint& e) {
    return e.address().to_string() + ":" + std::to_string(e.port());
  };
  LogInfo(kLog, "listening on " + where_text(agent_endpoint()) + " (metrics on " +
                    (metrics_endpoint_ ? where_text(metrics_endpoint()) : std::string("none")) +
                    "), policy '" + p->name() + "' version " + p->version().substr(0, 12) +
                    ", decision log " + config_.decision_log);
  return Status::Ok();
}

void Router::Shutdown(std::chrono::milliseconds deadline) {
  if (stopped_.exchange(true)) return;
  stopping_ = true;
  if (!contexts_.empty()) {
    std::promise<void> stopped_accepting;
    asio::post(*contexts_[0], [&] {
      if (health_poller_) health_poller_->Stop();
      if (listener_) listener_->Stop();
      if (metrics_endpoint_) metrics_endpoint_->Stop();
      stopped_accepting.set_value();
    });
    if (!threads_.empty()) stopped_accepting.get_future().wait();
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (log_) (void)log_->Flush();
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) {
        auto conn = s->conn_ptr();
        asio::post(conn->get_executor(), [conn] { conn->Close("router shutting down"); });
      }
    }
  }
  for (auto& w : work_) w.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (log_) log_->Stop();
  if (!contexts_.empty()) LogInfo(kLog, "stopped; decision log flushed");
}

net::tcp::endpoint Router::agent_endpoint() const { return listener_->local_endpoint(); }

net::tcp::endpoint Router::metrics_endpoint() const {
  return metrics_endpoint_ ? metrics_endpoint_->local_endpoint() : net::tcp::endpoint{};
}

v1::Envelope Router::PolicyBundleFor(const policy::PolicyPtr& p) const {
  v1::Envelope e;
  v1::PolicyBundle* b = e.mutable_policy_bundle();
  b->set_version(p->version());
  b->set_name(p->name());
  b->set_source(p->source());
  b->set_issued_unix_ms(UnixMillis());
  return e;
}

void Router::BroadcastPolicy(const policy::PolicyPtr& p) {
  const v1::Envelope bundle = PolicyBundleFor(p);
  std::lock_guard<std::mutex> lock(sessions_mu_);
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock(); s && s->entry) s->conn().Send(bundle);
  }
}

Status Router::ReloadPolicy() {
  Result<std::string> text = yaml::ReadTextFile(config_.policy_file);
  if (!text.ok()) {
    m_.policy_reloads_failed->Add();
    LogError(kLog,
             "policy reload failed, still serving the previous policy: " + text.status().message());
    return text.status();
  }
  Diagnostics d(config_.policy_file);
  const policy::PolicyPtr previous = policies_->Current();
  policy::PolicyPtr next = policies_->Load(*text, d, catalog_);
  if (!next) {
    m_.policy_reloads_failed->Add();
    std::string errors = d.ToString();
    while (!errors.empty() && errors.back() == '\n') errors.pop_back();
    LogError(kLog, "policy reload rejected, still serving version " +
                       previous->version().substr(0, 12) + ":\n" + errors);
    return d.ToStatus();
  }
  if (next->version() == previous->version()) return Status::Ok();
  m_.policy_reloads_ok->Add();
  LogInfo(kLog, "serving policy '" + next->name() + "' version " + next->version().substr(0, 12));
  BroadcastPolicy(next);
  return Status::Ok();
}

void Router::SetReloadObserver(std::function<void(const Status&)> observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  reload_observer_ = std::move(observer);
}

void Router::SetRefusalObserver(std::function<void(net::HandshakeFailure)> observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  refusal_observer_ = std::move(observer);
}

asio::awaitable<void> Router::PolicyWatchLoop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_) {
    timer.expires_after(config_.policy_poll);
    co_await timer.async_wait(net::use_nothrow_awaitable);
    if (stopping_) co_return;
    if (!config_.config_path.empty()) {
      const std::string config_stamp = FileStamp(config_.config_path);
      if (!config_stamp.empty() && config_stamp != config_stamp_) {
        config_stamp_ = config_stamp;
        Result<RouterConfig> changed = LoadRouterConfig(config_.config_path);
        if (changed.ok()) {
          SetRevoked(changed->revoked);
          LogInfo(kLog, "reloaded the revoked list from " + config_.config_path + " (" +
                            std::to_string(changed->revoked.size()) +
                            " device(s)); other changes apply at restart");
        } else {
          LogError(kLog, "the changed config does not load; the revoked list is unchanged:\n" +
                             changed.status().message());
        }
      }
    }
    const std::string stamp = FileStamp(config_.policy_file);
    if (stamp.empty()) {
      if (!policy_stamp_.empty()) {  // once, until the file is back
        LogWarn(kLog, "the policy file " + config_.policy_file +
                          " is gone; still serving version " +
                          policies_->Current()->version().substr(0, 12));
        policy_stamp_.clear();
      }
      continue;
    }
    if (stamp == policy_stamp_) continue;
    policy_stamp_ = stamp;
    const Status s = ReloadPolicy();
    std::lock_guard<std::mutex> lock(observer_mu_);
    if (reload_observer_) reload_observer_(s);
  }
}

void Router::SetRevoked(const std::vector<std::string>& device_ids) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  const std::vector<std::string> before = registry_->RevokedIds();
  const std::vector<std::string> added =
      registry_->SetRevoked(std::set<std::string>(device_ids.begin(), device_ids.end()));
  if (registry_->RevokedIds() != before) {
    // Every agent learns the new list: phones stop serving revoked devices at once.
    for (auto& [id, weak] : sessions_) {
      std::shared_ptr<AgentSession> s = weak.lock();
      if (s && s->entry) s->conn().Send(HouseholdViewFor(s->household));
    }
  }
  if (added.empty()) return;
  const std::set<std::string> now_revoked(added.begin(), added.end());
  for (auto& [id, weak] : sessions_) {
    std::shared_ptr<AgentSession> s = weak.lock();
    if (!s || now_revoked.count(s->device_id) == 0) continue;
    m_.revoked->Add();
    LogWarn(kLog, "closing the session of '" + s->device_id + "': revoked");
    auto conn = s->conn_ptr();
    asio::co_spawn(conn->get_executor(), SendRevokedAndClose(conn, s->device_id), asio::detached);
  }
}

asio::awaitable<void> Router::HousekeepingLoop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(net::use_nothrow_awaitable);
    if (stopping_) co_return;
    const std::size_t expired =
        registry_->ExpireStale(std::chrono::steady_clock::now(), config_.offline_after);
    if (expired > 0) LogInfo(kLog, std::to_string(expired) + " device(s) went silent: offline");
  }
}

v1::Envelope Router::HouseholdViewFor(const std::string& household) const {
  v1::Envelope e;
  v1::HouseholdView* view = e.mutable_household_view();
  view->set_household(household);
  for (std::string& id : registry_->HouseholdMembers(household)) view->add_members(std::move(id));
  for (std::string& id : registry_->RevokedIds()) view->add_revoked(std::move(id));
  return e;
}

void Router::SendHouseholdViews(const std::string& household, std::uint64_t except_session) {
  if (household.empty()) return;
  const v1::Envelope view = HouseholdViewFor(household);
  std::lock_guard<std::mutex> lock(sessions_mu_);
  for (auto& [id, weak] : sessions_) {
    std::shared_ptr<AgentSession> s = weak.lock();
    if (s && id != except_session && s->entry && s->household == household) s->conn().Send(view);
  }
}

void Router::ReplaceSession(std::uint64_t old_session, const std::string& who) {
  std::shared_ptr<AgentSession> old;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (auto it = sessions_.find(old_session); it != sessions_.end()) old = it->second.lock();
  }
  if (!old) return;
  m_.duplicate_replaced->Add();
  LogWarn(kLog, who +
                    " connected again while its previous session, silent for over two "
                    "heartbeats, was open; that session is closed");
  auto conn = old->conn_ptr();
  const std::string why = "replaced by a newer session of the same device (this one was silent)";
  asio::co_spawn(conn->get_executor(), SendErrorAndClose(conn, v1::ERROR_NOT_ALLOWED, why, why),
                 asio::detached);
}

Counter* Router::DecisionCounter(AgentSession& session, const DecisionOutput& out,
                                 const std::string& policy_version) {
  if (session.counters_version != policy_version) {
    session.counters_version = policy_version;
    session.counters.assign(session.counters.size(), nullptr);
  }
  const std::size_t slot = static_cast<std::size_t>(out.rule_index + 1) * (kTierCount + 1) +
                           (out.ok ? static_cast<std::size_t>(out.tier) : kTierCount);
  if (slot >= session.counters.size()) session.counters.resize(slot + 1, nullptr);
  Counter*& c = session.counters[slot];
  if (c == nullptr) {
    c = metrics_.LabeledCounter(
        "partita_router_decisions_total", "Decisions by tier and rule",
        {{"tier", out.ok ? std::string(Name(out.tier)) : "none"}, {"rule", out.rule}});
  }
  return c;
}

std::string Router::RenderMetrics() {
  std::string out = metrics_.Render();
  const policy::PolicyPtr p = policies_->Current();
  out += "# HELP partita_router_policy_info The policy being served\n";
  out += "# TYPE partita_router_policy_info gauge\n";
  out += "partita_router_policy_info{name=\"" + EscapeLabelValue(p->name()) + "\",version=\"" +
         p->version() + "\"} 1\n";
  return out;
}

asio::awaitable<void> Router::ServeAgent(net::TlsStream stream, net::PeerIdentity peer) {
  const std::uint64_t session_id = next_session_++;
  net::FramedConnectionOptions options;
  options.max_frame_bytes = config_.max_frame_bytes;
  options.idle_timeout = config_.handshake_timeout;  // until Hello
  auto conn = std::make_shared<Connection>(std::move(stream), options);
  conn->Start();
  auto session = std::make_shared<AgentSession>(session_id, conn);
  session->device_id = peer.id;
  session->lane = completions_->LaneOf(conn->get_executor());
  std::string who = "device '" + peer.id + "'";
  {
    net::error_code ignored;
    const auto remote =
        boost::beast::get_lowest_layer(conn->stream()).socket().remote_endpoint(ignored);
    if (!ignored) who += " (" + net::EndpointText(remote) + ")";
  }

  // Checked and registered under one lock, which SetRevoked also holds: a revocation lands
  // either before (refused here) or after (SetRevoked finds the session).
  bool revoked = false;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    revoked = registry_->IsRevoked(peer.id);
    if (!revoked) sessions_[session_id] = session;
  }
  if (revoked) {
    m_.revoked->Add();
    LogWarn(kLog, "refused " + who + ": revoked");
    co_await SendRevokedAndClose(conn, peer.id);
    co_return;
  }

  std::string close_reason;
  bool violation = false;  // the peer broke the protocol: logged as a warning
  for (;;) {
    v1::Envelope in;
    const net::error_code ec = co_await conn->Read(in);
    if (ec) {
      if (ec == net::FrameError::kOversize) {
        m_.frames_oversize->Add();
        violation = true;
        close_reason = "frame over " + std::to_string(config_.max_frame_bytes) + " bytes";
        conn->Send(ErrorFrame(v1::ERROR_BAD_FRAME, close_reason));
      } else if (ec == net::FrameError::kUndecodable) {
        m_.frames_undecodable->Add();
        violation = true;
        close_reason = "undecodable frame";
        conn->Send(ErrorFrame(v1::ERROR_BAD_FRAME, close_reason));
      } else if (ec == net::FrameError::kTruncated) {
        m_.frames_truncated->Add();
        violation = true;
        close_reason = "stream ended inside a frame";
      } else if (ec == asio::error::timed_out) {
        m_.idle_disconnects->Add();
        close_reason = conn->close_reason();
      } else {
        close_reason = (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
                           ? "closed by the agent"
                           : ec.message();
      }
      break;
    }

    if (!session->entry) {
      // The first frame must be a Hello naming the certificate's device.
      if (!in.has_hello()) {
        m_.frames_not_allowed->Add();
        violation = true;
        close_reason = "first frame was not a Hello";
        conn->Send(ErrorFrame(v1::ERROR_NOT_ALLOWED, "expected Hello as the first frame"));
        break;
      }
      const v1::Hello& hello = in.hello();
      if (hello.device_id() != peer.id) {
        m_.identity_mismatch->Add();
        violation = true;
        close_reason = "Hello names '" + Printable(hello.device_id()) +
                       "' but the certificate is " + peer.Uri();
        conn->Send(ErrorFrame(v1::ERROR_IDENTITY_MISMATCH, close_reason));
        break;
      }
      std::optional<DeviceClassIndex> profile = catalog_->FindDevice(hello.profile());
      if (!profile) {
        violation = true;
        close_reason = "unknown profile '" + Printable(hello.profile()) + "'";
        conn->Send(
            ErrorFrame(v1::ERROR_INVALID_REQUEST, close_reason + "; see `partita profiles list`"));
        break;
      }
      DeviceSnapshot snap;
      snap.id = peer.id;
      snap.profile = *profile;
      snap.profile_name = hello.profile();
      snap.household = registry_->AuthorityHousehold(peer.id, peer.household);
      if (!hello.household().empty() && hello.household() != snap.household) {
        m_.household_claims_ignored->Add();
        LogWarn(kLog, who + " says it belongs to household '" + Printable(hello.household()) +
                          "'; ignored: its household comes from router.yaml or its certificate (" +
                          (snap.household.empty() ? "none" : "'" + snap.household + "'") + ")");
      }
      snap.peer_endpoint = hello.peer_endpoint();
      const DeviceClass& cls = catalog_->device(*profile);
      snap.accepts_offload = cls.accepts_offload;
      for (const ModelRuntime& rt : cls.runtimes) snap.models.Insert(rt.model);
      ApplyState(hello.state(), *catalog_, snap);
      // One live session per device: a heartbeat within two intervals counts as live.
      const FleetRegistry::Registration reg = registry_->Register(
          snap, session_id, std::chrono::steady_clock::now(), 2 * config_.heartbeat_interval);
      if (!reg.entry) {
        m_.duplicate_refused->Add();
        violation = true;
        close_reason = "device '" + peer.id +
                       "' already has a live session; a second one is refused (two agents with "
                       "one certificate?)";
        conn->Send(ErrorFrame(v1::ERROR_NOT_ALLOWED, close_reason));
        break;
      }
      session->entry = reg.entry;
      session->household = snap.household;
      if (reg.replaced_session != 0) ReplaceSession(reg.replaced_session, who);
      conn->SetIdleTimeout(config_.idle_timeout);
      // The household view goes before the Welcome: an agent that is connected knows it.
      conn->Send(HouseholdViewFor(snap.household));
      v1::Envelope welcome;
      welcome.mutable_welcome()->set_router_id("router");
      welcome.mutable_welcome()->set_heartbeat_interval_ms(
          static_cast<std::uint32_t>(config_.heartbeat_interval.count()));
      const policy::PolicyPtr p = policies_->Current();
      welcome.mutable_welcome()->set_policy_version(p->version());
      welcome.mutable_welcome()->set_server_unix_ms(UnixMillis());
      conn->Send(welcome);
      conn->Send(PolicyBundleFor(p));
      LogInfo(kLog, who + " registered (profile " + hello.profile() +
                        (snap.household.empty() ? "" : ", household " + snap.household) + ")");
      SendHouseholdViews(snap.household, session_id);  // the others learn it joined
      continue;
    }

    if (session->entry->session() != session_id) {
      close_reason = "replaced by a newer session of the same device";
      conn->Send(ErrorFrame(v1::ERROR_NOT_ALLOWED, close_reason));
      break;
    }
    switch (in.body_case()) {
      case v1::Envelope::kHeartbeat: {
        session->entry->Update([&](DeviceSnapshot& s) {
          ApplyState(in.heartbeat().state(), *catalog_, s);
          s.online = true;
          ++s.heartbeats;
        });
        break;
      }
      case v1::Envelope::kDecideRequest: {
        const auto received = std::chrono::steady_clock::now();
        const v1::DecideRequest& req = in.decide_request();
        if (req.has_state()) {
          session->entry->Update([&](DeviceSnapshot& s) { ApplyState(req.state(), *catalog_, s); });
        }
        DecisionOutput out = decider_->Decide(session->entry->Snapshot(), req);
        m_.decide_function->Observe(out.decide_us / 1e6);
        DecisionCounter(*session, out, out.policy_version)->Add();
        in_flight_.fetch_add(1);
        auto reply = std::make_shared<v1::Envelope>();
        *reply->mutable_decision() = std::move(out.decision);
        const std::size_t lane = session->lane;
        const bool queued = log_->LogDecision(std::move(out.record), [this, conn, reply, received,
                                                                      lane](const Status& s) {
          // On the writer thread: hand the reply to the connection's I/O thread.
          completions_->Add(lane, [this, conn, reply, received, s] {
            if (s.ok()) {
              conn->Send(*reply);
            } else {
              LogError(kLog, "decision log write failed: " + s.message());
              conn->Send(ErrorFrame(v1::ERROR_INTERNAL, "decision log write failed",
                                    reply->decision().request_id()));
            }
            m_.decision_latency->Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
            in_flight_.fetch_sub(1);
          });
        });
        if (!queued) {
          in_flight_.fetch_sub(1);
          m_.decisions_shed->Add();
          conn->Send(
              ErrorFrame(v1::ERROR_OVERLOADED, "decision log is behind; retry", req.request_id()));
        }
        break;
      }
      case v1::Envelope::kOutcome: {
        const v1::Outcome& o = in.outcome();
        auto outcome = std::make_shared<storage::OutcomeRecord>();
        outcome->request_id = o.request_id();
        outcome->device_id = peer.id;
        outcome->t_ms = UnixMillis();
        outcome->final_tier = FromProto(o.final_tier());
        outcome->final_model = o.final_model();
        outcome->success = o.success();
        outcome->truncated = o.truncated();
        outcome->ttft_ms = o.ttft_ms();
        outcome->total_ms = o.total_ms();
        outcome->tokens_out = o.tokens_out();
        outcome->cost_usd = o.cost_usd();
        outcome->energy_j = o.energy_j();
        if (auto m = catalog_->FindModel(o.final_model()); m && o.success()) {
          outcome->quality = catalog_->model(*m).QualityAt(o.features().difficulty());
        }
        outcome->attempts = static_cast<std::uint32_t>(o.attempts_size());
        for (int i = 0; i < o.attempts_size(); ++i) {
          const v1::Attempt& a = o.attempts(i);
          const std::string result = AttemptResultName(a.result());
          if (a.result() != v1::ATTEMPT_OK && outcome->fallback_cause.empty()) {
            outcome->fallback_cause = result;
          }
          const std::optional<Tier> tier = FromProto(a.tier());
          storage::AppendTrailStep(outcome->trail, tier ? Name(*tier) : "", result, a.elapsed_ms());
        }
        if (!o.success()) {
          for (const v1::Attempt& a : o.attempts()) {
            outcome->deadline_missed |= a.result() == v1::ATTEMPT_DEADLINE;
          }
          outcome->error =
              storage::FailureReason(o.attempts_size() > 0, false, outcome->deadline_missed);
        }
        auto facts = std::make_shared<storage::DecisionRecord>();
        const DeviceSnapshot snap = session->entry->Snapshot();
        facts->request_id = o.request_id();
        facts->device_id = peer.id;
        facts->device_profile = snap.profile_name;
        facts->household = snap.household;
        facts->t_ms = outcome->t_ms - o.total_ms();
        facts->kind = Name(FromProto(o.features().kind()).value_or(RequestKind::kChat));
        facts->privacy = Name(FromProto(o.features().privacy()));
        facts->tokens_in = o.features().tokens_in();
        facts->tokens_out = o.features().tokens_out();
        facts->difficulty = o.features().difficulty();
        facts->policy_version = o.policy_version().substr(0, storage::kPolicyVersionChars);
        facts->rule = o.rule();
        facts->decided_offline = o.decided_offline();
        if (o.attempts_size() > 0) {
          facts->tier = FromProto(o.attempts(0).tier());
          facts->model = o.attempts(0).model();
        }
        if (outcome->final_tier == Tier::kCloud) cloud_->AddSpend(o.cost_usd(), outcome->t_ms);
        in_flight_.fetch_add(1);
        const std::uint64_t request_id = o.request_id();
        const std::size_t lane = session->lane;
        const bool queued =
            log_->LogOutcome(outcome, facts, [this, conn, request_id, lane](const Status& s) {
              completions_->Add(lane, [this, conn, request_id, s] {
                if (s.ok()) {
                  m_.outcomes->Add();
                  v1::Envelope ack;
                  ack.mutable_ack()->set_request_id(request_id);
                  conn->Send(ack);
                } else {
                  LogError(kLog, "outcome not stored: " + s.message());
                }
                in_flight_.fetch_sub(1);
              });
            });
        if (!queued) {
          in_flight_.fetch_sub(1);
          conn->Send(
              ErrorFrame(v1::ERROR_OVERLOADED, "outcome not stored; resend later", request_id));
        }
        break;
      }
      case v1::Envelope::kPing: {
        v1::Envelope pong;
        pong.mutable_pong()->set_nonce(in.ping().nonce());
        conn->Send(pong);
        break;
      }
      case v1::Envelope::kPong: break;
      default: {
        m_.frames_not_allowed->Add();
        violation = true;
        close_reason = "message not allowed from an agent (body case " +
                       std::to_string(static_cast<int>(in.body_case())) + ")";
        conn->Send(ErrorFrame(v1::ERROR_NOT_ALLOWED, close_reason));
        break;
      }
    }
    if (!close_reason.empty()) break;
  }
  co_await conn->Flush(std::chrono::milliseconds(500));
  conn->Close(close_reason);
  if (session->entry) registry_->Disconnected(session->entry, session_id);
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.erase(session_id);
  }
  if (violation) {
    LogWarn(kLog, "closed " + who + ": " + close_reason);
  } else {
    LogInfo(kLog, who + " disconnected: " + close_reason);
  }
}

}  // namespace partita::router
