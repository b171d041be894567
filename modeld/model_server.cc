#include "modeld/model_server.h"

#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>

#include "backends/openai.h"
#include "common/hash.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "http/io.h"
#include "http/writer.h"

namespace partita::modeld {

// The OpenAI wire format: request inspection, error bodies, HTTP helpers.
using namespace backends;

using Clock = std::chrono::steady_clock;
using net::error_code;
using net::asio::awaitable;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::seconds kIdleTimeout{120};
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::minutes kStallHold{10};

constexpr std::string_view kWords[] = {
    "lorem",  "ipsum", "dolor",   "sit",         "amet",      "consectetur", "adipiscing",
    "elit",   "sed",   "do",      "eiusmod",     "tempor",    "incididunt",  "ut",
    "labore", "et",    "dolore",  "magna",       "aliqua",    "enim",        "minim",
    "veniam", "quis",  "nostrud", "ullamco",     "laboris",   "nisi",        "aliquip",
    "ex",     "ea",    "commodo", "placeholder", "simulated", "tokens"};

bool ParseInt(std::string_view text, int& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

std::string Hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool FaultSpec::any() const {
  return status != 0 || refuse || stall_after >= 0 || drop_after >= 0 || slow_ms > 0 || bad_sse ||
         no_usage;
}

std::string FaultSpec::ToString() const {
  std::string out;
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += ',';
    out += s;
  };
  if (status != 0) add("status=" + std::to_string(status));
  if (refuse) add("refuse");
  if (stall_after >= 0) add("stall-after=" + std::to_string(stall_after));
  if (drop_after >= 0) add("drop-after=" + std::to_string(drop_after));
  if (slow_ms > 0) add("slow-ms=" + std::to_string(slow_ms));
  if (bad_sse) add("bad-sse");
  if (no_usage) add("no-usage");
  return out.empty() ? "none" : out;
}

Result<FaultSpec> ParseFaultSpec(std::string_view text) {
  FaultSpec f;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    auto need_int = [&](int& out, int lo, int hi) -> Status {
      int v = 0;
      if (eq == std::string_view::npos || !ParseInt(value, v) || v < lo || v > hi) {
        return InvalidArgument("fault '" + std::string(item) + "': expected " + std::string(key) +
                               "=N with N in " + std::to_string(lo) + ".." + std::to_string(hi));
      }
      out = v;
      return Status::Ok();
    };
    if (key == "status") {
      PARTITA_RETURN_IF_ERROR(need_int(f.status, 400, 599));
    } else if (key == "stall-after") {
      PARTITA_RETURN_IF_ERROR(need_int(f.stall_after, 0, 1 << 20));
    } else if (key == "drop-after") {
      PARTITA_RETURN_IF_ERROR(need_int(f.drop_after, 0, 1 << 20));
    } else if (key == "slow-ms") {
      PARTITA_RETURN_IF_ERROR(need_int(f.slow_ms, 0, 600000));
    } else if (key == "refuse" && eq == std::string_view::npos) {
      f.refuse = true;
    } else if (key == "bad-sse" && eq == std::string_view::npos) {
      f.bad_sse = true;
    } else if (key == "no-usage" && eq == std::string_view::npos) {
      f.no_usage = true;
    } else if (key == "none" && eq == std::string_view::npos) {
      f = FaultSpec{};
    } else {
      return InvalidArgument("unknown fault '" + std::string(item) +
                             "'; expected status=CODE, refuse, stall-after=N, drop-after=N, "
                             "slow-ms=M, bad-sse, no-usage or none");
    }
  }
  return f;
}

std::vector<std::string> SimulatedTokens(std::string_view request_body, std::int64_t tokens) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(tokens, 0)));
  std::uint64_t state = Fnv1a64(request_body) | 1;
  for (std::int64_t i = 0; i < tokens; ++i) {
    if (i == 0) {
      out.emplace_back("[simulated]");
      continue;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    out.push_back(" " + std::string(kWords[state % std::size(kWords)]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct ModelServer::Shared {
  std::vector<net::asio::io_context*> contexts;
  ModelServerOptions options;
  std::string served_name;
  std::string source;
  double prefill_tps = 0;
  double decode_tps = 0;
  double base_latency_ms = 0;
  net::tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};
  std::size_t next_context = 0;
  mutable std::mutex fault_mu;
  FaultSpec fault;  // guarded by fault_mu
  ModelServerStats stats;

  explicit Shared(net::asio::io_context& accept) : acceptor(accept) {}

  FaultSpec CurrentFault() const {
    std::lock_guard<std::mutex> lock(fault_mu);
    return fault;
  }
};

namespace {

using SharedPtr = std::shared_ptr<ModelServer::Shared>;

class Session {
 public:
  Session(net::tcp::socket socket, SharedPtr shared)
      : stream_(std::move(socket)), sh_(std::move(shared)) {}

  awaitable<void> Run() {
    const http::Limits limits{kHeaderLimit, sh_->options.max_body_bytes};
    for (;;) {
      stream_.expires_after(kIdleTimeout);
      const http::ReadResult read = co_await http::ReadRequest(stream_, buffer_, request_, limits);
      if (read.status == http::ReadStatus::kBodyTooLarge) {
        co_await SendError(
            413, "request_too_large",
            "request body is larger than " + std::to_string(sh_->options.max_body_bytes) + " bytes",
            false);
      } else if (read.status == http::ReadStatus::kHeadTooLarge) {
        co_await SendError(431, "headers_too_large", "request headers are too large", false);
      } else if (read.status == http::ReadStatus::kMalformed) {
        co_await SendError(400, "bad_http", "malformed HTTP request: " + read.error, false);
      }
      if (read.status != http::ReadStatus::kOk) break;
      const http::RequestHead& req = request_.head;
      const bool keep_alive = req.keep_alive;
      const std::string_view target = req.target;
      bool go_on = true;
      if (target == "/v1/chat/completions") {
        if (req.method != "POST") {
          go_on = co_await SendError(405, "method_not_allowed", "use POST", keep_alive);
        } else {
          const std::string_view fault_text = req.Find("X-Partita-Fault");
          go_on = co_await Chat(request_.body, !fault_text.empty(), fault_text, keep_alive);
        }
      } else if (target == "/health" && req.method == "GET") {
        go_on = co_await SendJson(200,
                                  JsonWriter()
                                      .BeginObject()
                                      .Member("status", "ok")
                                      .Member("model", sh_->options.model)
                                      .Member("partita_simulated", true)
                                      .EndObject()
                                      .Take(),
                                  keep_alive);
      } else if (target == "/v1/models" && req.method == "GET") {
        go_on = co_await SendJson(200,
                                  JsonWriter()
                                      .BeginObject()
                                      .Member("object", "list")
                                      .Key("data")
                                      .BeginArray()
                                      .BeginObject()
                                      .Member("id", sh_->options.model)
                                      .Member("object", "model")
                                      .IntMember("created", 0)
                                      .Member("owned_by", "partita-modeld")
                                      .Member("partita_simulated", true)
                                      .EndObject()
                                      .EndArray()
                                      .Member("partita_simulated", true)
                                      .EndObject()
                                      .Take(),
                                  keep_alive);
      } else {
        go_on = co_await SendError(404, "not_found",
                                   "unknown path; modeld serves POST /v1/chat/completions, "
                                   "GET /v1/models and GET /health",
                                   keep_alive);
      }
      if (!go_on || !keep_alive) break;
    }
    error_code ignored;
    stream_.socket().shutdown(net::tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

 private:
  awaitable<bool> Write(std::string_view data) {
    stream_.expires_after(kWriteTimeout);
    auto [ec, n] = co_await net::asio::async_write(stream_, net::asio::buffer(data),
                                                   net::use_nothrow_awaitable);
    co_return !ec;
  }

  awaitable<bool> SendJson(int status, std::string_view body, bool keep_alive) {
    out_ = http::MakeResponse(status, "application/json", body, keep_alive,
                              "X-Partita-Simulated: 1\r\n");
    co_return co_await Write(out_);
  }

  awaitable<bool> SendError(int status, std::string_view code, const std::string& message,
                            bool keep_alive) {
    if (status < 500) sh_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
    std::string body = JsonWriter()
                           .BeginObject()
                           .Key("error")
                           .BeginObject()
                           .Member("message", message)
                           .Member("type", status < 500 ? "invalid_request_error" : "server_error")
                           .Member("code", code)
                           .EndObject()
                           .Member("partita_simulated", true)
                           .EndObject()
                           .Take();
    co_return co_await SendJson(status, body, keep_alive);
  }

  // Waits until `when`; false when the wait was cut short (server stopping) or the client
  // closed its connection meanwhile (checked every half second, so a client that gives up on
  // a long answer does not leave a connection half-closed here until the answer is due).
  awaitable<bool> WaitUntil(Clock::time_point when) {
    net::asio::steady_timer timer(stream_.get_executor());
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (when <= now) co_return true;
      timer.expires_at(std::min(when, now + std::chrono::milliseconds(500)));
      auto [ec] = co_await timer.async_wait(net::use_nothrow_awaitable);
      if (ec) co_return false;
      if (Clock::now() < when && PeerClosed()) {
        sh_->stats.abandoned.fetch_add(1, std::memory_order_relaxed);
        co_return false;
      }
    }
  }

  // The client has closed its end (a read would return the end of the stream at once).
  bool PeerClosed() {
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  // Holds the connection until the client goes away (a stalled server).
  awaitable<void> HoldUntilClosed() {
    char byte;
    stream_.expires_after(kStallHold);
    for (;;) {
      auto [ec, n] =
          co_await stream_.async_read_some(net::asio::buffer(&byte, 1), net::use_nothrow_awaitable);
      if (!ec) continue;
      if (ec != net::beast::error::timeout) {
        sh_->stats.abandoned.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    }
  }

  // A chat.completion or chat.completion.chunk object up to its choices: id, model, the mark.
  void BeginAnswer(JsonWriter& j, std::string_view object) const {
    j.BeginObject()
        .Member("id", answer_id_)
        .Member("object", object)
        .IntMember("created", created_)
        .Member("model", sh_->served_name)
        .Member("partita_simulated", true);
  }

  // One stream event: a delta with an optional role and content, and the finish reason.
  std::string ChunkJson(std::optional<std::string_view> role,
                        std::optional<std::string_view> content,
                        std::string_view finish_reason) const {
    JsonWriter j;
    BeginAnswer(j, "chat.completion.chunk");
    j.Key("choices").BeginArray().BeginObject().IntMember("index", 0).Key("delta").BeginObject();
    if (role) j.Member("role", *role);
    if (content) j.Member("content", *content);
    j.EndObject().Key("finish_reason");
    if (finish_reason.empty()) {
      j.Null();
    } else {
      j.String(finish_reason);
    }
    return j.EndObject().EndArray().EndObject().Take();
  }

  static void Usage(JsonWriter& j, std::int64_t prompt, std::int64_t completion) {
    j.Key("usage")
        .BeginObject()
        .IntMember("prompt_tokens", prompt)
        .IntMember("completion_tokens", completion)
        .IntMember("total_tokens", prompt + completion)
        .EndObject();
  }

  static void AppendEvent(std::string& out, std::string_view data) {
    std::string event = "data: ";
    event += data;
    event += "\n\n";
    http::AppendChunk(out, event);
  }

  // Returns false when the connection must close.
  awaitable<bool> Chat(const std::string& body, bool has_fault_header, std::string_view fault_text,
                       bool keep_alive) {
    const Clock::time_point start = Clock::now();
    ModelServerStats& stats = sh_->stats;
    stats.requests.fetch_add(1, std::memory_order_relaxed);
    FaultSpec fault = sh_->CurrentFault();
    if (has_fault_header) {
      Result<FaultSpec> parsed = ParseFaultSpec(fault_text);
      if (!parsed.ok()) {
        co_return co_await SendError(400, "bad_fault_header",
                                     "X-Partita-Fault: " + parsed.status().message(), keep_alive);
      }
      fault = *parsed;
    }
    if (fault.any()) stats.faults.fetch_add(1, std::memory_order_relaxed);
    if (fault.refuse) co_return false;
    if (fault.status != 0) {
      co_return co_await SendError(fault.status, "simulated_" + std::to_string(fault.status),
                                   "simulated fault: HTTP " + std::to_string(fault.status),
                                   keep_alive);
    }
    Result<RequestInfo> info = InspectChatRequest(body);
    if (!info.ok()) {
      co_return co_await SendError(400, "invalid_request", info.status().message(), keep_alive);
    }
    const ModelServerOptions& o = sh_->options;
    const bool limited = info->max_tokens >= 0;
    const std::int64_t n_tokens =
        std::min(limited ? info->max_tokens : o.default_max_tokens, o.max_tokens_limit);
    const std::int64_t prompt_tokens = EstimatePromptTokens(*info);
    const std::vector<std::string> tokens = SimulatedTokens(body, n_tokens);
    const std::string finish = limited ? "length" : "stop";
    const std::uint64_t hash = Fnv1a64(body);

    using Micros = std::chrono::duration<double, std::micro>;
    // Rates are already scaled; the fixed base latency is scaled here.
    const Micros prefill((sh_->base_latency_ms / o.rate_scale +
                          1000.0 * static_cast<double>(prompt_tokens) / sh_->prefill_tps) *
                         1000.0);
    const Micros per_token(1e6 / sh_->decode_tps + fault.slow_ms * 1000.0);
    auto token_time = [&](std::int64_t i) {
      return start + std::chrono::duration_cast<Clock::duration>(
                         prefill + per_token * static_cast<double>(i));
    };
    const std::int64_t stop_at =
        fault.stall_after >= 0
            ? std::min<std::int64_t>(fault.stall_after, n_tokens)
            : (fault.drop_after >= 0 ? std::min<std::int64_t>(fault.drop_after, n_tokens) : -1);

    answer_id_ = "chatcmpl-sim-" + Hex64(hash);
    created_ = UnixSeconds();

    if (!info->stream) {
      if (stop_at >= 0) {
        if (!co_await WaitUntil(token_time(stop_at))) co_return false;
        if (fault.stall_after >= 0) co_await HoldUntilClosed();
        co_return false;
      }
      if (!co_await WaitUntil(token_time(n_tokens))) co_return false;
      std::string text;
      for (const std::string& t : tokens) text += t;
      JsonWriter j;
      BeginAnswer(j, "chat.completion");
      j.Key("choices")
          .BeginArray()
          .BeginObject()
          .IntMember("index", 0)
          .Key("message")
          .BeginObject()
          .Member("role", "assistant")
          .Member("content", text)
          .EndObject()
          .Member("finish_reason", finish)
          .EndObject()
          .EndArray();
      if (!fault.no_usage) Usage(j, prompt_tokens, n_tokens);
      const std::string json = j.EndObject().Take();
      stats.tokens_out.fetch_add(static_cast<std::uint64_t>(n_tokens), std::memory_order_relaxed);
      co_return co_await SendJson(200, json, keep_alive);
    }

    stats.streams.fetch_add(1, std::memory_order_relaxed);
    out_.clear();
    http::AppendStatusLine(out_, 200, keep_alive);
    http::AppendHeader(out_, "Content-Type", "text/event-stream");
    http::AppendHeader(out_, "Cache-Control", "no-cache");
    http::AppendHeader(out_, "X-Partita-Simulated", "1");
    http::EndHeadChunked(out_);
    AppendEvent(out_, ChunkJson("assistant", "", ""));
    if (!co_await Write(out_)) co_return false;

    std::int64_t sent = 0;
    while (sent < n_tokens) {
      if (sent == stop_at) break;
      if (!co_await WaitUntil(token_time(sent))) co_return false;
      out_.clear();
      const Clock::time_point now = Clock::now();
      // Every token that is due goes out in one write.
      do {
        AppendEvent(out_, ChunkJson(std::nullopt, tokens[sent], ""));
        ++sent;
        if (fault.bad_sse && sent == 1) http::AppendChunk(out_, "data: {\"choices\": [\n\n");
      } while (sent < n_tokens && sent != stop_at && token_time(sent) <= now);
      if (!co_await Write(out_)) co_return false;
    }
    stats.tokens_out.fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
    if (sent == stop_at) {
      if (fault.stall_after >= 0) co_await HoldUntilClosed();
      co_return false;
    }
    out_.clear();
    AppendEvent(out_, ChunkJson(std::nullopt, std::nullopt, finish));
    if (!fault.no_usage) {
      JsonWriter usage;
      BeginAnswer(usage, "chat.completion.chunk");
      usage.Key("choices").BeginArray().EndArray();
      Usage(usage, prompt_tokens, n_tokens);
      AppendEvent(out_, usage.EndObject().Take());
    }
    AppendEvent(out_, "[DONE]");
    out_ += http::kLastChunk;
    co_return co_await Write(out_);
  }

  net::beast::tcp_stream stream_;
  SharedPtr sh_;
  http::ReadBuffer buffer_;
  http::Request request_;
  std::string out_;
  std::string answer_id_;  // of the answer being sent: "chatcmpl-sim-<hash>"
  std::int64_t created_ = 0;
};

awaitable<void> AcceptLoop(SharedPtr sh) {
  while (!sh->stopped.load()) {
    net::asio::io_context& target = *sh->contexts[sh->next_context++ % sh->contexts.size()];
    auto [ec, socket] = co_await sh->acceptor.async_accept(target, net::use_nothrow_awaitable);
    if (sh->stopped.load()) co_return;
    if (ec) {
      if (ec == net::asio::error::operation_aborted) co_return;
      LogWarn("modeld", "accept failed: " + ec.message());
      net::asio::steady_timer pause(sh->acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(net::use_nothrow_awaitable);
      continue;
    }
    socket.set_option(net::tcp::no_delay(true), ec);
    net::asio::co_spawn(
        target,
        [](net::tcp::socket s, SharedPtr shared) -> awaitable<void> {
          Session session(std::move(s), std::move(shared));
          co_await session.Run();
        }(std::move(socket), sh),
        net::asio::detached);
  }
}

}  // namespace

ModelServer::ModelServer(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

ModelServer::~ModelServer() { Stop(); }

Result<std::unique_ptr<ModelServer>> ModelServer::Create(
    std::vector<net::asio::io_context*> contexts, ModelServerOptions options, CatalogPtr catalog) {
  if (contexts.empty()) return InvalidArgument("modeld needs at least one io_context");
  if (!catalog) return InvalidArgument("modeld needs a catalog");
  if (!(options.rate_scale > 0)) return InvalidArgument("--rate-scale must be greater than 0");
  std::optional<ModelIndex> model = catalog->FindModel(options.model);
  if (!model) {
    std::string names;
    for (std::string_view n : catalog->ModelNames())
      names += (names.empty() ? "" : ", ") + std::string(n);
    return NotFound("unknown model '" + options.model + "'; the catalog has: " + names);
  }
  const ModelRuntime* runtime = nullptr;
  std::string source;
  if (!options.device.empty()) {
    std::optional<DeviceClassIndex> d = catalog->FindDevice(options.device);
    if (!d) return NotFound("unknown device class '" + options.device + "'");
    runtime = catalog->device(*d).RuntimeFor(*model);
    if (runtime == nullptr) {
      return NotFound("model '" + options.model + "' does not run on device class '" +
                      options.device + "' in the catalog");
    }
    source = options.device;
  } else if ((runtime = catalog->cloud().RuntimeFor(*model)) != nullptr) {
    source = "cloud";
  } else {
    for (const DeviceClass& d : catalog->devices()) {
      if ((runtime = d.RuntimeFor(*model)) != nullptr) {
        source = d.name;
        break;
      }
    }
  }
  if (runtime == nullptr || runtime->prefill_tokens_per_s <= 0 ||
      runtime->decode_tokens_per_s <= 0) {
    return NotFound("model '" + options.model + "' has no runtime with rates in the catalog");
  }
  auto shared = std::make_shared<Shared>(*contexts.front());
  shared->contexts = std::move(contexts);
  shared->served_name = options.model + " (simulated)";
  shared->source = source;
  shared->prefill_tps = runtime->prefill_tokens_per_s * options.rate_scale;
  shared->decode_tps = runtime->decode_tokens_per_s * options.rate_scale;
  shared->base_latency_ms = catalog->model(*model).base_latency_ms;
  shared->fault = options.fault;
  shared->options = std::move(options);

  error_code ec;
  net::tcp::acceptor& a = shared->acceptor;
  const net::tcp::endpoint& ep = shared->options.endpoint;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + ep.address().to_string() + ":" +
                       std::to_string(ep.port()) + ": " + ec.message());
  }
  return std::unique_ptr<ModelServer>(new ModelServer(std::move(shared)));
}

net::tcp::endpoint ModelServer::local_endpoint() const {
  error_code ec;
  return shared_->acceptor.local_endpoint(ec);
}

void ModelServer::Start() {
  net::asio::co_spawn(shared_->acceptor.get_executor(), AcceptLoop(shared_), net::asio::detached);
}

void ModelServer::Stop() {
  shared_->stopped.store(true);
  net::asio::post(shared_->acceptor.get_executor(), [s = shared_] {
    error_code ignored;
    s->acceptor.close(ignored);
  });
}

void ModelServer::SetFault(const FaultSpec& fault) {
  std::lock_guard<std::mutex> lock(shared_->fault_mu);
  shared_->fault = fault;
}

FaultSpec ModelServer::fault() const { return shared_->CurrentFault(); }
const ModelServerStats& ModelServer::stats() const { return shared_->stats; }
const std::string& ModelServer::model() const { return shared_->options.model; }
std::string ModelServer::served_name() const { return shared_->served_name; }
double ModelServer::prefill_tokens_per_s() const { return shared_->prefill_tps; }
double ModelServer::decode_tokens_per_s() const { return shared_->decode_tps; }
std::string ModelServer::rates_source() const { return shared_->source; }

}  // namespace partita::modeld
