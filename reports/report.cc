// BuildReport: loads every file, names runs uniquely, computes the frontier and the findings.
#include "reports/report.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "reports/format.h"

namespace partita::reports {

namespace {

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

bool AllUnique(const std::vector<RunFigures>& runs) {
  std::set<std::string> seen;
  for (const RunFigures& r : runs) {
    if (!seen.insert(r.name).second) return false;
  }
  return true;
}

// Labels that repeat get the file's name, then the run id, so every run has its own name.
void NameRuns(std::vector<RunFigures>& runs) {
  std::map<std::string, int> count;
  for (const RunFigures& r : runs) ++count[r.name];
  for (RunFigures& r : runs) {
    if (count[r.name] > 1) r.name += " (" + BaseName(r.file) + ")";
  }
  if (AllUnique(runs)) return;
  count.clear();
  for (const RunFigures& r : runs) ++count[r.name];
  for (RunFigures& r : runs) {
    if (count[r.name] > 1) {
      r.name.insert(r.name.size() - (r.name.back() == ')' ? 1 : 0),
                    " run " + std::to_string(r.info.run_id));
    }
  }
  if (AllUnique(runs)) return;
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].name += " #" + std::to_string(i + 1);
}

std::string HoursText(double hours) {
  std::string s = FormatFixed(hours, 3);
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
    const bool dot = s.back() == '.';
    s.pop_back();
    if (dot) break;
  }
  return s;
}

// One `partita sim` command per (file, fleet, seed, hours) group of simulation runs.
std::vector<std::string> RerunCommands(const std::vector<RunFigures>& runs) {
  std::vector<std::string> out;
  std::vector<bool> done(runs.size(), false);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const storage::RunInfo& a = runs[i].info;
    if (done[i] || a.source != "sim") continue;
    std::string cmd =
        "partita sim --fleet " + (a.fleet_name.empty() ? "FLEET" : a.fleet_name) + ".yaml";
    for (std::size_t j = i; j < runs.size(); ++j) {
      const storage::RunInfo& b = runs[j].info;
      if (done[j] || b.source != "sim" || runs[j].file != runs[i].file ||
          b.fleet_name != a.fleet_name || b.seed != a.seed || b.hours != a.hours ||
          b.devices != a.devices) {
        continue;
      }
      done[j] = true;
      cmd += " --policy " + (b.policy_name.empty() ? b.label : b.policy_name) + ".yaml";
    }
    cmd += " --hours " + HoursText(a.hours) + " --seed " + std::to_string(a.seed);
    // The fleet may have been scaled (`partita sim --devices N`); the device count says to what.
    if (a.devices > 0) cmd += " --devices " + std::to_string(a.devices);
    cmd += " --out " + runs[i].file;
    out.push_back(std::move(cmd));
  }
  return out;
}

}  // namespace

std::string_view KindName(Finding::Kind kind) {
  switch (kind) {
    case Finding::Kind::kSummary: return "summary";
    case Finding::Kind::kFrontier: return "frontier";
    case Finding::Kind::kDominance: return "dominance";
    case Finding::Kind::kTradeoff: return "tradeoff";
    case Finding::Kind::kAttention: return "attention";
    case Finding::Kind::kData: return "data";
  }
  return "summary";
}

std::vector<std::size_t> ParetoFrontier(const std::vector<std::pair<double, double>>& points) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j) continue;
      const auto& [ci, li] = points[i];
      const auto& [cj, lj] = points[j];
      dominated = cj <= ci && lj <= li && (cj < ci || lj < li);
    }
    if (!dominated) out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
    return points[a] != points[b] ? points[a] < points[b] : a < b;
  });
  return out;
}

Result<Report> BuildReport(const std::vector<std::string>& paths, const BuildOptions& options) {
  if (paths.empty()) return InvalidArgument("no run database given");
  Report report;
  report.partita_version = options.partita_version;
  report.command = options.command;
  for (const std::string& path : paths) {
    Result<std::vector<RunFigures>> runs = LoadRuns(path, options.threads);
    if (!runs.ok()) return runs.status();
    InputFile input;
    input.path = path;
    input.runs = runs->size();
    for (RunFigures& r : *runs) {
      input.requests += r.requests;
      report.runs.push_back(std::move(r));
    }
    report.inputs.push_back(std::move(input));
  }
  NameRuns(report.runs);

  std::vector<std::pair<double, double>> points;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunFigures& r = report.runs[i];
    if (r.latency_ms.count == 0 || !r.cost_per_1k_usd) continue;
    points.emplace_back(*r.cost_per_1k_usd, r.latency_ms.p95);
    index.push_back(i);
  }
  for (std::size_t k : ParetoFrontier(points)) {
    report.frontier.push_back(index[k]);
    report.runs[index[k]].on_frontier = true;
  }
  report.findings = WriteFindings(report.runs, report.frontier);
  report.rerun = RerunCommands(report.runs);
  return report;
}

}  // namespace partita::reports
