#include "edge_agent/app_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "net/framed_connection.h"

namespace partita::agent {

namespace {
constexpr const char* kLog = "agent";
}  // namespace

Result<std::unique_ptr<AppServer>> AppServer::Create(asio::io_context& io, std::string path,
                                                     Handler handler) {
  std::unique_ptr<AppServer> s(new AppServer(io, path, std::move(handler)));
  net::error_code ec;
  // A socket file left by a dead agent (nobody listening) is replaced; one a live agent answers
  // on is not, and neither is anything that is not a socket.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return AlreadyExists("app_socket " + path +
                           " exists and is not a socket; choose another path");
    }
    net::unix_socket::socket probe(io);
    probe.connect(net::unix_socket::endpoint(path), ec);
    if (!ec) {
      return AlreadyExists("another agent is listening on " + path +
                           "; stop it or choose another app_socket");
    }
    if (ec != asio::error::connection_refused) {
      return IoError("cannot tell whether an agent listens on " + path + ": " + ec.message());
    }
    ::unlink(path.c_str());
    ec.clear();
  }
  s->acceptor_.open(net::unix_socket(), ec);
  if (!ec) s->acceptor_.bind(net::unix_socket::endpoint(path), ec);
  s->owns_path_ = !ec;
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IoError("cannot listen on " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0660);
  return s;
}

AppServer::AppServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io),
      path_(std::move(path)),
      handler_(std::move(handler)),
      acceptor_(io),
      alive_(std::make_shared<bool>(true)) {}

AppServer::~AppServer() { Stop(); }

void AppServer::Start() { asio::co_spawn(io_, AcceptLoop(), asio::detached); }

void AppServer::Stop() {
  if (!*alive_) return;
  *alive_ = false;
  net::error_code ignored;
  acceptor_.close(ignored);
  if (owns_path_) ::unlink(path_.c_str());  // never the socket of an agent that refused us
}

asio::awaitable<void> AppServer::AcceptLoop() {
  auto alive = alive_;
  while (*alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow_awaitable);
    if (ec || !*alive) co_return;
    asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> AppServer::Serve(net::unix_socket::socket socket) {
  auto alive = alive_;
  net::FramedConnectionOptions options;
  options.idle_timeout = std::chrono::seconds(60);
  auto conn = std::make_shared<net::FramedConnection<net::UnixStream>>(
      net::UnixStream(std::move(socket)), options);
  conn->Start();
  for (;;) {
    v1::Envelope in;
    const net::error_code ec = co_await conn->Read(in);
    if (ec) {
      if (ec == net::FrameError::kOversize || ec == net::FrameError::kUndecodable) {
        v1::Envelope err;
        err.mutable_error()->set_code(v1::ERROR_BAD_FRAME);
        err.mutable_error()->set_message(ec.message());
        conn->Send(err);
        co_await conn->Flush(std::chrono::milliseconds(200));
        LogWarn(kLog, "app sent a bad frame: " + ec.message());
      }
      break;
    }
    if (!in.has_ask_request()) {
      v1::Envelope err;
      err.mutable_error()->set_code(v1::ERROR_NOT_ALLOWED);
      err.mutable_error()->set_message("apps send AskRequest frames only");
      conn->Send(err);
      break;
    }
    const v1::AskRequest& ask = in.ask_request();
    if (ask.prompt().find_first_not_of(" \t\r\n") == std::string::npos) {
      v1::Envelope err;
      v1::AskResult* r = err.mutable_ask_result();
      r->set_ok(false);
      r->mutable_error()->set_code(v1::ERROR_INVALID_REQUEST);
      r->mutable_error()->set_message("the prompt is empty (or only white space)");
      r->mutable_error()->set_field("prompt");
      conn->Send(err);
      continue;
    }
    if (draining_) {
      v1::Envelope err;
      v1::AskResult* r = err.mutable_ask_result();
      r->set_ok(false);
      r->mutable_error()->set_code(v1::ERROR_OVERLOADED);
      r->mutable_error()->set_message(
          "the agent is shutting down; ask again when it is back (asks already in progress "
          "finish)");
      conn->Send(err);
      break;
    }
    const bool stream = ask.stream();
    ++in_flight_;
    v1::AskResult result = co_await handler_(ask, [&](std::string_view text) {
      if (!stream) return;
      v1::Envelope chunk;
      chunk.mutable_ask_chunk()->set_text(std::string(text));
      conn->Send(chunk);
    });
    v1::Envelope out;
    *out.mutable_ask_result() = std::move(result);
    conn->Send(out);
    // While draining, an ask counts as in progress until its result has reached the app.
    if (draining_) co_await conn->Flush(std::chrono::milliseconds(2000));
    --in_flight_;
    if (on_finished_) on_finished_();
    if (draining_) break;
  }
  co_await conn->Flush(std::chrono::milliseconds(500));
  conn->Close("app done");
}

}  // namespace partita::agent
