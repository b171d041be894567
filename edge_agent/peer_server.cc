#include "edge_agent/peer_server.h"

#include "common/log.h"
#include "net/framed_connection.h"
#include "proto/convert.h"

namespace partita::agent {

namespace {
constexpr const char* kLog = "agent";
}  // namespace

Result<std::unique_ptr<PeerServer>> PeerServer::Create(
    asio::io_context& io, const std::string& listen, net::TlsContextPtr tls, Admission admission,
    TierRunner* runtime, TierRequest defaults, std::function<double(std::uint32_t)> energy) {
  Result<net::tcp::endpoint> where = net::ParseListenAddress(listen);
  if (!where.ok()) return where.status();
  std::unique_ptr<PeerServer> s(new PeerServer());
  s->admission_ = std::move(admission);
  s->runtime_ = runtime;
  s->defaults_ = std::move(defaults);
  s->energy_ = std::move(energy);
  net::TlsListenerOptions options;
  options.endpoint = *where;
  options.log_component = "agent-peer";
  // Offloads take one connection each, and a phone admits a few at once.
  options.max_connections_per_identity = 4;
  PeerServer* self = s.get();
  Result<std::unique_ptr<net::TlsListener>> listener = net::TlsListener::Create(
      io, {&io}, std::move(tls), options, [self](net::TlsStream stream, net::PeerIdentity peer) {
        return self->Serve(std::move(stream), std::move(peer));
      });
  if (!listener.ok()) return listener.status();
  s->listener_ = std::move(*listener);
  return s;
}

void PeerServer::Start() { listener_->Start(); }
void PeerServer::Stop() { listener_->Stop(); }

asio::awaitable<void> PeerServer::Serve(net::TlsStream stream, net::PeerIdentity peer) {
  net::FramedConnectionOptions options;
  options.idle_timeout = std::chrono::seconds(5);
  auto conn = std::make_shared<net::FramedConnection<net::TlsStream>>(std::move(stream), options);
  conn->Start();
  v1::Envelope in;
  const net::error_code read = co_await conn->Read(in);
  // A bad first frame gets a reason, a log line and a count, like the router's.
  std::string refusal;
  v1::ErrorCode code = v1::ERROR_BAD_FRAME;
  if (read == net::FrameError::kOversize || read == net::FrameError::kUndecodable) {
    refusal = net::FrameErrorName(static_cast<net::FrameError>(read.value()));
  } else if (!read && !in.has_offload_request()) {
    refusal = "the first frame must be an OffloadRequest";
    code = v1::ERROR_NOT_ALLOWED;
  }
  if (!refusal.empty()) {
    refused_frames_.fetch_add(1, std::memory_order_relaxed);
    LogWarn(kLog, "refused an offload connection from '" + peer.id + "': " + refusal);
    v1::Envelope error;
    error.mutable_error()->set_code(code);
    error.mutable_error()->set_message(refusal);
    conn->Send(error);
    co_await conn->Flush(std::chrono::milliseconds(500));
  }
  if (read || !refusal.empty()) {
    conn->Close(refusal.empty() ? read.message() : refusal);
    co_return;
  }
  const v1::OffloadRequest& req = in.offload_request();
  std::optional<std::string> decline =
      runtime_ == nullptr ? std::optional<std::string>("no local runtime") : admission_(peer.id);
  v1::Envelope reply;
  reply.mutable_offload_reply()->set_accepted(!decline);
  if (decline) reply.mutable_offload_reply()->set_reason(*decline);
  conn->Send(reply);
  if (decline) {
    LogInfo(kLog, "declined an offload from '" + peer.id + "': " + *decline);
    co_await conn->Flush(std::chrono::milliseconds(500));
    conn->Close("declined");
    co_return;
  }
  ++in_flight_;
  ++serving_;
  conn->SetIdleTimeout(std::chrono::minutes(10));  // we are the one streaming now
  TierRequest r = defaults_;
  r.prompt = req.prompt();
  r.partial_answer = req.partial_answer();
  r.model = req.model();
  r.max_tokens = req.max_tokens();
  r.deadline_applies = req.deadline_ms() > 0;
  r.first_token_by = Clock::now() + std::chrono::milliseconds(req.deadline_ms());
  v1::Route route;
  route.set_tier(v1::TIER_DEVICE);
  route.set_model(req.model());
  TierResult res = co_await runtime_->Run(r, route, [&](std::string_view text) {
    v1::Envelope chunk;
    chunk.mutable_ask_chunk()->set_text(std::string(text));
    chunk.mutable_ask_chunk()->set_tier(v1::TIER_PHONE);
    conn->Send(chunk);
  });
  --in_flight_;
  v1::Envelope done;
  v1::AskResult* ar = done.mutable_ask_result();
  ar->set_ok(res.ok());
  ar->set_tier(v1::TIER_PHONE);
  ar->set_model(res.model);
  ar->set_ttft_ms(res.ttft_ms);
  ar->set_total_ms(res.elapsed_ms);
  ar->set_tokens_in(res.tokens_in);
  ar->set_tokens_out(res.tokens_out);
  ar->set_simulated(res.simulated);
  ar->set_energy_j(energy_ ? energy_(res.elapsed_ms) : 0);
  if (!res.ok()) {
    ar->mutable_error()->set_code(v1::ERROR_ALL_TIERS_FAILED);
    ar->mutable_error()->set_message(AttemptResultName(res.result) + ": " + res.detail);
  }
  conn->Send(done);
  co_await conn->Flush(std::chrono::seconds(2));
  conn->Close("offload done");
  --serving_;
  if (on_finished_) on_finished_();
}

}  // namespace partita::agent
