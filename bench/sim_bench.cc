// Fleet simulator throughput and memory, end to end, on the shipped city fleet.
//
//   sim_bench [--fleet F] [--policy P] [--hours H] [--sim-only]
//
// Prints: the simulation alone (arrivals, decisions, execution, batteries; the rows are handed
// to a sink that neither renders nor stores them), then the whole `partita sim` path rendering
// and writing the run database, and the memory used per device.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "bench/flags.h"
#include "device_profiles/catalog_loader.h"
#include "policies/loader.h"
#include "sim/arrivals.h"
#include "sim/run.h"
#include "sim/simulator.h"

namespace {

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = PARTITA_SOURCE_DIR;
  std::string fleet_path = root + "/sim/fleets/city-100k.yaml";
  std::string policy_path = root + "/policies/library/balanced.yaml";
  double hours = 24;
  bool sim_only = false;
  partita::bench::Flags("usage: sim_bench [--fleet F] [--policy P] [--hours H] [--sim-only]")
      .Option("--fleet", &fleet_path)
      .Option("--policy", &policy_path)
      .Option("--hours", &hours)
      .Switch("--sim-only", &sim_only)
      .Parse(argc, argv);
  using namespace partita;
  CatalogPtr catalog = DefaultCatalog();
  Result<sim::FleetPtr> fleet = sim::LoadFleetFile(fleet_path, *catalog);
  Result<policy::PolicyPtr> policy = policy::LoadPolicyFile(policy_path, catalog);
  if (!fleet.ok() || !policy.ok()) {
    std::fprintf(stderr, "%s\n%s\n", fleet.status().message().c_str(),
                 policy.status().message().c_str());
    return 1;
  }
  std::printf("fleet %s: %lld devices, %.0f simulated hours, policy %s\n", (*fleet)->name.c_str(),
              static_cast<long long>((*fleet)->TotalDevices()), hours, (*policy)->name().c_str());

  const double rss_before = PeakRssMb();
  {
    sim::NullSink sink;
    const auto t0 = std::chrono::steady_clock::now();
    sim::Simulator simulator(**fleet, **policy, 1, hours);
    sim::SimulationStats stats = simulator.Run(1, sink);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rss_run = PeakRssMb();
    std::printf(
        "simulation only (arrivals on a second thread; rows neither rendered nor stored): "
        "%llu requests in %.2f s = %.0f requests/s\n",
        static_cast<unsigned long long>(stats.requests), secs,
        static_cast<double>(stats.requests) / secs);
    std::printf(
        "memory: %.0f bytes per device at peak (world, names, arrival queue; includes a fixed "
        "%.1f MB of arrivals generated ahead); sizeof(SimDevice) = %zu\n",
        (rss_run - rss_before) * 1024 * 1024 / static_cast<double>((*fleet)->TotalDevices()),
        static_cast<double>(sizeof(sim::Arrival) * sim::ArrivalStream::kBufferedArrivals) / 1e6,
        sizeof(sim::SimDevice));
  }
  if (!sim_only) {
    const std::string out =
        (std::filesystem::temp_directory_path() / "partita-sim-bench.db").string();
    sim::SimulationOptions options;
    options.fleet = *fleet;
    options.policies = {*policy};
    options.hours = hours;
    options.seed = 1;
    options.out_path = out;
    const auto t0 = std::chrono::steady_clock::now();
    Result<std::vector<sim::RunSummary>> runs = sim::RunSimulation(options);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!runs.ok()) {
      std::fprintf(stderr, "%s\n", runs.status().message().c_str());
      return 1;
    }
    const auto requests = (*runs)[0].stats.requests;
    std::printf(
        "end to end into SQLite: %llu requests in %.2f s = %.0f requests/s "
        "(database %.0f MB)\n",
        static_cast<unsigned long long>(requests), secs, static_cast<double>(requests) / secs,
        static_cast<double>(std::filesystem::file_size(out)) / 1e6);
    std::filesystem::remove(out);
  }
  std::printf("peak RSS %.0f MB\n", PeakRssMb());
  return 0;
}
