// The agent's local socket for apps: the SDK connects to this unix socket and sends
// AskRequest frames; each gets AskChunk frames (when streaming) and a final AskResult.
// The socket file is created mode 0660 (the agent's user and group); a stale file left by a
// dead agent is replaced, a live one is an error. Runs on the agent's io_context thread.
//
// Graceful stop: after BeginDrain() every new ask (on a new or an existing connection) is
// answered at once with ERROR_OVERLOADED "the agent is shutting down", while asks in progress
// run to the end; in_flight() counts them until their result has been written to the app.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "edge_agent/tiers.h"
#include "net/asio.h"
#include "proto/partita.pb.h"

namespace partita::agent {

class AppServer {
 public:
  using Handler =
      std::function<asio::awaitable<v1::AskResult>(const v1::AskRequest&, const ChunkFn&)>;

  static Result<std::unique_ptr<AppServer>> Create(asio::io_context& io, std::string path,
                                                   Handler handler);
  ~AppServer();
  void Start();
  void Stop();
  void BeginDrain() { draining_ = true; }
  // Asks in progress (their result not yet written). `on_finished` runs each time one finishes.
  int in_flight() const { return in_flight_; }
  void set_on_finished(std::function<void()> on_finished) { on_finished_ = std::move(on_finished); }

 private:
  AppServer(asio::io_context& io, std::string path, Handler handler);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(net::unix_socket::socket socket);

  asio::io_context& io_;
  std::string path_;
  bool owns_path_ = false;  // this server bound the socket file, so Stop() removes it
  Handler handler_;
  net::unix_socket::acceptor acceptor_;
  std::shared_ptr<bool> alive_;
  bool draining_ = false;
  int in_flight_ = 0;
  std::function<void()> on_finished_;
};

}  // namespace partita::agent
