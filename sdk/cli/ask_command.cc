// `partita ask "TEXT"`: the SDK from the shell. Streams the answer to the terminal, then says
// where it ran and why; --json prints one object for scripts.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "common/json_writer.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/text_table.h"
#include "sdk/client.h"

namespace partita::cli {

namespace {

struct AskArgs {
  std::string text;
  std::string privacy = "normal";
  std::string kind;
  std::string socket;
  std::uint32_t max_tokens = 0;
  std::uint32_t latency_budget_ms = 0;
  double max_cost_usd = 0;
  double timeout_s = 120;
  bool json = false;
};

std::string Trail(const Answer& a) {
  std::string out;
  for (const AttemptInfo& t : a.trail) {
    if (!out.empty()) out += " -> ";
    out += std::string(t.tier ? Name(*t.tier) : "?") + " " + t.result + " " +
           std::to_string(t.elapsed_ms) + " ms";
    if (t.result != "ok" && !t.detail.empty()) out += " (" + t.detail + ")";
  }
  return out;
}

boost::json::object AnswerJson(const Answer& a) {
  boost::json::object o;
  o["text"] = a.text;
  o["tier"] = std::string(Name(a.tier));
  o["model"] = a.model;
  o["rule"] = a.rule;
  o["policy_version"] = a.policy_version;
  o["ttft_ms"] = a.ttft_ms;
  o["total_ms"] = a.total_ms;
  o["tokens_in"] = a.tokens_in;
  o["tokens_out"] = a.tokens_out;
  o["cost_usd"] = a.cost_usd;
  o["energy_j"] = a.energy_j;
  o["decided_offline"] = a.decided_offline;
  o["truncated"] = a.truncated;
  if (a.truncated) o["truncated_reason"] = a.truncated_reason;
  o["simulated"] = a.simulated;
  boost::json::array trail;
  for (const AttemptInfo& t : a.trail) {
    boost::json::object at;
    at["tier"] = t.tier ? std::string(Name(*t.tier)) : "";
    at["model"] = t.model;
    at["result"] = t.result;
    at["detail"] = t.detail;
    at["elapsed_ms"] = t.elapsed_ms;
    at["tokens_out"] = t.tokens_out;
    trail.push_back(std::move(at));
  }
  o["fallback"] = std::move(trail);
  return o;
}

int RunAsk(const AskArgs& args) {
  AskOptions options;
  options.privacy = *ParsePrivacy(args.privacy);
  if (!args.kind.empty()) options.kind = ParseRequestKind(args.kind);
  options.max_tokens = args.max_tokens;
  options.latency_budget_ms = args.latency_budget_ms;
  options.max_cost_usd = args.max_cost_usd;
  options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(args.timeout_s * 1000));
  Client client(args.socket.empty() ? Client::DefaultSocketPath() : args.socket);
  Result<Answer> answer = args.json
                              ? client.Ask(args.text, options)
                              : client.AskStream(args.text, options, [](std::string_view chunk) {
                                  std::fwrite(chunk.data(), 1, chunk.size(), stdout);
                                  std::fflush(stdout);
                                });
  if (!answer.ok()) {
    if (args.json) {
      // Scripts that read stdout get the failure as an object too; stderr says it for people.
      boost::json::object error;
      error["code"] = std::string(StatusCodeName(answer.status().code()));
      error["message"] = answer.status().message();
      std::cout << partita::ToJson(boost::json::object{{"error", std::move(error)}}) << "\n";
    } else {
      std::printf("\n");
    }
    PrintError(answer.status().message());
    return 1;
  }
  // A truncated answer is printed like any other, marked, and exits 3 so scripts notice.
  const int status = answer->truncated ? 3 : 0;
  if (args.json) {
    std::cout << partita::ToJson(AnswerJson(*answer)) << "\n";
    return status;
  }
  const Answer& a = *answer;
  std::printf("\n\n%s%s on %s (%s), rule '%s'%s\n", a.truncated ? "TRUNCATED: " : "",
              a.simulated ? "simulated answer" : "answered", std::string(Name(a.tier)).c_str(),
              a.model.c_str(), a.rule.c_str(), a.decided_offline ? ", decided offline" : "");
  std::printf("  first token %s ms, total %s ms, %u tokens in / %u out, $%s, %s J\n",
              FormatNumber(a.ttft_ms, 0).c_str(), FormatNumber(a.total_ms, 0).c_str(), a.tokens_in,
              a.tokens_out, FormatNumber(a.cost_usd, 6).c_str(),
              FormatNumber(a.energy_j, 2).c_str());
  if (a.trail.size() > 1) std::printf("  fallback trail: %s\n", Trail(a).c_str());
  if (a.truncated) std::printf("  truncated: %s\n", a.truncated_reason.c_str());
  return status;
}

}  // namespace

void AddAskCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<AskArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ask", "Ask the local agent to answer TEXT; streams the answer and says where it ran");
  cmd->add_option("text", args->text, "The question or command")->required();
  cmd->add_option("--privacy", args->privacy, "public, normal or private")
      ->check(CLI::IsMember({"public", "normal", "private"}))
      ->default_val("normal");
  cmd->add_option("--kind", args->kind, "command, chat or reasoning (default: inferred)")
      ->check(CLI::IsMember({"command", "chat", "reasoning"}));
  cmd->add_option("--max-tokens", args->max_tokens, "Answer length limit");
  cmd->add_option("--latency-budget-ms", args->latency_budget_ms,
                  "Shorten the policy's deadline for the first token");
  cmd->add_option("--max-cost-usd", args->max_cost_usd, "Cost limit for this request");
  cmd->add_option("--socket", args->socket,
                  "The agent's app socket (default: $PARTITA_SOCKET or /tmp/partita.sock)");
  cmd->add_option("--timeout", args->timeout_s, "Seconds to wait for the whole answer")
      ->default_val(120);
  cmd->add_flag("--json", args->json, "Print one JSON object instead of streaming");
  cmd->callback([args, &exit_code] { exit_code = RunAsk(*args); });
}

}  // namespace partita::cli
