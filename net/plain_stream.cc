#include "net/plain_stream.h"

#include <array>
#include <boost/asio/write.hpp>

namespace partita::net {

PlainStream::PlainStream(tcp::socket socket)
    : deadline_(std::make_shared<Deadline>(std::move(socket))) {}

PlainStream::~PlainStream() {
  deadline_->closed = true;
  deadline_->timer.cancel();
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

asio::awaitable<error_code> WriteAll(PlainStream& s, SteadyTime deadline,
                                     std::span<const asio::const_buffer> buffers) {
  constexpr std::size_t kMaxBuffers = 8;
  std::array<asio::const_buffer, kMaxBuffers> rest;
  std::size_t count = 0;
  for (const asio::const_buffer& b : buffers) {
    if (b.size() == 0) continue;
    if (count == kMaxBuffers) co_return asio::error::invalid_argument;
    rest[count++] = b;
  }
  tcp::socket& socket = s.socket();
  error_code ec;
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  // Most responses fit in the socket buffer: write now, wait only for what it did not take.
  while (!ec && count > 0) {
    std::size_t n = socket.write_some(std::span(rest.data(), count), ec);
    std::size_t first = 0;
    while (first < count && n >= rest[first].size()) n -= rest[first++].size();
    if (first < count) rest[first] += n;
    std::copy(rest.begin() + static_cast<std::ptrdiff_t>(first),
              rest.begin() + static_cast<std::ptrdiff_t>(count), rest.begin());
    count -= first;
  }
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    s.ExpiresAt(deadline);
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket, std::span(rest.data(), count), use_nothrow_awaitable);
    if (ec == asio::error::operation_aborted && s.expired()) ec = beast::error::timeout;
  }
  co_return ec;
}

asio::awaitable<error_code> WriteAll(TlsStream& s, SteadyTime deadline,
                                     std::span<const asio::const_buffer> buffers) {
  SetDeadline(s, deadline);
  auto [ec, n] = co_await asio::async_write(s, buffers, use_nothrow_awaitable);
  co_return ec;
}

}  // namespace partita::net
