// Common Asio/Beast names used across Partita's networking code.
//
// Threading model: each I/O thread runs its own io_context; a connection lives on the context
// that accepted or opened it and is touched only from that thread (cross-thread work is posted
// with asio::dispatch/post onto the connection's executor). Asio and Beast are compiled once,
// in asio_impl.cc (BOOST_ASIO_SEPARATE_COMPILATION), to keep builds short.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace partita {
namespace asio = boost::asio;
}  // namespace partita

namespace partita::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using error_code = boost::system::error_code;

// A TLS connection over a TCP stream with Beast's connect/handshake timeouts.
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
// A unix-domain stream socket (app <-> agent) with the same close/timeout interface.
using UnixStream = beast::basic_stream<unix_socket>;

// Completion token for coroutines that want (error_code, result...) instead of exceptions.
inline constexpr auto use_nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

}  // namespace partita::net
