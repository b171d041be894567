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

#include <array>
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

// Starts a read of what is available into `buffer`, with no deadline, calling
// `handler(error_code, std::size_t)` when it completes (for a read that waits alongside other
// work, such as noticing that a peer left). Cancel() ends it with operation_aborted.
template <typename Handler>
void StartReadSome(PlainStream& s, asio::mutable_buffer buffer, Handler&& handler) {
  s.ExpiresNever();
  s.socket().async_read_some(buffer, std::forward<Handler>(handler));
}
template <typename Handler>
void StartReadSome(TlsStream& s, asio::mutable_buffer buffer, Handler&& handler) {
  beast::get_lowest_layer(s).expires_never();
  s.async_read_some(buffer, std::forward<Handler>(handler));
}

// A write in two steps, so that the common case runs no coroutine: TryWrite() writes what the
// socket takes at once; only when something is left does the caller co_await FinishWrite().
class PendingWrite {
 public:
  static constexpr std::size_t kMaxBuffers = 4;
  // Something is left to write (and no error happened).
  bool pending() const { return count_ > 0 && !error_; }
  const error_code& error() const { return error_; }

 private:
  friend PendingWrite TryWrite(PlainStream&, std::span<const asio::const_buffer>);
  friend PendingWrite TryWrite(TlsStream&, std::span<const asio::const_buffer>);
  friend asio::awaitable<error_code> FinishWrite(PlainStream&, SteadyTime, PendingWrite&);
  friend asio::awaitable<error_code> FinishWrite(TlsStream&, SteadyTime, PendingWrite&);
  std::array<asio::const_buffer, kMaxBuffers> rest_;
  std::size_t count_ = 0;
  error_code error_;
};

// At most PendingWrite::kMaxBuffers non-empty buffers. Over TLS nothing is written here.
PendingWrite TryWrite(PlainStream& s, std::span<const asio::const_buffer> buffers);
PendingWrite TryWrite(TlsStream& s, std::span<const asio::const_buffer> buffers);
// Writes the rest before `deadline`.
asio::awaitable<error_code> FinishWrite(PlainStream& s, SteadyTime deadline, PendingWrite& write);
asio::awaitable<error_code> FinishWrite(TlsStream& s, SteadyTime deadline, PendingWrite& write);

// Both steps: writes all of `buffers` before `deadline`.
template <typename Stream>
asio::awaitable<error_code> WriteAll(Stream& s, SteadyTime deadline,
                                     std::span<const asio::const_buffer> buffers) {
  PendingWrite write = TryWrite(s, buffers);
  if (!write.pending()) co_return write.error();
  co_return co_await FinishWrite(s, deadline, write);
}

inline tcp::socket& Socket(PlainStream& s) { return s.socket(); }
inline tcp::socket& Socket(TlsStream& s) { return beast::get_lowest_layer(s).socket(); }

// Cancels the stream's pending operations (they fail with operation_aborted).
inline void Cancel(PlainStream& s) { s.socket().cancel(); }
inline void Cancel(TlsStream& s) { beast::get_lowest_layer(s).cancel(); }

}  // namespace partita::net
