// Renderers: a Report (reports/report.h) as one self-contained HTML page (inline CSS and SVG
// charts, no network access), Markdown for pull requests, CSV (one figure per row) and JSON for
// scripts. All carry the same figures; docs/reports.md describes each format.
// Pure functions of the Report; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "reports/report.h"

namespace partita::reports {

enum class Format { kHtml, kMarkdown, kCsv, kJson };

// "html", "md" (or "markdown"), "csv", "json".
std::optional<Format> ParseFormat(std::string_view name);
// From a file name's extension: .html/.htm, .md/.markdown, .csv, .json.
std::optional<Format> FormatFromPath(std::string_view path);
std::string_view FormatName(Format format);

std::string RenderHtml(const Report& report);
std::string RenderMarkdown(const Report& report);
std::string RenderCsv(const Report& report);
std::string RenderJson(const Report& report);
std::string Render(const Report& report, Format format);

// Writes `text` to `path` (through a temporary file renamed into place).
Status WriteFile(const std::string& path, const std::string& text);

}  // namespace partita::reports
