// The gateway's device session over a real socket: arbitrary bytes, written in arbitrary
// pieces (fuzz/piecewise_input.h), each piece read by the gateway before the next is sent. The
// gateway (plaintext front, an in-process modeld upstream, a ledger in a temporary directory)
// runs in this process, so a crash, a sanitizer report or a hang is the fuzzer's finding; each
// input ends with the gateway still answering a health request.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "cloud_gateway/config.h"
#include "cloud_gateway/gateway.h"
#include "common/log.h"
#include "device_profiles/catalog_loader.h"
#include "fuzz/piecewise_input.h"
#include "modeld/model_server.h"
#include "net/asio.h"
#include "tests/testing/io_thread.h"
#include "tests/testing/socket_queue.h"

using namespace partita;

namespace {

struct World {
  partita::testing::IoThread upstream_io;
  std::unique_ptr<modeld::ModelServer> modeld;
  std::unique_ptr<cloud_gateway::Gateway> gateway;
  std::uint16_t port = 0;

  World() {
    SetLogLevel(LogLevel::kOff);
    modeld::ModelServerOptions o;
    o.model = "milm-70b-moe";
    o.rate_scale = 1000;
    o.default_max_tokens = 4;
    modeld = std::move(*modeld::ModelServer::Create({&upstream_io.context()}, o, DefaultCatalog()));
    modeld->Start();
    const std::string dir = std::filesystem::temp_directory_path() /
                            ("partita-session-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string yaml =
        "plaintext: {listen: 127.0.0.1:0, device: fuzz}\nledger: " + dir +
        "/ledger.db\nthreads: 1\nmax_body_bytes: 65536\n"
        "clients: {idle_timeout_ms: 20, head_timeout_ms: 20, read_timeout_ms: 20, "
        "write_timeout_ms: 1000}\n"
        "timeouts: {connect_ms: 1000, first_token_ms: 2000, between_chunks_ms: 1000, "
        "total_ms: 4000}\n"
        "rate_limits: {requests_per_minute: 1000000}\n"
        "budgets: {device_usd_per_day: 1000}\n"
        "models:\n  - name: milm-70b-moe\n    max_tokens: 8\n    upstreams: [{name: m, url: "
        "'http://127.0.0.1:" +
        std::to_string(modeld->local_endpoint().port()) + "/v1'}]\n";
    Diagnostics d("fuzz-gateway.yaml");
    cloud_gateway::GatewayConfigPtr config =
        cloud_gateway::ParseGatewayConfig(yaml, d, "", *DefaultCatalog());
    if (!config) std::abort();
    auto g = cloud_gateway::Gateway::Create(config);
    if (!g.ok() || !(*g)->Start().ok()) std::abort();
    gateway = std::move(*g);
    port = gateway->plaintext_port();
  }
};

World& TheWorld() {
  static World* world = new World();  // lives for the whole run
  return *world;
}

// Whether a fresh connection gets a health answer.
bool Healthy(std::uint16_t port) {
  net::asio::io_context io;
  net::tcp::socket s(io);
  net::error_code ec;
  s.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  const std::string req = "GET /health HTTP/1.1\r\nHost: f\r\nConnection: close\r\n\r\n";
  net::asio::write(s, net::asio::buffer(req), ec);
  char buf[16];
  const std::size_t n = s.read_some(net::asio::buffer(buf), ec);
  return n >= 12 && std::string_view(buf, 9) == "HTTP/1.1 ";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  World& w = TheWorld();
  const fuzz::PiecewiseInput input(data, size);
  net::asio::io_context io;
  net::tcp::socket s(io);
  net::error_code ec;
  s.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), w.port), ec);
  if (ec) std::abort();
  s.set_option(net::tcp::no_delay(true));
  const timeval timeout{5, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::uint16_t local = s.local_endpoint().port();
  input.Feed(false, 4096, [&](std::string_view piece) {
    net::asio::write(s, net::asio::buffer(piece.data(), piece.size()), ec);
    if (ec) return false;
    // The gateway reads this piece before the next is sent (or it closed the connection).
    return partita::testing::WaitReceiveQueueDrained(w.port, local, std::chrono::seconds(2));
  });
  s.shutdown(net::tcp::socket::shutdown_send, ec);
  // Read until the gateway closes (its answers, then its read timeouts end every connection);
  // SO_RCVTIMEO bounds each wait.
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::abort();  // the gateway held the connection past every timeout: a hang
    }
    break;  // closed or reset
  }
  if (!Healthy(w.port)) std::abort();
  return 0;
}
