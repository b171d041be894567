#include "backends/chat_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/parser.h"
#include "net/plain_stream.h"
#include "net/tls_listener.h"

namespace partita::backends {

using Clock = std::chrono::steady_clock;
using net::error_code;
using net::asio::awaitable;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kErrorBodyLimit = 64 * 1024;
// After [DONE], how long to wait for the end of the HTTP message (to reuse the connection).
constexpr std::chrono::milliseconds kAfterDoneWait{1000};

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool ConnectionClosed(const error_code& ec) {
  return ec == net::asio::error::connection_reset || ec == net::asio::error::broken_pipe ||
         ec == net::asio::error::eof || ec == net::asio::ssl::error::stream_truncated;
}

// Points `head`'s views, parsed from bytes at `from`, at the same bytes copied to `to`.
void Rebase(http::ResponseHead& head, const char* from, const char* to) {
  auto move = [&](std::string_view& v) {
    if (!v.empty()) v = std::string_view(to + (v.data() - from), v.size());
  };
  move(head.reason);
  for (std::size_t i = 0; i < head.header_count; ++i) {
    move(head.headers[i].name);
    move(head.headers[i].value);
  }
}

}  // namespace

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone: return "none";
    case ErrorKind::kRefused: return "refused";
    case ErrorKind::kErrorStatus: return "error_status";
    case ErrorKind::kNoFirstToken: return "no_first_token";
    case ErrorKind::kStalled: return "stalled";
    case ErrorKind::kDeadline: return "deadline";
    case ErrorKind::kBudget: return "budget";
    case ErrorKind::kStreamError: return "stream_error";
    case ErrorKind::kDisconnected: return "disconnected";
    case ErrorKind::kMalformed: return "malformed";
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kCount: break;
  }
  return "none";
}

Result<net::TlsContextPtr> MakePublicTlsContext(const std::string& ca_file) {
  auto ctx = std::make_shared<net::asio::ssl::context>(net::asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return InvalidArgument("cannot load CA certificates" +
                           (ca_file.empty() ? std::string() : " from '" + ca_file + "'") + ": " +
                           ec.message());
  }
  ctx->set_verify_mode(net::asio::ssl::verify_peer);
  return net::TlsContextPtr(ctx);
}

// ---------------------------------------------------------------------------------------------
// Connections

struct ChatClient::Connection {
  std::optional<net::PlainStream> tcp;
  std::optional<net::TlsStream> tls;
  http::ReadBuffer buffer;  // received, not yet parsed
  Clock::time_point idle_since;

  // Calls `f` with the stream to read and write (TLS or plain).
  template <typename F>
  auto With(F&& f) {
    return tls ? f(*tls) : f(*tcp);
  }
  void Cancel() { tls ? net::Cancel(*tls) : net::Cancel(*tcp); }
  void ExpiresNever() {
    if (tls) {
      net::beast::get_lowest_layer(*tls).expires_never();
    } else {
      tcp->ExpiresNever();
    }
  }
};

struct ChatCall::Impl {
  enum class Framing : std::uint8_t { kLength, kChunked, kUntilClose };

  std::unique_ptr<ChatClient::Connection> conn;
  std::string head;           // the request head
  std::string response_head;  // the response head's bytes; `response` points into them
  http::ResponseHead response;
  Framing framing = Framing::kLength;
  std::uint64_t body_left = 0;  // kLength
  http::ChunkedDecoder chunked;
  std::string body_error;  // why the body's framing is bad
  std::string decoded;     // body bytes on their way to `sse`
  SseParser sse;
  SseEvent event;
  ChunkInfo info;
  StreamChunk chunk;
  Timeouts timeouts;
  Clock::time_point start;
  Clock::time_point total_deadline;
  Clock::time_point header_deadline;  // for the request's bytes and the response head
  bool header_total_bound = false;    // header_deadline is the total deadline
  bool body_done = false;
  bool body_broken = false;  // the body's framing or events went bad (body_error says how)
  net::PendingWrite write;   // what the socket did not take of the request at once
  std::string why;           // why the response head is malformed

  explicit Impl(const SseLimits& limits) : sse(limits) {}

  // Reads more bytes from the server into conn->buffer. A body without a length or chunks ends
  // where the server closes the connection cleanly (a reset or a TLS truncation is an error).
  awaitable<error_code> ReadMore(Clock::time_point deadline) {
    const std::span<char> space = conn->buffer.Prepare(kReadChunk);
    auto [ec, n] = co_await conn->With([&](auto& s) {
      return net::ReadSome(s, deadline, net::asio::buffer(space.data(), space.size()));
    });
    conn->buffer.Commit(n);
    if (ec == net::asio::error::eof && framing == Framing::kUntilClose) {
      body_done = true;
      ec = {};
    }
    co_return ec;
  }

  // Moves the body bytes that have arrived from conn->buffer to `out`. False on bad framing
  // (body_error says why).
  bool TakeBody(std::string& out) {
    http::ReadBuffer& in = conn->buffer;
    switch (framing) {
      case Framing::kLength: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(body_left, in.size()));
        out.append(in.data().substr(0, n));
        in.Consume(n);
        body_left -= n;
        if (body_left == 0) body_done = true;
        return true;
      }
      case Framing::kChunked: {
        std::size_t used = 0;
        const http::ChunkedDecoder::Result r = chunked.Decode(in.data(), out, used);
        in.Consume(used);
        if (r == http::ChunkedDecoder::Result::kError) {
          body_error = chunked.error();
          return false;
        }
        if (r == http::ChunkedDecoder::Result::kDone) body_done = true;
        return true;
      }
      case Framing::kUntilClose:
        out.append(in.data());
        in.Clear();
        return true;
    }
    return true;
  }

  // Feeds what is buffered of the body to `sse`, without reading the network (so that
  // buffered() knows every complete event that has arrived). On bad framing or SSE the events
  // before the fault stay queued, the connection is dropped and body_broken is set.
  void DrainBuffered() {
    decoded.clear();
    const bool framed = TakeBody(decoded);
    if (!decoded.empty() && !sse.Feed(decoded)) body_error = sse.error();
    if (!framed || !body_error.empty()) {
      body_broken = true;
      conn.reset();
    }
  }
};

ChatCall::ChatCall(ChatClient& client) : client_(client), impl_(client.TakeImpl()) {}

ChatCall::~ChatCall() {
  impl_->conn.reset();  // a connection not released to the pool closes here
  client_.ReturnImpl(std::move(impl_));
}

std::string_view ChatCall::header(std::string_view name) const {
  return impl_->response.Find(name);
}

bool ChatCall::buffered() const { return impl_->sse.queued() > 0 || impl_->body_done; }

void ChatCall::Cancel() {
  if (finished_) return;
  cancelled_ = true;
  if (error_.kind == ErrorKind::kNone) {  // whatever the cancelled operation reports next
    error_.kind = ErrorKind::kDisconnected;
    error_.message = "cancelled";
    error_.after_first_token = stats_.content_chunks > 0;
  }
  if (impl_->conn) impl_->conn->Cancel();
}

void ChatCall::Fail(ErrorKind kind, std::string message) {
  if (error_.kind == ErrorKind::kNone) {
    error_.kind = kind;
    error_.message = std::move(message);
    error_.after_first_token = stats_.content_chunks > 0;
  }
  finished_ = true;
  stats_.elapsed = Since(impl_->start);
  impl_->conn.reset();
}

void ChatCall::Finish() {
  finished_ = true;
  stats_.elapsed = Since(impl_->start);
  if (impl_->conn && impl_->body_done && impl_->response.keep_alive &&
      impl_->framing != Impl::Framing::kUntilClose && impl_->conn->buffer.empty()) {
    client_.Release(std::move(impl_->conn));
  }
  impl_->conn.reset();
}

awaitable<const StreamChunk*> ChatCall::Next() {
  Impl& im = *impl_;
  if (!streaming_ || finished_) co_return nullptr;
  for (;;) {
    if (im.sse.Next(im.event)) {
      if (done_seen_) continue;  // events after [DONE] are ignored
      std::string why;
      if (!ParseStreamChunk(im.event.data, im.info, &why)) {
        Fail(ErrorKind::kMalformed, "bad stream event: " + why);
        co_return nullptr;
      }
      if (im.info.error || im.event.event == "error") {
        ApiError e = im.info.error.value_or(ApiError{});
        const bool budget = e.code == "budget_exceeded";
        error_.code = e.code;
        Fail(budget ? ErrorKind::kBudget : ErrorKind::kStreamError,
             "the server ended the stream with an error" +
                 (e.code.empty() ? std::string() : " (" + e.code + ")") +
                 (e.message.empty() ? std::string() : ": " + e.message));
        co_return nullptr;
      }
      if (!im.info.model.empty() && stats_.model.empty()) stats_.model = im.info.model;
      if (im.info.usage) stats_.usage = im.info.usage;
      if (!im.info.finish_reason.empty()) stats_.finish_reason = im.info.finish_reason;
      im.chunk.first_token = false;
      if (!im.info.content.empty()) {
        if (stats_.content_chunks == 0) {
          stats_.ttft = Since(im.start);
          im.chunk.first_token = true;
        }
        ++stats_.content_chunks;
      }
      if (im.info.done) {
        done_seen_ = true;
        if (!im.body_broken) im.DrainBuffered();
      }
      im.chunk.data = im.event.data;
      im.chunk.info = &im.info;
      co_return &im.chunk;
    }
    if (im.body_broken) {
      if (done_seen_) {  // what follows [DONE] does not matter; the connection is dropped
        Finish();
      } else {
        Fail(ErrorKind::kMalformed, "bad event stream: " + im.body_error);
      }
      co_return nullptr;
    }
    if (im.body_done) {
      if (!im.sse.Finish()) {
        Fail(ErrorKind::kMalformed, "bad event stream: " + im.sse.error());
        co_return nullptr;
      }
      if (im.sse.queued() > 0) continue;
      if (!done_seen_ && stats_.finish_reason.empty()) {
        Fail(ErrorKind::kMalformed, "the stream ended without [DONE] or a finish reason");
        co_return nullptr;
      }
      Finish();
      co_return nullptr;
    }

    const Clock::time_point now = Clock::now();
    Clock::time_point deadline = stats_.content_chunks == 0 ? im.start + im.timeouts.first_token
                                                            : now + im.timeouts.between_chunks;
    if (done_seen_) deadline = now + kAfterDoneWait;
    const bool total_bound = im.total_deadline <= deadline;
    if (total_bound) deadline = im.total_deadline;
    if (cancelled_) {
      Fail(ErrorKind::kDisconnected, "cancelled");
      co_return nullptr;
    }
    const error_code ec = co_await im.ReadMore(deadline);
    if (cancelled_) {
      Fail(ErrorKind::kDisconnected, "cancelled");
      co_return nullptr;
    }
    if (ec) {
      if (done_seen_) {  // the answer is complete; only the connection is not reusable
        im.conn.reset();
        Finish();
        co_return nullptr;
      }
      if (ec == net::beast::error::timeout) {
        if (total_bound) {
          Fail(ErrorKind::kDeadline, "the response did not finish within " +
                                         std::to_string(im.timeouts.total.count()) + " ms");
        } else if (stats_.content_chunks == 0) {
          Fail(ErrorKind::kNoFirstToken,
               "no first token within " + std::to_string(im.timeouts.first_token.count()) + " ms");
        } else {
          Fail(ErrorKind::kStalled, "no event for " +
                                        std::to_string(im.timeouts.between_chunks.count()) +
                                        " ms after the last one");
        }
      } else if (ConnectionClosed(ec)) {
        Fail(ErrorKind::kDisconnected,
             "the connection closed in the middle of the stream (" + ec.message() + ")");
      } else {
        Fail(ErrorKind::kDisconnected, "reading the stream failed: " + ec.message());
      }
      co_return nullptr;
    }
    im.DrainBuffered();
  }
}

// ---------------------------------------------------------------------------------------------
// Client

namespace {

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
};

Result<ParsedUrl> ParseUrl(std::string_view url) {
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) {
    return InvalidArgument("URL '" + std::string(url) + "' must not contain spaces or line breaks");
  }
  ParsedUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgument("URL '" + std::string(url) +
                           "' must start with http:// or https:// (e.g. http://127.0.0.1:8080/v1)");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty()) return InvalidArgument("URL '" + std::string(url) + "' has no host");
  const bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string_view::npos
                                                   : authority.find(':') != std::string_view::npos;
  if (has_port) {
    Result<std::pair<std::string, std::uint16_t>> hp = net::SplitHostPort(authority);
    if (!hp.ok())
      return InvalidArgument("URL '" + std::string(url) + "': " + hp.status().message());
    out.host = hp->first;
    out.port = hp->second;
  } else {
    if (authority.starts_with('[') && authority.ends_with(']')) {
      authority = authority.substr(1, authority.size() - 2);
    }
    out.host = std::string(authority);
    out.port = out.tls ? 443 : 80;
  }
  if (out.port == 0) return InvalidArgument("URL '" + std::string(url) + "' has port 0");
  if (path.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgument("URL '" + std::string(url) + "' must not have a query or fragment");
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with("/chat/completions")) {
    out.target = std::string(path);
  } else if (path.empty()) {
    out.target = "/v1/chat/completions";
  } else {
    out.target = std::string(path) + "/chat/completions";
  }
  return out;
}

bool IsIpAddress(const std::string& host) {
  error_code ec;
  net::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Status CheckEndpointUrl(std::string_view url) { return ParseUrl(url).status(); }

ChatClient::ChatClient(net::asio::any_io_executor executor, ClientConfig config)
    : executor_(std::move(executor)), config_(std::move(config)) {}

ChatClient::~ChatClient() = default;

Result<std::unique_ptr<ChatClient>> ChatClient::Create(net::asio::any_io_executor executor,
                                                       ClientConfig config) {
  Result<ParsedUrl> url = ParseUrl(config.url);
  if (!url.ok()) return url.status();
  for (const auto& [name, value] : config.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      return InvalidArgument("header '" + name + "' has an invalid name or value");
    }
  }
  if (HasLineBreak(config.api_key)) return InvalidArgument("the API key contains a line break");
  if (url->tls && !config.tls) {
    Result<net::TlsContextPtr> ctx = MakePublicTlsContext();
    if (!ctx.ok()) return ctx.status();
    config.tls = *ctx;
    config.verify_host_name = true;
  }
  std::unique_ptr<ChatClient> client(new ChatClient(std::move(executor), std::move(config)));
  client->tls_ = url->tls;
  client->host_ = url->host;
  client->port_ = url->port;
  const bool v6 = client->host_.find(':') != std::string::npos;
  client->authority_ = (v6 ? "[" + client->host_ + "]" : client->host_);
  if (client->port_ != (url->tls ? 443 : 80)) {
    client->authority_ += ":" + std::to_string(client->port_);
  }
  std::string& p = client->request_prefix_;
  p = "POST " + url->target + " HTTP/1.1\r\nHost: " + client->authority_ +
      "\r\nUser-Agent: partita\r\nContent-Type: application/json\r\n";
  if (!client->config_.api_key.empty()) {
    p += "Authorization: Bearer " + client->config_.api_key + "\r\n";
  }
  for (const auto& [name, value] : client->config_.headers) p += name + ": " + value + "\r\n";
  return client;
}

std::size_t ChatClient::idle_connections() const { return idle_.size(); }

void ChatClient::CloseIdle() { idle_.clear(); }

std::unique_ptr<ChatCall::Impl> ChatClient::TakeImpl() {
  if (spare_impls_.empty()) return std::make_unique<ChatCall::Impl>(config_.sse_limits);
  std::unique_ptr<ChatCall::Impl> impl = std::move(spare_impls_.back());
  spare_impls_.pop_back();
  return impl;
}

void ChatClient::ReturnImpl(std::unique_ptr<ChatCall::Impl> impl) {
  constexpr std::size_t kMaxSpare = 64;
  if (spare_impls_.size() >= kMaxSpare) return;
  impl->head.clear();
  impl->response.header_count = 0;  // not `= {}`: that rewrites its 64 header slots
  impl->response.status = 0;
  impl->response.reason = {};
  impl->framing = ChatCall::Impl::Framing::kLength;
  impl->body_left = 0;
  impl->chunked.Reset();
  impl->body_error.clear();
  impl->sse.Reset();
  impl->info.Clear();
  impl->chunk = StreamChunk{};
  impl->body_done = false;
  impl->body_broken = false;
  spare_impls_.push_back(std::move(impl));
}

void ChatClient::Release(std::unique_ptr<Connection> connection) {
  if (idle_.size() >= config_.max_idle_connections) return;
  connection->ExpiresNever();
  connection->idle_since = Clock::now();
  idle_.push_back(std::move(connection));
}

awaitable<std::unique_ptr<ChatClient::Connection>> ChatClient::Connect(Clock::time_point deadline,
                                                                       CallError& error) {
  const std::string where = authority_;
  auto conn = std::make_unique<Connection>();
  conn->buffer.Prepare(kReadChunk);              // typical responses arrive in one read
  net::beast::tcp_stream connecting(executor_);  // connects (and handshakes) under a deadline
  connecting.expires_at(deadline);
  error_code ec;
  if (IsIpAddress(host_)) {
    const net::tcp::endpoint ep(net::asio::ip::make_address(host_), port_);
    std::tie(ec) = co_await connecting.async_connect(ep, net::use_nothrow_awaitable);
  } else {
    net::tcp::resolver resolver(executor_);
    auto [rec, results] =
        co_await resolver.async_resolve(host_, std::to_string(port_), net::use_nothrow_awaitable);
    if (rec) {
      error = {ErrorKind::kRefused, 0, "", "cannot resolve '" + host_ + "': " + rec.message()};
      co_return nullptr;
    }
    net::tcp::endpoint ignored;
    std::tie(ec, ignored) = co_await connecting.async_connect(results, net::use_nothrow_awaitable);
  }
  if (ec) {
    error = {ErrorKind::kRefused, 0, "",
             ec == net::beast::error::timeout ? "connect to " + where + " timed out"
                                              : "cannot connect to " + where + ": " + ec.message()};
    co_return nullptr;
  }
  error_code ignored;
  connecting.socket().set_option(net::tcp::no_delay(true), ignored);
  if (!tls_) {
    conn->tcp.emplace(connecting.release_socket());
  } else {
    conn->tls.emplace(std::move(connecting), *config_.tls);
    SSL* ssl = conn->tls->native_handle();
    if (!IsIpAddress(host_)) SSL_set_tlsext_host_name(ssl, host_.c_str());
    if (config_.verify_host_name) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (IsIpAddress(host_)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str());
      } else {
        SSL_set1_host(ssl, host_.c_str());
      }
    }
    auto [hec] = co_await conn->tls->async_handshake(net::asio::ssl::stream_base::client,
                                                     net::use_nothrow_awaitable);
    if (hec) {
      error = {ErrorKind::kRefused, 0, "",
               hec == net::beast::error::timeout ? "TLS handshake with " + where + " timed out"
                                                 : "TLS handshake with " + where + " failed: " +
                                                       net::DescribeHandshakeFailure(hec, ssl)};
      co_return nullptr;
    }
  }
  ++stats_.connects;
  co_return conn;
}

// Start() is split so that each coroutine frame stays under the size Asio recycles (about
// 1 KB): what does not wait runs in plain functions, and the per-call scratch lives in Impl.
awaitable<std::unique_ptr<ChatCall>> ChatClient::Start(std::string_view body, bool stream,
                                                       const Timeouts& timeouts,
                                                       std::span<const Header> headers,
                                                       ChatCall** in_progress) {
  std::unique_ptr<ChatCall> call(new ChatCall(*this));
  if (in_progress != nullptr) *in_progress = call.get();
  if (Prepare(*call, body.size(), stream, timeouts, headers) &&
      co_await SendAndReadHead(*call, body)) {
    switch (TakeHead(*call)) {
      case HeadNext::kErrorBody: co_await ReadErrorBody(*call); break;
      case HeadNext::kWholeBody: co_await ReadWholeBody(*call); break;
      case HeadNext::kDone: break;
    }
  }
  co_return call;
}

bool ChatClient::Prepare(ChatCall& call, std::size_t body_size, bool stream,
                         const Timeouts& timeouts, std::span<const Header> headers) {
  ChatCall::Impl& im = *call.impl_;
  ++stats_.requests;
  im.start = Clock::now();
  im.timeouts = timeouts;
  im.total_deadline = im.start + timeouts.total;

  im.head.reserve(request_prefix_.size() + 96);
  im.head = request_prefix_;
  im.head += stream ? "Accept: text/event-stream\r\n" : "Accept: application/json\r\n";
  for (const auto& [name, value] : headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) {
      call.Fail(ErrorKind::kInvalid, "header '" + std::string(name) + "' is invalid");
      return false;
    }
    im.head.append(name).append(": ").append(value).append("\r\n");
  }
  im.head += "Content-Length: ";
  im.head += std::to_string(body_size);
  im.head += "\r\n\r\n";

  // Response headers come with the first token on streaming servers; non-streaming ones send
  // them with the whole answer.
  im.header_deadline =
      stream ? std::min(im.start + timeouts.first_token, im.total_deadline) : im.total_deadline;
  im.header_total_bound = !stream || im.total_deadline <= im.header_deadline;
  return true;
}

bool ChatClient::TakeIdle(ChatCall::Impl& im, Clock::time_point now) {
  while (!idle_.empty()) {
    std::unique_ptr<Connection> c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->idle_since < config_.idle_timeout) {
      im.conn = std::move(c);
      ++stats_.reused;
      return true;
    }
  }
  return false;
}

// The step of the response head's loop: whether the head is complete (1xx heads skipped), more
// must be read, or it is malformed (im.why says how).
http::Parse ChatClient::ParseHead(ChatCall::Impl& im) {
  for (;;) {
    const http::Parse parsed =
        http::ParseResponseHead(im.conn->buffer.data(), im.response, &im.why);
    if (parsed == http::Parse::kComplete && im.response.status < 200) {
      im.conn->buffer.Consume(im.response.size);
      continue;
    }
    if (parsed == http::Parse::kError) return parsed;
    if (parsed == http::Parse::kComplete ? im.response.size > kHeaderLimit
                                         : im.conn->buffer.size() > kHeaderLimit) {
      im.why = "the response head is larger than " + std::to_string(kHeaderLimit) + " bytes";
      return http::Parse::kError;
    }
    return parsed;
  }
}

void ChatClient::FailHeadRead(ChatCall& call, const error_code& ec) {
  const ChatCall::Impl& im = *call.impl_;
  if (ec != net::beast::error::timeout && !im.conn->buffer.empty()) {
    call.Fail(ErrorKind::kMalformed, authority_ + " closed the connection in the middle of its " +
                                         "response head (" + ec.message() + ")");
  } else if (ec != net::beast::error::timeout) {
    call.Fail(ErrorKind::kRefused,
              authority_ + " closed the connection before responding (" + ec.message() + ")");
  } else if (im.header_total_bound) {
    call.Fail(ErrorKind::kDeadline, "no response from " + authority_ + " within " +
                                        std::to_string(im.timeouts.total.count()) + " ms");
  } else {
    call.Fail(ErrorKind::kNoFirstToken, "no response from " + authority_ + " within " +
                                            std::to_string(im.timeouts.first_token.count()) +
                                            " ms");
  }
}

awaitable<bool> ChatClient::SendAndReadHead(ChatCall& call, std::string_view body) {
  ChatCall::Impl& im = *call.impl_;
  for (int attempt = 0;; ++attempt) {
    // No head yet: header() must not read the views of a head whose connection is gone.
    im.response.header_count = 0;
    // The first attempt starts with the call; a retry may come long after.
    const bool reused = TakeIdle(im, attempt == 0 ? im.start : Clock::now());
    if (!reused) {
      im.conn = co_await Connect(std::min(Clock::now() + im.timeouts.connect, im.total_deadline),
                                 call.error_);
      if (!im.conn) {
        call.finished_ = true;
        call.stats_.elapsed = Since(im.start);
        co_return false;
      }
    }
    if (call.cancelled_) {  // while it connected
      call.Fail(ErrorKind::kDisconnected, "cancelled");
      co_return false;
    }
    call.stats_.reused_connection = reused;
    const bool may_retry = reused && attempt == 0;

    im.write = im.conn->With([&](auto& s) {
      const std::array<net::asio::const_buffer, 2> out{net::asio::buffer(im.head),
                                                       net::asio::buffer(body.data(), body.size())};
      return net::TryWrite(s, out);
    });
    error_code ec = im.write.error();
    if (im.write.pending()) {
      ec = co_await im.conn->With(
          [&](auto& s) { return net::FinishWrite(s, im.header_deadline, im.write); });
    }
    if (ec) {
      if (may_retry && ec != net::beast::error::timeout) {
        ++stats_.stale_retries;
        im.conn.reset();
        continue;
      }
      call.Fail(ec == net::beast::error::timeout ? ErrorKind::kDeadline : ErrorKind::kRefused,
                "cannot send the request to " + authority_ + ": " + ec.message());
      co_return false;
    }

    http::Parse parsed;
    while ((parsed = ParseHead(im)) == http::Parse::kIncomplete) {
      ec = co_await im.ReadMore(im.header_deadline);
      if (ec) break;
    }
    if (ec) {
      if (may_retry && ConnectionClosed(ec) && im.conn->buffer.empty()) {
        ++stats_.stale_retries;
        im.conn.reset();
        continue;
      }
      im.response.header_count = 0;
      FailHeadRead(call, ec);
      co_return false;
    }
    if (parsed == http::Parse::kError) {
      im.response.header_count = 0;
      call.Fail(ErrorKind::kMalformed, "bad HTTP response from " + authority_ + ": " + im.why);
      co_return false;
    }
    co_return true;
  }
}

ChatClient::HeadNext ChatClient::TakeHead(ChatCall& call) {
  ChatCall::Impl& im = *call.impl_;
  // Keep the head's bytes (header() reads them) and set up the body's framing.
  http::ReadBuffer& in = im.conn->buffer;
  im.response_head.assign(in.data().substr(0, im.response.size));
  Rebase(im.response, in.data().data(), im.response_head.data());
  in.Consume(im.response.size);
  const int status = im.response.status;
  if (status == 204 || status == 304) {
    im.framing = ChatCall::Impl::Framing::kLength;
    im.body_left = 0;
  } else if (im.response.chunked) {
    im.framing = ChatCall::Impl::Framing::kChunked;
  } else if (im.response.has_content_length) {
    im.framing = ChatCall::Impl::Framing::kLength;
    im.body_left = im.response.content_length;
  } else {
    im.framing = ChatCall::Impl::Framing::kUntilClose;
  }
  im.body_done = im.framing == ChatCall::Impl::Framing::kLength && im.body_left == 0;

  call.status_ = status;
  call.simulated_ = call.header("X-Partita-Simulated") == "1";
  if (call.status_ < 200 || call.status_ > 299) return HeadNext::kErrorBody;
  call.streaming_ = call.header("Content-Type").starts_with("text/event-stream");
  if (call.streaming_) {
    im.DrainBuffered();  // a fault there is reported by Next(), after the events before it
    return HeadNext::kDone;
  }
  return HeadNext::kWholeBody;
}

// Reads the (bounded) error body of a non-2xx answer for its message and code.
awaitable<void> ChatClient::ReadErrorBody(ChatCall& call) {
  ChatCall::Impl& im = *call.impl_;
  const Clock::time_point deadline =
      std::min(Clock::now() + im.timeouts.between_chunks, im.total_deadline);
  std::string error_body;
  bool framing_ok = im.TakeBody(error_body);
  while (framing_ok && !im.body_done && error_body.size() <= kErrorBodyLimit) {
    if (co_await im.ReadMore(deadline)) break;
    framing_ok = im.TakeBody(error_body);
  }
  FailWithErrorBody(call, error_body);
}

void ChatClient::FailWithErrorBody(ChatCall& call, std::string_view error_body) {
  const ApiError e = ParseErrorBody(error_body);
  call.error_.http_status = call.status_;
  call.error_.code = e.code;
  const bool budget = e.code == "budget_exceeded";
  std::string message = authority_ + " answered HTTP " + std::to_string(call.status_);
  if (!e.message.empty()) message += ": " + e.message;
  if (call.impl_->body_done) {
    call.error_.kind = budget ? ErrorKind::kBudget : ErrorKind::kErrorStatus;
    call.error_.message = std::move(message);
    call.Finish();
  } else {
    call.Fail(budget ? ErrorKind::kBudget : ErrorKind::kErrorStatus, std::move(message));
  }
}

awaitable<void> ChatClient::ReadWholeBody(ChatCall& call) {
  ChatCall::Impl& im = *call.impl_;
  for (;;) {
    if (!im.TakeBody(call.body_)) {
      call.Fail(ErrorKind::kMalformed, "bad HTTP response: " + im.body_error);
      co_return;
    }
    if (call.body_.size() > config_.max_response_bytes) {
      call.Fail(ErrorKind::kMalformed, "the response body is larger than " +
                                           std::to_string(config_.max_response_bytes) + " bytes");
      co_return;
    }
    if (im.body_done) break;
    const error_code ec = co_await im.ReadMore(im.total_deadline);
    if (ec == net::beast::error::timeout) {
      call.Fail(ErrorKind::kDeadline, "the response did not finish within " +
                                          std::to_string(im.timeouts.total.count()) + " ms");
      co_return;
    }
    if (ec) {
      call.Fail(ErrorKind::kDisconnected,
                "the connection closed in the middle of the response (" + ec.message() + ")");
      co_return;
    }
  }
  FinishCompletion(call);
}

void ChatClient::FinishCompletion(ChatCall& call) {
  Result<CompletionInfo> info = ParseCompletion(call.body_);
  if (!info.ok()) {
    call.Fail(ErrorKind::kMalformed, info.status().message());
    return;
  }
  call.completion_ = std::move(*info);
  call.stats_.usage = call.completion_.usage;
  call.stats_.finish_reason = call.completion_.finish_reason;
  call.stats_.model = call.completion_.model;
  if (!call.completion_.content.empty()) call.stats_.content_chunks = 1;
  call.Finish();
  call.stats_.ttft = call.stats_.elapsed;  // the whole answer came at once
}

awaitable<ChatOutcome> Complete(ChatClient& client, std::string_view body, bool stream,
                                const Timeouts& timeouts, DeltaCallback on_delta) {
  ChatOutcome out;
  std::unique_ptr<ChatCall> call = co_await client.Start(body, stream, timeouts);
  out.http_status = call->http_status();
  out.simulated = call->simulated();
  if (call->ok()) {
    if (!call->streaming()) {
      out.text = call->completion().content;
      if (on_delta && !out.text.empty()) on_delta(out.text);
    } else {
      while (const StreamChunk* chunk = co_await call->Next()) {
        const std::string& piece = chunk->info->content;
        if (piece.empty()) continue;
        out.text += piece;
        if (on_delta) on_delta(piece);
      }
    }
  }
  const CallStats& s = call->stats();
  out.error = call->error();
  out.finish_reason = s.finish_reason;
  out.usage = s.usage;
  out.ttft = s.ttft;
  out.total = s.elapsed;
  out.content_chunks = s.content_chunks;
  out.model = s.model;
  co_return out;
}

}  // namespace partita::backends
