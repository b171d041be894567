#include "sim/run.h"

#include "common/hash.h"
#include "sim/run_database.h"

namespace partita::sim {

Result<std::vector<RunSummary>> RunSimulation(
    const SimulationOptions& options, const std::function<void(const SimProgress&)>& progress) {
  if (!options.fleet) return InvalidArgument("no fleet");
  if (options.policies.empty()) return InvalidArgument("no policy to simulate");
  if (options.hours <= 0) return InvalidArgument("--hours must be positive");
  Result<std::unique_ptr<RunDatabase>> db = RunDatabase::Create(options.out_path);
  if (!db.ok()) return db.status();

  std::vector<RunSummary> summaries;
  for (std::size_t i = 0; i < options.policies.size(); ++i) {
    const policy::Policy& policy = *options.policies[i];
    RunSummary summary;
    storage::RunInfo& info = summary.info;
    info.source = "sim";
    info.label = policy.name();
    for (const RunSummary& earlier : summaries) {
      if (earlier.info.label == info.label) info.label += " #" + std::to_string(i + 1);
    }
    info.policy_name = policy.name();
    info.policy_hash = Sha256Hex(policy.source());
    info.fleet_name = options.fleet->name;
    info.fleet_hash = options.fleet->content_hash;
    info.catalog_hash = policy.catalog()->content_hash();
    info.seed = options.seed;
    info.hours = options.hours;
    info.devices = options.fleet->TotalDevices();
    info.partita_version = PARTITA_VERSION;
    info.started_unix_ms = 0;  // kept out so equal inputs give byte-identical files
    info.time_origin_unix_ms = 0;
    PARTITA_RETURN_IF_ERROR((*db)->BeginRun(info));

    Simulator simulator(*options.fleet, policy, options.seed, options.hours);
    SimProgress p;
    p.run_index = i;
    p.run_count = options.policies.size();
    p.label = info.label;
    p.hours_total = options.hours;
    summary.stats = simulator.Run(info.run_id, **db, [&](double hours_done, std::uint64_t n) {
      if (!progress) return;
      p.hours_done = hours_done;
      p.requests = n;
      progress(p);
    });
    PARTITA_RETURN_IF_ERROR((*db)->Flush());
    summaries.push_back(std::move(summary));
  }
  PARTITA_RETURN_IF_ERROR((*db)->Finish());
  if (!options.csv_path.empty()) {
    PARTITA_RETURN_IF_ERROR(ExportRequestsCsv(options.out_path, options.csv_path));
  }
  return summaries;
}

}  // namespace partita::sim
