// Waits, from a test, until a server has read everything a client sent on one loopback TCP
// connection: the server side's receive queue (Linux /proc/net/tcp) is empty. Tests use it to
// make a server see two writes as two reads, instead of sleeping between them.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace partita::testing {

// Bytes waiting in the receive queue of the IPv4 socket whose local port is `local_port` and
// remote port `remote_port` (both on 127.0.0.1); nullopt when there is no such socket.
inline std::optional<std::uint64_t> ReceiveQueueBytes(std::uint16_t local_port,
                                                      std::uint16_t remote_port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the header
  char local[16];
  char remote[16];
  std::snprintf(local, sizeof local, "0100007F:%04X", local_port);
  std::snprintf(remote, sizeof remote, "0100007F:%04X", remote_port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state, queues;
    fields >> slot >> local_address >> remote_address >> state >> queues;
    if (local_address != local || remote_address != remote) continue;
    const std::size_t colon = queues.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::stoull(queues.substr(colon + 1), nullptr, 16);
  }
  return std::nullopt;
}

// True once the server side of the connection (server_port <- client_port) has an empty
// receive queue, or is gone (the server closed it); false if it still holds bytes after `limit`.
inline bool WaitReceiveQueueDrained(std::uint16_t server_port, std::uint16_t client_port,
                                    std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const std::optional<std::uint64_t> queued = ReceiveQueueBytes(server_port, client_port);
    if (!queued || *queued == 0) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
}

}  // namespace partita::testing
