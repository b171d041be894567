// A TCP connection for request/response hot paths (the gateway's plaintext front, the chat
// client's plain upstreams), and the same read/write calls over a TLS stream, so one session or
// client template serves both.
//
// PlainStream keeps its deadline lazily: one timer per connection, armed for the earliest
// deadline asked for and moved only when a caller asks for an earlier one, so a read or write
// costs a clock read, not a timer operation (Beast's tcp_stream schedules and cancels a timer
// per operation). Writes are tried at once and wait only for what the socket buffer did not
// take. An operation cut by its deadline fails with beast::error::timeout, as over a TlsStream.
//
// Threading: a PlainStream belongs to its executor's thread, like the socket in it. It must not
// move once constructed (its deadline refers to its socket).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <utility>

#include "net/asio.h"

namespace partita::net {

using SteadyTime = std::chrono::steady_clock::time_point;

class PlainStream {
 public:
  explicit PlainStream(tcp::socket socket);
  explicit PlainStream(const asio::any_io_executor& executor)
      : PlainStream(tcp::socket(executor)) {}
  ~PlainStream();
  PlainStream(const PlainStream&) = delete;
  PlainStream& operator=(const PlainStream&) = delete;

  tcp::socket& socket() { return deadline_->socket; }

  // Operations after this time are cancelled and fail with beast::error::timeout.
  void ExpiresAt(SteadyTime at);
  void ExpiresNever() { ExpiresAt(SteadyTime::max()); }
  // The deadline passed (since the last ExpiresAt) and the socket's operations were cancelled.
  bool expired() const { return deadline_->expired; }

 private:
  struct Deadline {
    explicit Deadline(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
    SteadyTime deadline = SteadyTime::max();
    SteadyTime armed = SteadyTime::max();  // when the timer fires; max: not waiting
    bool expired = false;
    bool closed = false;  // the stream is gone: a late expiry touches nothing
  };
  static void Arm(const std::shared_ptr<Deadline>& d, SteadyTime at);

  std::shared_ptr<Deadline> deadline_;  // shared with the pending timer wait
};

// Reads what is available (at least one byte) into `buffer` before `deadline`.
asio::awaitable<std::pair<error_code, std::size_t>> ReadSome(PlainStream& s, SteadyTime deadline,
                                                             asio::mutable_buffer buffer);
asio::awaitable<std::pair<error_code, std::size_t>> ReadSome(TlsStream& s, SteadyTime deadline,
                                                             asio::mutable_buffer buffer);

// Writes all of `buffers` before `deadline`.
asio::awaitable<error_code> WriteAll(PlainStream& s, SteadyTime deadline,
                                     std::span<const asio::const_buffer> buffers);
asio::awaitable<error_code> WriteAll(TlsStream& s, SteadyTime deadline,
                                     std::span<const asio::const_buffer> buffers);

inline tcp::socket& Socket(PlainStream& s) { return s.socket(); }
inline tcp::socket& Socket(TlsStream& s) { return beast::get_lowest_layer(s).socket(); }

// Cancels the stream's pending operations (they fail with operation_aborted).
inline void Cancel(PlainStream& s) { s.socket().cancel(); }
inline void Cancel(TlsStream& s) { beast::get_lowest_layer(s).cancel(); }

}  // namespace partita::net
