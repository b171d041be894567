// The cost of HTTP/1.1 parsing per proxied request, for choosing the project's one HTTP layer:
// Partita's parser (http/parser.h) against Beast's basic_parser with its header fields in a
// preallocated arena (the pattern of Beast's "fast" server example). One proxied request is what
// the gateway parses for it: the agent's request head and JSON body, then the upstream's
// response head and a chunked stream of 24 server-sent events.
//
//   http_parse_bench --parser partita|beast --iterations N
//
// prints nanoseconds per proxied request; bench/http_parse_callgrind.sh runs both under callgrind
// and prints instructions per proxied request (the figure the choice rests on).
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "bench/flags.h"
#include "http/parser.h"

namespace {

namespace beast_http = boost::beast::http;
using namespace partita;

std::string RequestBytes() {
  const std::string body =
      R"({"model":"milm-70b-moe","stream":true,"max_tokens":256,"messages":[{"role":"user",)"
      R"("content":"What is the weather like in Lisbon tomorrow afternoon?"}]})";
  return "POST /v1/chat/completions HTTP/1.1\r\n"
         "Host: gateway.example.net:8443\r\n"
         "User-Agent: partita\r\n"
         "Content-Type: application/json\r\n"
         "Accept: text/event-stream\r\n"
         "X-Partita-Request-Id: 1767571200123456\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string ResponseBytes() {
  std::string r =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Connection: keep-alive\r\n\r\n";
  for (int i = 0; i < 24; ++i) {
    const std::string event =
        R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,)"
        R"("delta":{"content":" token"},"finish_reason":null}]})"
        "\n\n";
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", event.size());
    r += size + event + "\r\n";
  }
  return r + "0\r\n\r\n";
}

// What both parsers hand the proxy: the body bytes and the framing headers it acts on.
struct Parsed {
  std::size_t body_bytes = 0;
  std::size_t header_checks = 0;
};

__attribute__((noinline)) bool ProxyOncePartita(const std::string& request,
                                                const std::string& response, Parsed& out) {
  http::RequestHead req;
  if (http::ParseRequestHead(request, req) != http::Parse::kComplete) return false;
  out.header_checks += !req.Find("content-type").empty();
  out.body_bytes += request.size() - req.size;
  http::ResponseHead resp;
  if (http::ParseResponseHead(response, resp) != http::Parse::kComplete) return false;
  out.header_checks += !resp.Find("content-type").empty();
  static thread_local std::string body;
  body.clear();
  http::ChunkedDecoder chunks;
  std::size_t consumed = 0;
  const auto r = chunks.Decode(std::string_view(response).substr(resp.size), body, consumed);
  out.body_bytes += body.size();
  return r == http::ChunkedDecoder::Result::kDone;
}

// Header fields in a fixed arena, reset per message: no heap allocation while parsing a head.
struct Arena {
  alignas(std::max_align_t) char bytes[8192];
  std::size_t used = 0;
};

template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  explicit ArenaAllocator(Arena* arena) : arena_(arena) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& other) : arena_(other.arena()) {}
  T* allocate(std::size_t n) {
    const std::size_t size =
        (n * sizeof(T) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
    if (arena_->used + size > sizeof arena_->bytes) throw std::bad_alloc();
    T* p = reinterpret_cast<T*>(arena_->bytes + arena_->used);
    arena_->used += size;
    return p;
  }
  void deallocate(T*, std::size_t) {}
  Arena* arena() const { return arena_; }
  template <typename U>
  bool operator==(const ArenaAllocator<U>& o) const {
    return arena_ == o.arena();
  }

 private:
  Arena* arena_;
};

template <bool IsRequest>
using BeastParser = beast_http::parser<IsRequest, beast_http::buffer_body, ArenaAllocator<char>>;

// Feeds `bytes` to `parser`, body into a fixed buffer, as a proxy relays it.
template <bool IsRequest>
bool Feed(BeastParser<IsRequest>& parser, const std::string& bytes, Parsed& out) {
  static thread_local char chunk[16384];
  boost::beast::error_code ec;
  std::size_t offset = 0;
  parser.eager(true);
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    offset += parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    if (ec == beast_http::error::need_buffer) ec = {};
    if (ec) return false;
    out.body_bytes += sizeof chunk - parser.get().body().size;
    if (offset == bytes.size() && !parser.is_done()) return false;
  }
  return true;
}

__attribute__((noinline)) bool ProxyOnceBeast(const std::string& request,
                                              const std::string& response, Parsed& out) {
  Arena arena;
  {
    BeastParser<true> req(std::piecewise_construct, std::make_tuple(),
                          std::make_tuple(ArenaAllocator<char>(&arena)));
    if (!Feed(req, request, out)) return false;
    out.header_checks += req.get().count(beast_http::field::content_type);
  }
  arena.used = 0;
  BeastParser<false> resp(std::piecewise_construct, std::make_tuple(),
                          std::make_tuple(ArenaAllocator<char>(&arena)));
  if (!Feed(resp, response, out)) return false;
  out.header_checks += resp.get().count(beast_http::field::content_type);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string parser = "partita";
  long iterations = 200'000;
  bench::Flags("usage: http_parse_bench [--parser partita|beast] [--iterations N]")
      .Option("--parser", &parser)
      .Option("--iterations", &iterations)
      .Parse(argc, argv);
  if (parser != "partita" && parser != "beast") {
    std::fprintf(stderr, "--parser is partita or beast, not '%s'\n", parser.c_str());
    return 2;
  }
  const std::string request = RequestBytes();
  const std::string response = ResponseBytes();
  const auto once = parser == "partita" ? ProxyOncePartita : ProxyOnceBeast;
  Parsed check;
  if (!once(request, response, check)) {
    std::fprintf(stderr, "%s could not parse the sample exchange\n", parser.c_str());
    return 1;
  }
  Parsed parsed;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) once(request, response, parsed);
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: %ld proxied exchanges (%zu request + %zu response bytes, %zu body bytes "
      "each), %.0f ns each\n",
      parser.c_str(), iterations, request.size(), response.size(), check.body_bytes,
      iterations > 0 ? ns / static_cast<double>(iterations) : 0.0);
  return parsed.body_bytes == check.body_bytes * static_cast<std::size_t>(iterations) ? 0 : 1;
}
