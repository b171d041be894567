// partita::Client: the one call apps make. "Answer this" goes to the device's edge agent over
// its unix socket; the agent decides where it runs (device, household phone or cloud), falls
// back when a tier fails, and returns the answer with where and how it was computed.
//
// Example:
//   partita::Client client;                       // $PARTITA_SOCKET or /tmp/partita.sock
//   auto answer = client.Ask("Turn off the kitchen lights");
//   if (answer) std::cout << answer->text << " (" << partita::Name(answer->tier) << ")\n";
//   else std::cerr << answer.status().message() << "\n";
//
// Blocking calls with a timeout; a Client may be used from one thread at a time (make one per
// thread, they are cheap: each Ask opens its own connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/vocabulary.h"

namespace partita {

struct AskOptions {
  Privacy privacy = Privacy::kNormal;         // private: policies keep it off the cloud
  std::uint32_t latency_budget_ms = 0;        // 0 = the policy's deadline
  double max_cost_usd = 0;                    // 0 = no limit
  std::optional<RequestKind> kind;            // inferred from the prompt when absent
  std::uint32_t max_tokens = 0;               // 0 = the kind's typical answer length
  std::chrono::milliseconds timeout{120000};  // the whole call
};

// One try on one tier, in the order they happened.
struct AttemptInfo {
  std::optional<Tier> tier;
  std::string model;
  std::string result;  // ok, refused, error_status, declined, no_first_token, stalled, ...
  std::string detail;  // a human-readable reason
  std::uint32_t elapsed_ms = 0;
  std::uint32_t tokens_out = 0;  // answer tokens this attempt produced
};

struct Answer {
  std::string text;
  Tier tier = Tier::kDevice;  // the tier that produced (the end of) the answer
  std::string model;
  double ttft_ms = 0;  // time to first token
  double total_ms = 0;
  std::uint32_t tokens_in = 0;
  std::uint32_t tokens_out = 0;
  double cost_usd = 0;
  double energy_j = 0;  // device energy estimate (this device and the phone)
  std::string rule;     // the policy rule that decided
  std::string policy_version;
  bool decided_offline = false;    // the router was unreachable; the agent decided alone
  bool truncated = false;          // the answer stopped early: `text` is the part that arrived
  std::string truncated_reason;    // why, when truncated (which tiers failed, and how)
  bool simulated = false;          // produced by Partita's simulated model server
  std::vector<AttemptInfo> trail;  // the fallback trail
};

class Client {
 public:
  // The agent's socket: $PARTITA_SOCKET when set, else /tmp/partita.sock.
  static std::string DefaultSocketPath();

  Client() : Client(DefaultSocketPath()) {}
  explicit Client(std::string socket_path) : socket_path_(std::move(socket_path)) {}

  // Asks and waits for the whole answer. Errors: Unavailable (no agent at the socket),
  // DeadlineExceeded (timeout), and the agent's error (every tier failed, no allowed tier, ...)
  // with its message. An answer that started but could not be finished by any tier is not an
  // error: it returns with `truncated` set, the text that arrived and the reason.
  Result<Answer> Ask(std::string_view prompt, const AskOptions& options = {});

  // Like Ask, calling `on_chunk` with each piece of text as it arrives.
  Result<Answer> AskStream(std::string_view prompt, const AskOptions& options,
                           const std::function<void(std::string_view text)>& on_chunk);

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

}  // namespace partita
