// PlainStream's lazy deadline over real loopback sockets: reads and writes that pass their
// deadline fail with timeout, a deadline moved earlier or later is honoured, and a stream
// destroyed while its timer waits closes its socket at once and leaves nothing behind.
#include "net/plain_stream.h"

#include <doctest/doctest.h>

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "tests/testing/io_thread.h"

namespace partita::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using partita::testing::RunCoroutine;

// A connected pair of loopback sockets on `io`: [0] for the PlainStream, [1] its peer.
std::array<tcp::socket, 2> ConnectedPair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io);
  a.connect(acceptor.local_endpoint());
  tcp::socket b = acceptor.accept();
  return {std::move(a), std::move(b)};
}

asio::awaitable<error_code> ReadOne(PlainStream& s, SteadyTime deadline) {
  char byte = 0;
  auto [ec, n] = co_await ReadSome(s, deadline, asio::buffer(&byte, 1));
  co_return ec;
}

TEST_CASE("Reads fail with timeout at their deadline, whether it moved earlier or later") {
  asio::io_context io;
  auto [mine, peer] = ConnectedPair(io);
  PlainStream stream(std::move(mine));

  // Armed far ahead, then data arrives: no timeout.
  asio::write(peer, asio::buffer("x", 1));
  CHECK_FALSE(RunCoroutine(io, ReadOne(stream, Clock::now() + 60s)));
  // An earlier deadline than the armed one re-arms the timer.
  const auto t0 = Clock::now();
  CHECK(RunCoroutine(io, ReadOne(stream, t0 + 50ms)) == beast::error::timeout);
  CHECK(Clock::now() - t0 >= 50ms);
  CHECK(stream.expired());
  // A later deadline clears the expiry; data then completes the read.
  asio::write(peer, asio::buffer("y", 1));
  CHECK_FALSE(RunCoroutine(io, ReadOne(stream, Clock::now() + 60s)));
  CHECK_FALSE(stream.expired());
  // No deadline at all.
  asio::write(peer, asio::buffer("z", 1));
  CHECK_FALSE(RunCoroutine(io, ReadOne(stream, SteadyTime::max())));
}

TEST_CASE("A write the peer does not read waits for room, then times out") {
  asio::io_context io;
  auto [mine, peer] = ConnectedPair(io);
  PlainStream stream(std::move(mine));
  const std::string small(1000, 's');
  const std::array<asio::const_buffer, 2> two{asio::buffer(small), asio::buffer(small)};
  CHECK_FALSE(RunCoroutine(io, WriteAll(stream, Clock::now() + 1s, two)));
  std::string got(2000, '\0');
  asio::read(peer, asio::buffer(got));
  CHECK(got == small + small);

  const std::string big(64 << 20, 'b');  // far more than both socket buffers hold
  const std::array<asio::const_buffer, 1> one{asio::buffer(big)};
  CHECK(RunCoroutine(io, WriteAll(stream, Clock::now() + 100ms, one)) == beast::error::timeout);
}

TEST_CASE("A stream destroyed while its timer waits closes its socket at once") {
  asio::io_context io;
  auto [mine, peer] = ConnectedPair(io);
  {
    PlainStream stream(std::move(mine));
    stream.ExpiresAt(Clock::now() + 1ms);
  }
  // The socket closed with the stream, before the cancelled wait ran: the peer reads the end.
  char byte = 0;
  error_code ec;
  peer.read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec == asio::error::eof);
  io.run();  // the cancelled wait completes without touching the destroyed stream
  CHECK(io.stopped());
}

}  // namespace
}  // namespace partita::net
