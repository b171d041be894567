// `partita modeld`: a SIMULATED OpenAI-compatible model server for demos, tests and load tests.
//
// It answers POST /v1/chat/completions (streaming and not) with deterministic placeholder text
// derived from a hash of the request ("[simulated] lorem ipsum ..."), never a real answer, at the
// prefill and decode rates a catalog model has on a device class or in the cloud (scaled by
// rate_scale), with a final usage object. Every response says it is simulated: the header
// "X-Partita-Simulated: 1", "partita_simulated": true in JSON bodies and chunks, and a model
// name like "milm-7b-moe (simulated)". Faults are injected for the whole server (options or
// SetFault) or per request with the header "X-Partita-Fault: status=503,stall-after=3"
// (see ParseFaultSpec and docs/backends.md). Also GET /health and GET /v1/models.
//
// Threading: accepts on the first io_context given and runs each connection on the next one,
// round robin; Start/Stop on the first context's thread (or before it runs); SetFault and
// stats are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "device_profiles/catalog_loader.h"
#include "net/asio.h"

namespace partita::modeld {

// Faults modeld injects. Text form (flags and the X-Partita-Fault header), comma-separated:
//   status=CODE     answer HTTP CODE (400..599) with an OpenAI-style error body
//   refuse          close the connection without answering
//   stall-after=N   send N tokens, then nothing until the client goes away
//   drop-after=N    send N tokens, then close the connection mid-stream
//   slow-ms=M       add M ms before every token (not scaled by rate_scale)
//   bad-sse         send a malformed event after the first token
//   no-usage        leave out the usage object
//   none            no fault (clears the server-wide fault for one request)
struct FaultSpec {
  int status = 0;
  bool refuse = false;
  int stall_after = -1;
  int drop_after = -1;
  int slow_ms = 0;
  bool bad_sse = false;
  bool no_usage = false;

  bool any() const;
  std::string ToString() const;  // the text form; "none" when empty
};
Result<FaultSpec> ParseFaultSpec(std::string_view text);

struct ModelServerOptions {
  std::string model = "milm-7b-moe";  // a model of the catalog
  // Device class whose runtime gives the rates ("phone-mid"); empty: the catalog's cloud
  // runtime for the model, or else the first device class that runs it.
  std::string device;
  double rate_scale = 1.0;  // multiplies prefill and decode rates (1000 = 1000x faster)
  FaultSpec fault;          // applied to every request
  std::int64_t default_max_tokens = 64;  // tokens when the request sets no max_tokens
  std::int64_t max_tokens_limit = 8192;
  std::size_t max_body_bytes = 1u << 20;
  net::tcp::endpoint endpoint{net::asio::ip::make_address("127.0.0.1"), 0};
};

struct ModelServerStats {
  std::atomic<std::uint64_t> requests{0};      // chat completion requests
  std::atomic<std::uint64_t> streams{0};       // of which streaming
  std::atomic<std::uint64_t> faults{0};        // requests that had a fault applied
  std::atomic<std::uint64_t> bad_requests{0};  // 4xx answers for bad input
  std::atomic<std::uint64_t> tokens_out{0};
  // Requests whose client closed the connection before their answer was complete.
  std::atomic<std::uint64_t> abandoned{0};
};

class ModelServer {
 public:
  // Binds the endpoint. `contexts` must be non-empty and outlive the server.
  static Result<std::unique_ptr<ModelServer>> Create(std::vector<net::asio::io_context*> contexts,
                                                     ModelServerOptions options,
                                                     CatalogPtr catalog);
  ~ModelServer();

  net::tcp::endpoint local_endpoint() const;
  void Start();
  void Stop();  // stops accepting; connections end with their io_context

  void SetFault(const FaultSpec& fault);
  FaultSpec fault() const;
  const ModelServerStats& stats() const;

  const std::string& model() const;
  std::string served_name() const;      // "milm-7b-moe (simulated)"
  double prefill_tokens_per_s() const;  // after rate_scale
  double decode_tokens_per_s() const;
  std::string rates_source() const;  // "cloud" or the device class

  struct Shared;

 private:
  explicit ModelServer(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

// The placeholder text modeld sends for a request body with `tokens` tokens: deterministic, the
// same for the same body, starting with "[simulated]".
std::vector<std::string> SimulatedTokens(std::string_view request_body, std::int64_t tokens);

}  // namespace partita::modeld
