// TLS 1.3 mutual authentication and framing over real sockets on loopback.
#include "net/tls.h"

#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>

#include "net/framed_connection.h"
#include "net/pki.h"
#include "net/tls_listener.h"
#include "tests/testing/event_queue.h"
#include "tests/testing/io_thread.h"
#include "tests/testing/temp_dir.h"

namespace partita::net {
namespace {

using namespace std::chrono_literals;
using testing::EventQueue;
using testing::RunCoroutine;

struct Pki {
  testing::TempDir tmp;
  std::string dir = tmp.File("pki");
  std::string foreign_dir = tmp.File("foreign");
  Pki() {
    PkiInitOptions o;
    o.dir = dir;
    o.device_ids = {"speaker"};
    REQUIRE(InitPki(o).ok());
    o.dir = foreign_dir;
    REQUIRE(InitPki(o).ok());
  }
};

std::string SerialOf(X509* cert) {
  if (cert == nullptr) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string SerialOfFile(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::string out = SerialOf(cert);
  X509_free(cert);
  return out;
}

// A router-like echo server: answers Ping with Pong; reports identities and errors.
class EchoServer {
 public:
  explicit EchoServer(const Pki& pki, std::chrono::milliseconds handshake_timeout = 5s) {
    auto tls = MakeServerTlsContext(RouterTlsFiles(pki.dir), {PeerKind::kDevice});
    REQUIRE_MESSAGE(tls.ok(), tls.status().ToString());
    TlsListenerOptions options;
    options.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    options.handshake_timeout = handshake_timeout;
    options.on_refused = [this](HandshakeFailure reason, const std::string&) {
      refused.Push(reason);
    };
    auto listener = TlsListener::Create(
        io_.context(), {&io_.context()}, *tls, options,
        [this](TlsStream s, PeerIdentity peer) { return Serve(std::move(s), std::move(peer)); });
    REQUIRE_MESSAGE(listener.ok(), listener.status().ToString());
    listener_ = std::move(*listener);
    port = listener_->local_endpoint().port();
    asio::post(io_.context(), [this] { listener_->Start(); });
  }
  ~EchoServer() {
    asio::post(io_.context(), [this] { listener_->Stop(); });
    io_.Stop();
  }

  std::uint16_t port = 0;
  EventQueue<std::string> peers;         // identity of each accepted session
  EventQueue<HandshakeFailure> refused;  // each refused handshake
  EventQueue<error_code> read_errors;    // why each session's read loop ended
  EventQueue<std::string> peer_serials;  // the serial of each accepted client certificate

 private:
  asio::awaitable<void> Serve(TlsStream stream, PeerIdentity peer) {
    peers.Push(peer.Uri());
    peer_serials.Push(SerialOf(SSL_get0_peer_certificate(stream.native_handle())));
    FramedConnectionOptions o;
    o.max_frame_bytes = 4096;
    auto conn = std::make_shared<FramedConnection<TlsStream>>(std::move(stream), o);
    conn->Start();
    for (;;) {
      v1::Envelope in;
      error_code ec = co_await conn->Read(in);
      if (ec) {
        v1::Envelope err;
        err.mutable_error()->set_code(v1::ERROR_BAD_FRAME);
        err.mutable_error()->set_message(ec.message());
        conn->Send(err);
        co_await conn->Flush(1s);
        conn->Close(ec.message());
        read_errors.Push(ec);
        co_return;
      }
      if (in.has_ping()) {
        v1::Envelope out;
        out.mutable_pong()->set_nonce(in.ping().nonce());
        conn->Send(out);
      }
    }
  }

  testing::IoThread io_;
  std::unique_ptr<TlsListener> listener_;
};

// Connects as `device` (with `files`), sends one Ping and waits for the reply frame.
asio::awaitable<Result<v1::Envelope>> PingOnce(TlsContextPtr tls, std::uint16_t port,
                                               std::string raw_bytes_instead = "") {
  auto stream = co_await ConnectTls(co_await asio::this_coro::executor, "127.0.0.1", port, tls, 5s);
  if (!stream.ok()) co_return stream.status();
  auto conn =
      std::make_shared<FramedConnection<TlsStream>>(std::move(*stream), FramedConnectionOptions{});
  conn->Start();
  if (raw_bytes_instead.empty()) {
    v1::Envelope ping;
    ping.mutable_ping()->set_nonce(4242);
    conn->Send(ping);
  } else {
    auto [ec, n] = co_await asio::async_write(conn->stream(), asio::buffer(raw_bytes_instead),
                                              use_nothrow_awaitable);
    if (ec) co_return Unavailable(ec.message());
  }
  v1::Envelope reply;
  error_code ec = co_await conn->Read(reply);
  conn->Close("done");
  if (ec) co_return Unavailable("read failed: " + ec.message());
  co_return reply;
}

TEST_CASE("A device and the router exchange frames over TLS 1.3 with mutual authentication") {
  Pki pki;
  EchoServer server(pki);
  auto tls = MakeClientTlsContext(DeviceTlsFiles(pki.dir, "speaker"), {PeerKind::kRouter});
  REQUIRE(tls.ok());
  asio::io_context io;
  Result<v1::Envelope> reply = RunCoroutine(io, PingOnce(*tls, server.port));
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  CHECK(reply->pong().nonce() == 4242);
  CHECK(server.peers.Pop() == std::optional<std::string>("spiffe://partita/device/speaker"));
}

// Connects, pings, and returns the serial of the server's certificate.
asio::awaitable<std::string> ServerSerial(TlsContextPtr tls, std::uint16_t port) {
  auto stream = co_await ConnectTls(co_await asio::this_coro::executor, "127.0.0.1", port, tls, 5s);
  if (!stream.ok()) co_return "";
  std::string serial = SerialOf(SSL_get0_peer_certificate(stream->native_handle()));
  auto conn =
      std::make_shared<FramedConnection<TlsStream>>(std::move(*stream), FramedConnectionOptions{});
  conn->Start();
  v1::Envelope ping;
  ping.mutable_ping()->set_nonce(1);
  conn->Send(ping);
  v1::Envelope reply;
  const error_code ec = co_await conn->Read(reply);
  conn->Close("done");
  co_return ec ? "" : serial;
}

TEST_CASE("Rotated certificates are presented by new connections without a restart") {
  Pki pki;
  EchoServer server(pki);
  auto tls = MakeClientTlsContext(DeviceTlsFiles(pki.dir, "speaker"), {PeerKind::kRouter});
  REQUIRE(tls.ok());
  asio::io_context io;
  const std::string router_before = SerialOfFile(pki.dir + "/router.crt");
  const std::string speaker_before = SerialOfFile(pki.dir + "/devices/speaker.crt");
  CHECK(RunCoroutine(io, ServerSerial(*tls, server.port)) == router_before);
  CHECK(server.peer_serials.Pop() == speaker_before);

  // Both ends get short-lived certificates from the same CA (pki issue --days 1 --force).
  REQUIRE(IssueCertificate(pki.dir, PeerKind::kRouter, "router", 1).ok());
  REQUIRE(IssueCertificate(pki.dir, PeerKind::kDevice, "speaker", 1).ok());
  const std::string router_after = SerialOfFile(pki.dir + "/router.crt");
  const std::string speaker_after = SerialOfFile(pki.dir + "/devices/speaker.crt");
  REQUIRE(router_after != router_before);
  CHECK(ReloadChangedCertificates() >= 2);
  CHECK(RunCoroutine(io, ServerSerial(*tls, server.port)) == router_after);
  CHECK(server.peer_serials.Pop() == speaker_after);

  // A broken replacement (a key that does not match) is refused: the last good pair stays.
  {
    std::ofstream key(pki.dir + "/devices/speaker.key.new");
    std::ifstream other(pki.dir + "/gateway.key");
    key << other.rdbuf();
  }
  std::filesystem::rename(pki.dir + "/devices/speaker.key.new", pki.dir + "/devices/speaker.key");
  ReloadChangedCertificates();
  CHECK(RunCoroutine(io, ServerSerial(*tls, server.port)) == router_after);
  CHECK(server.peer_serials.Pop() == speaker_after);
}

TEST_CASE("A client without a certificate is refused and counted") {
  Pki pki;
  EchoServer server(pki);
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  tls->load_verify_file(pki.dir + "/ca.crt");
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_3_VERSION);
  asio::io_context io;
  Result<v1::Envelope> reply = RunCoroutine(io, PingOnce(tls, server.port));
  CHECK_FALSE(reply.ok());
  CHECK(server.refused.Pop() == std::optional(HandshakeFailure::kNoCertificate));
  CHECK(server.peers.size() == 0);
}

TEST_CASE("A client certificate from another CA is refused") {
  Pki pki;
  EchoServer server(pki);
  TlsFiles foreign = RouterTlsFiles(pki.foreign_dir);
  foreign.cert_file = pki.foreign_dir + "/gateway.crt";
  foreign.key_file = pki.foreign_dir + "/gateway.key";
  foreign.ca_file = pki.dir + "/ca.crt";  // trusts our router, presents a foreign identity
  auto tls = MakeClientTlsContext(foreign, {PeerKind::kRouter});
  REQUIRE(tls.ok());
  asio::io_context io;
  CHECK_FALSE(RunCoroutine(io, PingOnce(*tls, server.port)).ok());
  CHECK(server.refused.Pop() == std::optional(HandshakeFailure::kUntrustedCertificate));
}

TEST_CASE("A TLS 1.2-only client is refused with a protocol-version failure") {
  Pki pki;
  EchoServer server(pki);
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(tls->native_handle(), TLS1_2_VERSION);
  tls->load_verify_file(pki.dir + "/ca.crt");
  tls->use_certificate_chain_file(pki.dir + "/devices/speaker.crt");
  tls->use_private_key_file(pki.dir + "/devices/speaker.key", asio::ssl::context::pem);
  asio::io_context io;
  Result<v1::Envelope> reply = RunCoroutine(io, PingOnce(tls, server.port));
  CHECK_FALSE(reply.ok());
  CHECK(server.refused.Pop() == std::optional(HandshakeFailure::kProtocolVersion));
}

TEST_CASE("A device refuses a server whose certificate is not of the expected kind") {
  Pki pki;
  EchoServer server(pki);  // presents the router identity
  auto tls = MakeClientTlsContext(DeviceTlsFiles(pki.dir, "speaker"), {PeerKind::kGateway});
  REQUIRE(tls.ok());
  asio::io_context io;
  Result<v1::Envelope> reply = RunCoroutine(io, PingOnce(*tls, server.port));
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().message().find("bad_identity") != std::string::npos);
  CHECK(reply.status().message().find("not of an accepted kind") != std::string::npos);
}

TEST_CASE("A silent client and a non-TLS client are refused, the server keeps serving") {
  Pki pki;
  // The handshake deadline applies to every connection here, the good one last: long enough
  // for a loaded (or sanitized) run, short enough to wait for the silent client.
  EchoServer server(pki, 1500ms);
  asio::io_context io;
  tcp::socket silent(io);
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port));
  CHECK(server.refused.Pop() == std::optional(HandshakeFailure::kTimeout));

  tcp::socket http(io);
  http.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port));
  asio::write(http, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  CHECK(server.refused.Pop() == std::optional(HandshakeFailure::kNotTls));

  auto tls = MakeClientTlsContext(DeviceTlsFiles(pki.dir, "speaker"), {PeerKind::kRouter});
  REQUIRE(tls.ok());
  Result<v1::Envelope> reply = RunCoroutine(io, PingOnce(*tls, server.port));
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  CHECK(reply->pong().nonce() == 4242);
}

TEST_CASE("Oversize and garbage frames end the session with a typed error frame") {
  Pki pki;
  EchoServer server(pki);
  auto tls = MakeClientTlsContext(DeviceTlsFiles(pki.dir, "speaker"), {PeerKind::kRouter});
  REQUIRE(tls.ok());
  asio::io_context io;

  const std::string oversize("\x00\x10\x00\x00", 4);  // 1 MiB declared; the limit is 4 KiB
  Result<v1::Envelope> r1 = RunCoroutine(io, PingOnce(*tls, server.port, oversize));
  REQUIRE_MESSAGE(r1.ok(), r1.status().ToString());
  CHECK(r1->error().code() == v1::ERROR_BAD_FRAME);
  CHECK(server.read_errors.Pop() == std::optional(make_error_code(FrameError::kOversize)));

  const std::string garbage = std::string("\x00\x00\x00\x03", 4) + "\xff\xff\xff";
  Result<v1::Envelope> r2 = RunCoroutine(io, PingOnce(*tls, server.port, garbage));
  REQUIRE(r2.ok());
  CHECK(r2->error().message() == "undecodable frame");
  CHECK(server.read_errors.Pop() == std::optional(make_error_code(FrameError::kUndecodable)));

  Result<v1::Envelope> r3 = RunCoroutine(io, PingOnce(*tls, server.port));
  REQUIRE(r3.ok());
  CHECK(r3->pong().nonce() == 4242);
}

}  // namespace
}  // namespace partita::net
