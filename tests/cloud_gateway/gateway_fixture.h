// The gateway under test over real sockets: a GatewayFixture (TLS, plaintext and metrics fronts,
// a fresh PKI and ledger), request bodies, config snippets and raw HTTP exchanges shared by the
// gateway's test files. Completion is observed through the request_done hook, never by sleeping.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "backends/chat_client.h"
#include "cloud_gateway/gateway.h"
#include "http/parser.h"
#include "net/pki.h"
#include "storage/sqlite.h"
#include "tests/backends/test_servers.h"
#include "tests/testing/beast_client.h"
#include "tests/testing/temp_dir.h"

namespace partita::cloud_gateway::testing {

using namespace std::chrono_literals;
namespace beast_http = net::beast::http;
using backends::ChatOutcome;
using backends::ErrorKind;
using backends::testing::ModeldFixture;
using partita::testing::EventQueue;
using partita::testing::RunCoroutine;

inline constexpr const char* kPrompt = "zebra-quartz-umbrella prompt text";

struct Done {
  std::string device;
  std::string outcome;
  std::string upstream;
  int attempts = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t counted_completion_tokens = 0;
  bool usage_from_upstream = false;
  double cost_usd = 0;
  const char* error_kind = nullptr;
  std::int64_t request_bytes = 0;
};

inline std::string Body(bool stream, int max_tokens, const std::string& model = "milm-70b-moe") {
  backends::ChatParams p;
  p.model = model;
  p.messages = {{"user", kPrompt}};
  p.stream = stream;
  p.max_tokens = max_tokens;
  return backends::BuildChatRequestBody(p);
}

inline std::string Expected(const std::string& body, int tokens) {
  std::string text;
  for (const std::string& t : modeld::SimulatedTokens(body, tokens)) text += t;
  return text;
}

inline std::string Url(const ModeldFixture& m) { return m.url(); }

// A gateway on loopback (TLS, plaintext and metrics fronts) with a fresh PKI and ledger.
class GatewayFixture {
 public:
  // `body` is the YAML after the fronts: models, budgets, timeouts... With `from_file` the
  // config is written to a file and loaded from it, as `partita gateway --config` does (the
  // gateway then watches the file).
  explicit GatewayFixture(const std::string& body, const std::string& plaintext_device = "bench",
                          bool from_file = false) {
    net::PkiInitOptions o;
    o.dir = pki_;
    o.device_ids = {"speaker", "car"};
    REQUIRE(net::InitPki(o).ok());
    o.dir = foreign_;
    REQUIRE(net::InitPki(o).ok());
    fronts_ = "listen: 127.0.0.1:0\ntls: {ca: " + pki_ + "/ca.crt, cert: " + pki_ +
              "/gateway.crt, key: " + pki_ + "/gateway.key}\n" + "plaintext: {listen: 127.0.0.1:0" +
              (plaintext_device.empty() ? "" : ", device: " + plaintext_device) + "}\n" +
              "metrics_listen: 127.0.0.1:0\nledger: " + ledger_ + "\n";
    const std::string yaml = fronts_ + body;
    GatewayConfigPtr config;
    if (from_file) {
      WriteFile(config_file(), yaml);
      Result<GatewayConfigPtr> loaded = LoadGatewayConfig(config_file());
      REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
      config = *loaded;
    } else {
      Diagnostics d("test-gateway.yaml");
      config = ParseGatewayConfig(yaml, d, "", *DefaultCatalog());
      REQUIRE_MESSAGE(config, d.ToString());
    }

    GatewayObserver observer;
    observer.tls_refused = [this](net::HandshakeFailure r) { refused.Push(r); };
    observer.revoked_reloaded = [this](const Status& s) { reloads.Push(s); };
    observer.request_done = [this](const LedgerEntry& e) {
      done.Push(Done{e.device, e.outcome, e.upstream ? *e.upstream : "", e.attempts,
                     e.completion_tokens, e.counted_completion_tokens, e.usage_from_upstream,
                     e.cost_usd, e.error_kind, e.request_bytes});
    };
    config_ = config;
    observer_ = observer;
    Restart();
  }

  // A new gateway process, in effect: same configuration, same ledger.
  void Restart() {
    gateway_.reset();
    auto g = Gateway::Create(config_, observer_);
    REQUIRE_MESSAGE(g.ok(), g.status().ToString());
    gateway_ = std::move(*g);
    Status s = gateway_->Start();
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  Gateway& gateway() { return *gateway_; }
  std::string config_file() const { return tmp_.File("gateway.yaml"); }
  // Rewrites the config file with the same fronts and another `body` (from_file fixtures).
  void RewriteConfig(const std::string& body) { WriteFile(config_file(), fronts_ + body); }
  const std::string& pki() const { return pki_; }
  const std::string& foreign_pki() const { return foreign_; }
  const std::string& ledger() const { return ledger_; }

  // A chat request over mutual TLS with `device`'s certificate ("router": the router's).
  ChatOutcome Ask(const std::string& body, bool stream, const std::string& device = "speaker",
                  backends::DeltaCallback on_delta = {}) {
    return AskWith(
        device == "router" ? net::RouterTlsFiles(pki_) : net::DeviceTlsFiles(pki_, device), body,
        stream, std::move(on_delta));
  }

  ChatOutcome AskWith(const net::TlsFiles& files, const std::string& body, bool stream,
                      backends::DeltaCallback on_delta = {}) {
    auto tls = net::MakeClientTlsContext(files, {net::PeerKind::kGateway});
    REQUIRE_MESSAGE(tls.ok(), tls.status().ToString());
    backends::ClientConfig c;
    c.url = "https://127.0.0.1:" + std::to_string(gateway_->tls_port()) + "/v1";
    c.tls = *tls;
    return Run(c, body, stream, std::move(on_delta));
  }

  // The same over the plaintext front, as `device` (X-Partita-Device; empty: no header).
  ChatOutcome AskPlain(const std::string& body, bool stream, const std::string& device) {
    backends::ClientConfig c;
    c.url = "http://127.0.0.1:" + std::to_string(gateway_->plaintext_port()) + "/v1";
    if (!device.empty()) c.headers = {{"X-Partita-Device", device}};
    return Run(c, body, stream, {});
  }

  Done WaitDone() {
    std::optional<Done> d = done.Pop(20s);
    REQUIRE_MESSAGE(d, "no request finished within 20 s");
    return *d;
  }

  EventQueue<Done> done;
  EventQueue<net::HandshakeFailure> refused;
  EventQueue<Status> reloads;  // the watcher re-read the revoked list (from_file fixtures)

 private:
  // Whole or not at all (write, then rename), so the watcher never reads half a file.
  static void WriteFile(const std::string& path, const std::string& text) {
    {
      std::ofstream out(path + ".new", std::ios::binary | std::ios::trunc);
      out << text;
      REQUIRE(out.good());
    }
    std::filesystem::rename(path + ".new", path);
  }

  ChatOutcome Run(const backends::ClientConfig& c, const std::string& body, bool stream,
                  backends::DeltaCallback on_delta) {
    net::asio::io_context io;
    auto client = backends::ChatClient::Create(io.get_executor(), c);
    REQUIRE_MESSAGE(client.ok(), client.status().ToString());
    backends::Timeouts t;
    t.total = 20s;
    return RunCoroutine(io, backends::Complete(**client, body, stream, t, std::move(on_delta)),
                        30s);
  }

  partita::testing::TempDir tmp_;
  std::string pki_ = tmp_.File("pki");
  std::string foreign_ = tmp_.File("foreign-pki");
  std::string ledger_ = tmp_.File("ledger.db");
  std::string fronts_;
  GatewayConfigPtr config_;
  GatewayObserver observer_;
  std::unique_ptr<Gateway> gateway_;
};

// Timeouts no loaded machine reaches by accident; the stall tests use kStallTimeouts.
inline constexpr const char* kPatientTimeouts =
    "timeouts: {connect_ms: 2000, first_token_ms: 5000, between_chunks_ms: 5000, total_ms: "
    "20000}\n";
inline constexpr const char* kStallTimeouts =
    "timeouts: {connect_ms: 2000, first_token_ms: 1000, between_chunks_ms: 1000, total_ms: "
    "20000}\n";

inline std::string OneModel(const std::string& upstreams, const std::string& extra = "",
                            const std::string& timeouts = kPatientTimeouts) {
  return extra + timeouts +
         R"(models:
  - name: milm-70b-moe
    price: {input_usd_per_1m_tokens: 0, output_usd_per_1m_tokens: 1000}
    upstreams:
)" + upstreams;
}

inline std::string Upstream(const std::string& name, const std::string& url, int priority = 0) {
  return "      - {name: " + name + ", url: \"" + url +
         "\", priority: " + std::to_string(priority) + "}\n";
}

// One blocking HTTP exchange with the plaintext or metrics front.
inline beast_http::response<beast_http::string_body> Exchange(
    std::uint16_t port, beast_http::verb method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return partita::testing::BeastExchange(port, method, target, body, headers);
}

inline std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `raw` on a new plaintext connection and reads `count` responses (each with a
// Content-Length); returns their status codes and bodies, in order.
inline std::vector<std::pair<int, std::string>> RawExchange(std::uint16_t port,
                                                            const std::string& raw,
                                                            std::size_t count,
                                                            std::string* interim = nullptr) {
  net::asio::io_context io;
  net::tcp::socket s(io);
  s.connect(net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), port));
  net::asio::write(s, net::asio::buffer(raw));
  std::string in;
  std::vector<std::pair<int, std::string>> out;
  while (out.size() < count) {
    http::ResponseHead head;
    if (http::ParseResponseHead(in, head) == http::Parse::kComplete) {
      if (head.status == 100) {
        if (interim != nullptr) *interim = in.substr(0, head.size);
        in.erase(0, head.size);
        continue;
      }
      if (in.size() >= head.size + head.content_length) {
        out.emplace_back(head.status, in.substr(head.size, head.content_length));
        in.erase(0, head.size + head.content_length);
        continue;
      }
    }
    char buf[4096];
    net::error_code ec;
    const std::size_t n = s.read_some(net::asio::buffer(buf), ec);
    if (ec) break;
    in.append(buf, n);
  }
  return out;
}

}  // namespace partita::cloud_gateway::testing
