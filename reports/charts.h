// Inline SVG charts for the HTML report, drawn from a Report: latency CDF (log x) and its tail,
// scatter plots
// (cost against p95 with the Pareto frontier; quality against cost), tier mix by hour of day
// (100% stacked bars per run), the overall tier mix, and the battery level distribution.
// Every chart is an <svg class="chart" data-chart="NAME"> with a viewBox, so it scales with the
// page; colours come from PolicyColour/TierColour so a policy or tier looks the same everywhere.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "reports/report.h"

namespace partita::reports {

// A colour per run index (colour-blind-safe palette, cycled) and per outcome slot
// (device, phone, cloud, unanswered).
std::string_view PolicyColour(std::size_t run_index);
std::string_view TierColour(std::size_t slot);

// XML/HTML text escaping (&, <, >, ", ').
std::string Escape(std::string_view text);

// The whole distribution, or (tail) only from 90% to 100%, where p95 and p99 live.
std::string LatencyCdfChart(const Report& report, bool tail = false);
std::string CostLatencyChart(const Report& report);
std::string QualityCostChart(const Report& report);
std::string TierMixByHourChart(const Report& report, std::size_t run_index);
std::string TierMixChart(const Report& report);
// Empty when no run has battery samples.
std::string BatteryChart(const Report& report);

}  // namespace partita::reports
