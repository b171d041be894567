// The agent's local socket for apps: the SDK connects to this unix socket and sends
// AskRequest frames; each gets AskChunk frames (when streaming) and a final AskResult.
// The socket file is created mode 0660 (the agent's user and group); a stale file left by a
// dead agent is replaced, a live one is an error. Runs on the agent's io_context thread.
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

 private:
  AppServer(asio::io_context& io, std::string path, Handler handler);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(net::unix_socket::socket socket);

  asio::io_context& io_;
  std::string path_;
  Handler handler_;
  net::unix_socket::acceptor acceptor_;
  std::shared_ptr<bool> alive_;
};

}  // namespace partita::agent
