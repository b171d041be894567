// Decision time against rule count, and for route: best, with heap allocations counted.
//
// Policies are generated as YAML and compiled by the real loader. In the rule-count runs every
// rule but the last fails on its last condition (so every condition is evaluated) and the last
// matches: the worst case for first-match evaluation. Global operator new is replaced to count
// allocations; `allocs_per_eval` must be 0.
//
//   build-bench/bench/policy_bench --benchmark_repetitions=9 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "bench/allocation_counter.h"
#include "policies/decision.h"
#include "policies/loader.h"
#include "policies/state_file.h"

namespace partita::policy {
namespace {

PolicyPtr MustLoad(const std::string& text) {
  Diagnostics d("bench.yaml");
  PolicyPtr p = ParsePolicy(text, d);
  if (!p) {
    std::fprintf(stderr, "%s", d.ToString().c_str());
    std::abort();
  }
  return p;
}

DecisionState MustState(const std::string& text) {
  Diagnostics d("state.yaml");
  std::optional<DecisionState> s = ParseState(text, *DefaultCatalog(), d);
  if (!s) {
    std::fprintf(stderr, "%s", d.ToString().c_str());
    std::abort();
  }
  return *s;
}

// N rules; rule i < N-1 fails on its fourth condition (time.hour), the last one matches.
std::string RulesPolicy(int n) {
  std::string text =
      "apiVersion: partita/v1\nkind: Policy\nmetadata: {name: bench}\nspec:\n"
      "  guards:\n    - {name: private-home, when: {request.privacy: private}, never: [cloud]}\n"
      "  defaults: {fallback: [cloud, phone, device], deadline_ms: 3000}\n  rules:\n";
  for (int i = 0; i < n - 1; ++i) {
    const int hour = i % 23 < 12 ? i % 23 : i % 23 + 1;  // never 12
    text += "    - name: rule-" + std::to_string(i) +
            "\n      when: {device.charging: true, network.type: {in: [wifi, ethernet]}, "
            "request.difficulty: {lte: 0.9}, time.hour: " +
            std::to_string(hour) + "}\n      route: " + (i % 2 ? "cloud" : "device") + "\n";
  }
  text +=
      "    - name: last\n      when: {device.charging: true, time.hour: 12}\n"
      "      route: cloud\n";
  return text;
}

void RunDecisions(benchmark::State& state, const Policy& policy, const DecisionInput& input) {
  DecisionResult result;
  Decide(policy, input, result);  // warm up
  const std::uint64_t before = bench::AllocationCount();
  for (auto _ : state) {
    Decide(policy, input, result);
    benchmark::DoNotOptimize(result.route);
  }
  const std::uint64_t allocations = bench::AllocationCount() - before;
  state.counters["allocs_per_eval"] = benchmark::Counter(static_cast<double>(allocations) /
                                                         static_cast<double>(state.iterations()));
  state.counters["rule"] = result.rule_index;
  state.counters["candidates"] = result.candidate_count;
}

void BM_DecideRules(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const PolicyPtr policy = MustLoad(RulesPolicy(n));
  const DecisionState s = MustState("time: {hour: 12}\npeer: {phone_available: true}\n");
  const DecisionInput input = s.Input();
  RunDecisions(state, *policy, input);
  if (state.counters["rule"] != n - 1) state.SkipWithError("the last rule did not match");
}
BENCHMARK(BM_DecideRules)->Arg(10)->Arg(100)->Arg(1000);

// route: best over every candidate the shipped catalog offers a speaker with a phone nearby.
void BM_DecideBest(benchmark::State& state) {
  const PolicyPtr policy = MustLoad(
      "apiVersion: partita/v1\nkind: Policy\nmetadata: {name: best}\nspec:\n"
      "  guards:\n    - {name: private-home, when: {request.privacy: private}, never: [cloud]}\n"
      "  defaults: {fallback: [cloud, phone, device]}\n"
      "  objective: {latency_ms: 1, cost_usd: 2000, energy_j: 0.5}\n"
      "  rules:\n    - name: best\n      route: best\n      require: {quality: {gte: 0.6}}\n");
  const DecisionState s = MustState("peer: {phone_available: true}\n");
  const DecisionInput input = s.Input();
  RunDecisions(state, *policy, input);
}
BENCHMARK(BM_DecideBest);

// The shipped balanced policy on a medium chat question: guards, five rules skipped, then
// route: best over the device and the cloud.
void BM_DecideBalancedLibrary(benchmark::State& state) {
  Result<PolicyPtr> policy = LoadPolicyFile(PARTITA_SOURCE_DIR "/policies/library/balanced.yaml");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().message().c_str());
    return;
  }
  const DecisionState s = MustState("request: {difficulty: 0.5}\n");
  const DecisionInput input = s.Input();
  RunDecisions(state, **policy, input);
}
BENCHMARK(BM_DecideBalancedLibrary);

}  // namespace
}  // namespace partita::policy
