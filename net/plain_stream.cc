#include "net/plain_stream.h"

#include <array>
#include <boost/asio/write.hpp>

namespace partita::net {

PlainStream::PlainStream(tcp::socket socket)
    : deadline_(std::make_shared<Deadline>(std::move(socket))) {}

PlainStream::~PlainStream() {
  deadline_->closed = true;
  deadline_->timer.cancel();
  error_code ignored;
  deadline_->socket.close(ignored);  // now, not when the cancelled wait lets go of it
}

void PlainStream::ExpiresAt(SteadyTime at) {
  Deadline& d = *deadline_;
  d.deadline = at;
  d.expired = false;
  if (at < d.armed) Arm(deadline_, at);
}

void PlainStream::Arm(const std::shared_ptr<Deadline>& d, SteadyTime at) {
  d->armed = at;
  d->timer.expires_at(at);  // cancels the wait for a later time, if any
  d->timer.async_wait([d](const error_code& ec) {
    if (d->closed || ec == asio::error::operation_aborted) return;
    d->armed = SteadyTime::max();
    if (d->deadline == SteadyTime::max()) return;
    if (std::chrono::steady_clock::now() < d->deadline) {
      Arm(d, d->deadline);  // the deadline moved later since the timer was armed
      return;
    }
    d->expired = true;
    error_code ignored;
    d->socket.cancel(ignored);
  });
}

namespace {

void SetDeadline(TlsStream& s, SteadyTime at) {
  if (at == SteadyTime::max()) {
    beast::get_lowest_layer(s).expires_never();
  } else {
    beast::get_lowest_layer(s).expires_at(at);
  }
}

}  // namespace

asio::awaitable<std::pair<error_code, std::size_t>> ReadSome(PlainStream& s, SteadyTime deadline,
                                                             asio::mutable_buffer buffer) {
  s.ExpiresAt(deadline);
  auto [ec, n] = co_await s.socket().async_read_some(buffer, use_nothrow_awaitable);
  if (ec == asio::error::operation_aborted && s.expired()) ec = beast::error::timeout;
  co_return std::pair<error_code, std::size_t>(ec, n);
}

asio::awaitable<std::pair<error_code, std::size_t>> ReadSome(TlsStream& s, SteadyTime deadline,
                                                             asio::mutable_buffer buffer) {
  SetDeadline(s, deadline);
  auto [ec, n] = co_await s.async_read_some(buffer, use_nothrow_awaitable);
  co_return std::pair<error_code, std::size_t>(ec, n);
}

namespace {

// Copies the non-empty buffers into `rest`; false when there are too many.
bool Keep(std::array<asio::const_buffer, PendingWrite::kMaxBuffers>& rest, std::size_t& count,
          std::span<const asio::const_buffer> buffers) {
  count = 0;
  for (const asio::const_buffer& b : buffers) {
    if (b.size() == 0) continue;
    if (count == rest.size()) return false;
    rest[count++] = b;
  }
  return true;
}

}  // namespace

PendingWrite TryWrite(PlainStream& s, std::span<const asio::const_buffer> buffers) {
  PendingWrite w;
  if (!Keep(w.rest_, w.count_, buffers)) {
    w.error_ = asio::error::invalid_argument;
    return w;
  }
  tcp::socket& socket = s.socket();
  error_code& ec = w.error_;
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  while (!ec && w.count_ > 0) {
    std::size_t n = socket.write_some(std::span(w.rest_.data(), w.count_), ec);
    std::size_t first = 0;
    while (first < w.count_ && n >= w.rest_[first].size()) n -= w.rest_[first++].size();
    if (first < w.count_) w.rest_[first] += n;
    std::copy(w.rest_.begin() + static_cast<std::ptrdiff_t>(first),
              w.rest_.begin() + static_cast<std::ptrdiff_t>(w.count_), w.rest_.begin());
    w.count_ -= first;
  }
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return w;
}

PendingWrite TryWrite(TlsStream&, std::span<const asio::const_buffer> buffers) {
  PendingWrite w;
  if (!Keep(w.rest_, w.count_, buffers)) w.error_ = asio::error::invalid_argument;
  return w;
}

asio::awaitable<error_code> FinishWrite(PlainStream& s, SteadyTime deadline, PendingWrite& write) {
  s.ExpiresAt(deadline);
  auto [ec, n] = co_await asio::async_write(s.socket(), std::span(write.rest_.data(), write.count_),
                                            use_nothrow_awaitable);
  if (ec == asio::error::operation_aborted && s.expired()) ec = beast::error::timeout;
  write.count_ = 0;
  co_return ec;
}

asio::awaitable<error_code> FinishWrite(TlsStream& s, SteadyTime deadline, PendingWrite& write) {
  SetDeadline(s, deadline);
  auto [ec, n] = co_await asio::async_write(s, std::span(write.rest_.data(), write.count_),
                                            use_nothrow_awaitable);
  write.count_ = 0;
  co_return ec;
}

}  // namespace partita::net
