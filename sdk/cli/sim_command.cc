// `partita sim`: fleet simulation into a run database.
#include <chrono>
#include <cstdio>

#include "device_profiles/catalog_loader.h"
#include "policies/loader.h"
#include "reports/format.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/progress_bar.h"
#include "sdk/cli/text_table.h"
#include "sim/replay.h"
#include "sim/run.h"

namespace partita::cli {

namespace {

struct SimArgs {
  std::string fleet;
  std::string replay;
  std::vector<std::string> policies;
  double hours = 24;
  std::uint64_t seed = 1;
  std::string out;
  std::int64_t devices = 0;
  std::string catalog;
  std::string csv;
  bool quiet = false;
};

std::string Pct(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  return FormatNumber(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1) + "%";
}

int RunReplayCommand(const SimArgs& args, const CatalogPtr& catalog) {
  sim::ReplayOptions options;
  options.log_path = args.replay;
  options.out_path = args.out;
  for (const std::string& path : args.policies) {
    Result<policy::PolicyPtr> p = policy::LoadPolicyFile(path, catalog);
    if (!p.ok()) {
      PrintError(p.status().message());
      return 1;
    }
    options.policies.push_back(*p);
  }
  Result<std::vector<sim::ReplaySummary>> runs = sim::RunReplay(options);
  if (!runs.ok()) {
    PrintError(runs.status().message());
    return 1;
  }
  if (!args.quiet) {
    TextTable table({"run", "requests", "answered", "decided elsewhere than production"});
    for (const sim::ReplaySummary& r : *runs) {
      table.AddRow({r.label, WithThousands(r.requests), Pct(r.answered, r.requests),
                    r.label.rfind("production", 0) == 0 ? "-" : Pct(r.changed, r.requests)});
    }
    std::printf("%swrote %s\nnext: partita report %s --out report.html\n", table.ToString().c_str(),
                args.out.c_str(), args.out.c_str());
  }
  return 0;
}

int RunSim(const SimArgs& args) {
  Result<CatalogPtr> catalog = LoadCatalogOrDefault(args.catalog);
  if (!catalog.ok()) {
    PrintError(catalog.status().message());
    return 1;
  }
  if (!args.replay.empty()) return RunReplayCommand(args, *catalog);
  if (args.fleet.empty()) {
    PrintError("--fleet is required (or --replay ROUTER.db to re-decide a production log)");
    return 2;
  }
  Result<sim::FleetPtr> fleet = sim::LoadFleetFile(args.fleet, **catalog);
  if (!fleet.ok()) {
    PrintError(fleet.status().message());
    return 1;
  }
  sim::SimulationOptions options;
  if (args.devices > 0) {
    options.fleet = std::make_shared<sim::FleetSpec>(sim::ScaleFleet(**fleet, args.devices));
  } else {
    options.fleet = *fleet;
  }
  for (const std::string& path : args.policies) {
    Result<policy::PolicyPtr> p = policy::LoadPolicyFile(path, *catalog);
    if (!p.ok()) {
      PrintError(p.status().message());
      return 1;
    }
    options.policies.push_back(*p);
  }
  options.seed = args.seed;
  options.hours = args.hours;
  options.out_path = args.out;
  options.csv_path = args.csv;

  if (!args.quiet) {
    std::fprintf(
        stderr,
        "simulating %s devices (%s households) of '%s' for %s h, seed %llu, %zu "
        "polic%s\n",
        WithThousands(static_cast<std::uint64_t>(options.fleet->TotalDevices())).c_str(),
        WithThousands(static_cast<std::uint64_t>(options.fleet->TotalHouseholds())).c_str(),
        options.fleet->name.c_str(), FormatNumber(args.hours, 2).c_str(),
        static_cast<unsigned long long>(args.seed), options.policies.size(),
        options.policies.size() == 1 ? "y" : "ies");
  }
  ProgressBar bar(args.quiet);
  const auto start = std::chrono::steady_clock::now();
  auto run_start = start;
  Result<std::vector<sim::RunSummary>> runs =
      sim::RunSimulation(options, [&](const sim::SimProgress& p) {
        if (p.requests == 0) run_start = std::chrono::steady_clock::now();  // a run starts
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
        const double rate = secs > 0 ? static_cast<double>(p.requests) / secs : 0;
        const double fraction = (static_cast<double>(p.run_index) + p.hours_done / p.hours_total) /
                                static_cast<double>(p.run_count);
        bar.Update(p.label, fraction,
                   FormatNumber(p.hours_done, 1) + "/" + FormatNumber(p.hours_total, 1) + " h  " +
                       WithThousands(p.requests) + " req  " +
                       WithThousands(static_cast<std::uint64_t>(rate)) + " req/s");
      });
  bar.Finish();
  if (!runs.ok()) {
    PrintError(runs.status().message());
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TextTable table({"policy", "requests", "ok", "device", "phone", "cloud", "fallbacks", "p50_ms",
                   "p95_ms", "cost_usd", "battery_empty"});
  std::uint64_t total = 0;
  for (const sim::RunSummary& r : *runs) {
    const sim::SimulationStats& s = r.stats;
    total += s.requests;
    table.AddRow({r.info.label, WithThousands(s.requests), Pct(s.succeeded, s.requests),
                  Pct(s.answered_by[0], s.succeeded), Pct(s.answered_by[1], s.succeeded),
                  Pct(s.answered_by[2], s.succeeded), Pct(s.fell_back, s.requests),
                  FormatNumber(s.latency_ms.Percentile(50), 0),
                  FormatNumber(s.latency_ms.Percentile(95), 0), reports::FormatUsd(s.cost_usd),
                  WithThousands(s.battery_empty_events)});
  }
  if (!args.quiet) {
    std::printf("%s", table.ToString().c_str());
    std::printf(
        "(device/phone/cloud: shares of the answered requests; p50/p95 from a histogram,\n"
        " within 1%%; `partita report` computes both exactly)\n");
    std::printf("wrote %s: %zu run(s), %s requests in %.1f s (%s req/s)\n", args.out.c_str(),
                runs->size(), WithThousands(total).c_str(), secs,
                WithThousands(static_cast<std::uint64_t>(secs > 0 ? total / secs : 0)).c_str());
    if (!args.csv.empty()) std::printf("wrote %s\n", args.csv.c_str());
    std::printf("next: partita report %s --out report.html\n", args.out.c_str());
  }
  return 0;
}

}  // namespace

void AddSimCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand(
      "sim",
      "Simulate a fleet under one or more policies (same world for each) into a run database, "
      "or replay a production decision log under other policies");
  CLI::Option* fleet =
      sim->add_option("--fleet", args->fleet, "Fleet YAML (e.g. sim/fleets/city-100k.yaml)")
          ->check(CLI::ExistingFile);
  sim->add_option("--replay", args->replay,
                  "Instead of a fleet: re-decide the requests of a router decision log under "
                  "each --policy and predict their outcomes (counterfactual replay)")
      ->check(CLI::ExistingFile)
      ->excludes(fleet);
  sim->add_option("--policy", args->policies, "Policy YAML; repeat to compare policies")
      ->required()
      ->check(CLI::ExistingFile);
  sim->add_option("--hours", args->hours, "Simulated hours")
      ->default_val(24)
      ->check(CLI::Range(0.001, 24.0 * 366));
  sim->add_option("--seed", args->seed, "Random seed; the same seed gives the same result")
      ->default_val(1);
  sim->add_option("--out", args->out, "Run database to write (replaced if it exists)")->required();
  sim->add_option("--devices", args->devices,
                  "Scale the fleet's households to about this many devices")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  sim->add_option("--catalog", args->catalog, "Catalog YAML (default: the built-in catalog)");
  sim->add_option("--csv", args->csv, "Also export every request as CSV to this file");
  sim->add_flag("--quiet,-q", args->quiet, "No progress bar or summary");
  sim->callback([args, &exit_code] { exit_code = RunSim(*args); });
}

}  // namespace partita::cli
