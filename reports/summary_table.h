// The summary table that HTML and Markdown share: one row per figure, one cell per run, already
// formatted for people, with the best cell of each comparable row marked. Used by the
// renderers only. Pure function; any thread.
#pragma once

#include <string>
#include <vector>

#include "reports/report.h"

namespace partita::reports {

struct SummaryRow {
  std::string group;  // "Latency of answers"
  std::string label;  // "p95"
  std::string note;   // what the figure is, for a tooltip
  std::vector<std::string> cells;
  std::vector<bool> best;  // the best cell(s) of the row; all false when not comparable
};

std::vector<SummaryRow> SummaryRows(const Report& report);

// "3 runs, 7 requests per run": the runs of one input file.
std::string RunsAndRequests(const Report& report, const InputFile& file);

}  // namespace partita::reports
