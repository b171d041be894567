// gateway_load_bench: a closed-loop load generator for OpenAI-compatible endpoints over HTTP or
// HTTPS with a Partita device certificate (the gateway's TLS front), in the manner of wrk:
// N keep-alive connections on one thread, each sending the next request when the previous
// answer has been read completely. The body is the peers harness's (wrk/post.lua).
//
//   gateway_load_bench --url https://127.0.0.1:18443/v1/chat/completions
//       --pki DIR --device bench --connections 32 --seconds 10 [--pid GATEWAY_PID] [--stream]
//
// With --requests N it stops after N answers instead of after --seconds (a fixed amount of
// work, for instruction counts).
// Prints one line: requests/s, p50/p90/p99 latency, errors, and (with --pid) the CPU time the
// process spent per request (user+sys from /proc/PID/stat, all its threads), then a TTFB line
// for a streaming request at one connection when --ttfb is given.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "net/asio.h"
#include "net/pki.h"
#include "net/tls.h"
#include "net/tls_listener.h"

namespace {

namespace asio = partita::net::asio;
namespace beast = partita::net::beast;
namespace beast_http = beast::http;
using partita::net::error_code;
using partita::net::tcp;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string url;
  std::string pki;
  std::string device = "bench";
  int connections = 32;
  double seconds = 10;
  int pid = 0;
  bool stream = false;
  int ttfb = 0;       // streaming first-byte samples at c=1 (median printed)
  long requests = 0;  // > 0: stop after this many answers (all connections), not after --seconds
  std::string model = "fake-model";
};

struct Target {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string path;
};

bool ParseTarget(const std::string& url, Target& t) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  const std::size_t slash = rest.find('/');
  auto hp = partita::net::SplitHostPort(rest.substr(0, slash));
  if (!hp.ok()) return false;
  t.host = hp->first;
  t.port = hp->second;
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  return true;
}

std::string Request(const Target& t, const std::string& model, bool stream) {
  const std::string body =
      "{\"model\":\"" + model +
      "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
      "{\"role\":\"user\",\"content\":\"Say hello in one short sentence.\"}],\"max_tokens\":16,"
      "\"temperature\":0" +
      (stream ? ",\"stream\":true" : "") + "}";
  return "POST " + t.path + " HTTP/1.1\r\nHost: " + t.host + ":" + std::to_string(t.port) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

long CpuTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) stime = std::atol(field.c_str());
  }
  return utime + stime;
}

struct Stats {
  long budget = -1;  // requests still to start; -1: no limit
  std::vector<double> latencies_us;
  std::uint64_t errors = 0;
  std::uint64_t non2xx = 0;
};

// One connection's closed loop until `end`.
template <typename Stream>
asio::awaitable<void> Loop(Stream& stream, const std::string& request, Clock::time_point end,
                           Stats& stats) {
  beast::flat_buffer buffer;
  while (Clock::now() < end && stats.budget != 0) {
    if (stats.budget > 0) --stats.budget;
    const Clock::time_point t0 = Clock::now();
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(request),
                                                partita::net::use_nothrow_awaitable);
    if (wec) {
      ++stats.errors;
      co_return;
    }
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(16 << 20);
    auto [rec, rn] = co_await beast_http::async_read(stream, buffer, parser,
                                                     partita::net::use_nothrow_awaitable);
    if (rec) {
      ++stats.errors;
      co_return;
    }
    if (parser.get().result_int() != 200) ++stats.non2xx;
    stats.latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
}

asio::awaitable<void> Connection(const Target& t, partita::net::TlsContextPtr tls,
                                 const std::string& request, Clock::time_point end, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  if (t.tls) {
    auto s =
        co_await partita::net::ConnectTls(executor, t.host, t.port, tls, std::chrono::seconds(5));
    if (!s.ok()) {
      std::fprintf(stderr, "connect: %s\n", s.status().message().c_str());
      ++stats.errors;
      co_return;
    }
    co_await Loop(*s, request, end, stats);
  } else {
    beast::tcp_stream s(executor);
    auto [ec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address(t.host), t.port),
                                         partita::net::use_nothrow_awaitable);
    if (ec) {
      std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
      ++stats.errors;
      co_return;
    }
    s.socket().set_option(tcp::no_delay(true));
    co_await Loop(s, request, end, stats);
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// Time to the first byte of a streaming response on a fresh connection, like curl's
// time_starttransfer (connect and handshake included).
asio::awaitable<double> Ttfb(const Target& t, partita::net::TlsContextPtr tls,
                             const std::string& request) {
  auto executor = co_await asio::this_coro::executor;
  const Clock::time_point t0 = Clock::now();
  char byte;
  if (t.tls) {
    auto s =
        co_await partita::net::ConnectTls(executor, t.host, t.port, tls, std::chrono::seconds(5));
    if (!s.ok()) co_return -1;
    co_await asio::async_write(*s, asio::buffer(request), partita::net::use_nothrow_awaitable);
    co_await s->async_read_some(asio::buffer(&byte, 1), partita::net::use_nothrow_awaitable);
  } else {
    tcp::socket s(executor);
    co_await s.async_connect(tcp::endpoint(asio::ip::make_address(t.host), t.port),
                             partita::net::use_nothrow_awaitable);
    s.set_option(tcp::no_delay(true));
    co_await asio::async_write(s, asio::buffer(request), partita::net::use_nothrow_awaitable);
    co_await s.async_read_some(asio::buffer(&byte, 1), partita::net::use_nothrow_awaitable);
  }
  co_return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

constexpr const char* kUsage =
    "usage: gateway_load_bench --url URL [--pki DIR --device ID] [--connections N] "
    "[--seconds S | --requests N] [--pid PID] [--stream] [--ttfb N] [--model NAME]";

int Usage() {
  std::fprintf(stderr, "%s\n", kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  partita::bench::Flags(kUsage)
      .Option("--url", &a.url)
      .Option("--pki", &a.pki)
      .Option("--device", &a.device)
      .Option("--connections", &a.connections)
      .Option("--seconds", &a.seconds)
      .Option("--pid", &a.pid)
      .Switch("--stream", &a.stream)
      .Option("--ttfb", &a.ttfb)
      .Option("--requests", &a.requests)
      .Option("--model", &a.model)
      .Parse(argc, argv);
  if (a.url.empty()) {
    // `make bench` runs every *_bench binary without arguments: this one needs a running target.
    std::printf(
        "gateway_load_bench: no --url given, nothing measured. It loads a running gateway; "
        "bench/gateway_peers.sh starts one and measures it beside nginx and Portkey.\n");
    return 0;
  }
  Target t;
  if (!ParseTarget(a.url, t) || a.connections < 1) return Usage();
  partita::net::TlsContextPtr tls;
  if (t.tls) {
    if (a.pki.empty()) {
      std::fprintf(stderr, "https needs --pki DIR (a `partita pki init` directory)\n");
      return 2;
    }
    auto ctx = partita::net::MakeClientTlsContext(partita::net::DeviceTlsFiles(a.pki, a.device),
                                                  {partita::net::PeerKind::kGateway});
    if (!ctx.ok()) {
      std::fprintf(stderr, "%s\n", ctx.status().message().c_str());
      return 1;
    }
    tls = *ctx;
  }
  const std::string request = Request(t, a.model, a.stream);
  asio::io_context io(1);

  if (a.ttfb > 0) {
    const std::string sreq = Request(t, a.model, true);
    std::vector<double> samples;
    for (int i = 0; i < a.ttfb; ++i) {
      auto f = asio::co_spawn(io, Ttfb(t, tls, sreq), asio::use_future);
      io.restart();
      io.run();
      samples.push_back(f.get());
    }
    std::sort(samples.begin(), samples.end());
    std::printf("RESULT ttfb_ms=%.3f samples=%d\n", samples[samples.size() / 2], a.ttfb);
    return 0;
  }

  Stats stats;
  if (a.requests > 0) {
    stats.budget = a.requests;
    a.seconds = 3600;
  }
  const long hz = sysconf(_SC_CLK_TCK);
  const long cpu0 = a.pid > 0 ? CpuTicks(a.pid) : 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  for (int c = 0; c < a.connections; ++c) {
    asio::co_spawn(io, Connection(t, tls, request, end, stats), asio::detached);
  }
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const long cpu1 = a.pid > 0 ? CpuTicks(a.pid) : 0;
  const double n = static_cast<double>(stats.latencies_us.size());
  std::printf(
      "RESULT rps=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f requests=%zu errors=%llu "
      "non2xx=%llu",
      n / elapsed, Percentile(stats.latencies_us, 0.5), Percentile(stats.latencies_us, 0.9),
      Percentile(stats.latencies_us, 0.99), stats.latencies_us.size(),
      static_cast<unsigned long long>(stats.errors), static_cast<unsigned long long>(stats.non2xx));
  if (a.pid > 0 && n > 0) {
    std::printf(" cpu_us_per_req=%.1f",
                static_cast<double>(cpu1 - cpu0) / static_cast<double>(hz) * 1e6 / n);
  }
  std::printf("\n");
  return stats.errors > 0 ? 1 : 0;
}
