// Markdown (people, pull requests) and CSV (scripts: one figure per row) renderers, plus the
// format helpers and file writing.
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "reports/format.h"
#include "reports/render.h"
#include "reports/summary_table.h"

namespace partita::reports {

namespace {

constexpr std::array<std::string_view, kOutcomeSlots> kSlotNames = {"device", "phone", "cloud",
                                                                    "unanswered"};

std::string MdCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string MdHeader(const Report& report, std::string_view first) {
  std::string out = "| " + std::string(first) + " |";
  for (const RunFigures& r : report.runs) out += " " + MdCell(r.name) + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < report.runs.size(); ++i) out += "---:|";
  return out + "\n";
}

// The latency at `permille` from the CDF points (the smallest value whose CDF reaches it).
std::optional<double> CdfAt(const RunFigures& r, double fraction) {
  for (const CdfPoint& p : r.latency_cdf) {
    if (p.fraction >= fraction - 1e-12) return p.ms;
  }
  return std::nullopt;
}

constexpr std::pair<const char*, double> kCdfRows[] = {
    {"fastest", 0}, {"p10", 0.10}, {"p25", 0.25}, {"p50", 0.50},    {"p75", 0.75},
    {"p90", 0.90},  {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}, {"slowest", 1.0}};

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvNumber(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

class CsvWriter {
 public:
  CsvWriter() { out_ = "run,figure,tier,hour,key,value\n"; }
  void Row(const std::string& run, std::string_view figure, std::string_view tier,
           std::string_view hour, std::string_view key, const std::string& value) {
    out_ += CsvField(run) + "," + std::string(figure) + "," + std::string(tier) + "," +
            std::string(hour) + "," + CsvField(key) + "," + value + "\n";
  }
  void Num(const std::string& run, std::string_view figure, double v, std::string_view tier = {},
           std::string_view hour = {}, std::string_view key = {}) {
    Row(run, figure, tier, hour, key, CsvNumber(v));
  }
  void Opt(const std::string& run, std::string_view figure, const std::optional<double>& v) {
    Row(run, figure, {}, {}, {}, v ? CsvNumber(*v) : std::string());
  }
  void Text(const std::string& run, std::string_view figure, std::string_view v) {
    Row(run, figure, {}, {}, {}, CsvField(v));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "html") return Format::kHtml;
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::optional<Format> FormatFromPath(std::string_view path) {
  std::string ext = std::filesystem::path(std::string(path)).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".html" || ext == ".htm") return Format::kHtml;
  if (ext == ".md" || ext == ".markdown") return Format::kMarkdown;
  if (ext == ".csv") return Format::kCsv;
  if (ext == ".json") return Format::kJson;
  return std::nullopt;
}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kHtml: return "html";
    case Format::kMarkdown: return "md";
    case Format::kCsv: return "csv";
    case Format::kJson: return "json";
  }
  return "html";
}

std::string Render(const Report& report, Format format) {
  switch (format) {
    case Format::kHtml: return RenderHtml(report);
    case Format::kMarkdown: return RenderMarkdown(report);
    case Format::kCsv: return RenderCsv(report);
    case Format::kJson: return RenderJson(report);
  }
  return RenderHtml(report);
}

std::string RenderMarkdown(const Report& report) {
  std::string out = "# Partita tradeoff report\n\n";
  for (const InputFile& f : report.inputs) {
    out += "- `" + f.path + "`: " + RunsAndRequests(report, f) + "\n";
  }
  out += "\n## Findings\n\n";
  for (const Finding& f : report.findings) {
    out += "- **" + std::string(KindName(f.kind)) + "**: " + f.text + "\n";
  }

  out += "\n## Summary\n\nBest value of a row in **bold**.\n\n" + MdHeader(report, "figure");
  std::string group;
  for (const SummaryRow& row : SummaryRows(report)) {
    if (row.group != group) {
      group = row.group;
      out += "| **" + MdCell(group) + "** |";
      for (std::size_t i = 0; i < report.runs.size(); ++i) out += " |";
      out += "\n";
    }
    out += "| " + MdCell(row.label) + " |";
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      out +=
          row.best[i] ? " **" + MdCell(row.cells[i]) + "** |" : " " + MdCell(row.cells[i]) + " |";
    }
    out += "\n";
  }

  out +=
      "\n## Latency distribution\n\nTotal latency of successful answers at each "
      "percentile (nearest rank).\n\n" +
      MdHeader(report, "percentile");
  for (const auto& [label, fraction] : kCdfRows) {
    out += std::string("| ") + label + " |";
    for (const RunFigures& r : report.runs) {
      const std::optional<double> v =
          fraction == 0 ? (r.latency_cdf.empty() ? std::nullopt
                                                 : std::optional<double>(r.latency_cdf.front().ms))
                        : CdfAt(r, fraction);
      out += " " + (v ? FormatMs(*v) : std::string("\u2013")) + " |";
    }
    out += "\n";
  }

  out += "\n## Pareto frontier (cost per 1,000 requests against p95 latency)\n\n";
  if (report.frontier.empty()) {
    out += "No run has answers.\n";
  } else {
    for (std::size_t i : report.frontier) {
      const RunFigures& r = report.runs[i];
      out += "- " + r.name + ": " + FormatUsd(*r.cost_per_1k_usd) + " per 1,000 requests, p95 " +
             FormatMs(r.latency_ms.p95) + "\n";
    }
  }

  out +=
      "\n## Tier mix by hour of day\n\nShare of completed requests by the tier that "
      "answered, by local hour.\n";
  for (const RunFigures& r : report.runs) {
    out += "\n### " + r.name +
           "\n\n| hour | requests | device | phone | cloud | unanswered |\n"
           "|---:|---:|---:|---:|---:|---:|\n";
    for (std::size_t h = 0; h < 24; ++h) {
      std::uint64_t total = 0;
      for (std::uint64_t c : r.by_hour[h]) total += c;
      char hour[8];
      std::snprintf(hour, sizeof hour, "%02zu", h);
      out += std::string("| ") + hour + " | " + FormatCount(total) + " |";
      for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
        out +=
            " " +
            (total == 0
                 ? std::string("\u2013")
                 : FormatShare(static_cast<double>(r.by_hour[h][s]) / static_cast<double>(total))) +
            " |";
      }
      out += "\n";
    }
  }

  out += "\n## Battery level distribution\n\n";
  bool any_battery = false;
  for (const RunFigures& r : report.runs) any_battery |= r.battery.samples > 0;
  if (!any_battery) {
    out += "Not recorded (router decision logs carry no battery samples).\n";
  } else {
    out += "Share of battery samples in each band of charge.\n\n" + MdHeader(report, "level");
    for (std::size_t b = 0; b < kBatteryBuckets; ++b) {
      out += "| " + std::to_string(b * 5) + "\u2013" + std::to_string(b * 5 + 5) + "% |";
      for (const RunFigures& r : report.runs) {
        out += " " +
               (r.battery.samples == 0 ? std::string(kNotRecorded)
                                       : FormatShare(static_cast<double>(r.battery.buckets[b]) /
                                                     static_cast<double>(r.battery.samples))) +
               " |";
      }
      out += "\n";
    }
  }

  out += "\n## Inputs\n\n" + MdHeader(report, "");
  const auto row = [&](const char* label, const std::function<std::string(const RunFigures&)>& f) {
    out += std::string("| ") + label + " |";
    for (const RunFigures& r : report.runs) {
      const std::string v = f(r);
      out += " " + (v.empty() ? std::string("\u2013") : MdCell(v)) + " |";
    }
    out += "\n";
  };
  row("file", [](const RunFigures& r) { return "`" + r.file + "`"; });
  row("run id", [](const RunFigures& r) { return std::to_string(r.info.run_id); });
  row("source", [](const RunFigures& r) { return r.info.source; });
  row("policy", [](const RunFigures& r) { return r.info.policy_name; });
  row("policy SHA-256", [](const RunFigures& r) { return r.info.policy_hash; });
  row("fleet", [](const RunFigures& r) { return r.info.fleet_name; });
  row("fleet SHA-256", [](const RunFigures& r) { return r.info.fleet_hash; });
  row("catalog SHA-256", [](const RunFigures& r) { return r.info.catalog_hash; });
  row("seed", [](const RunFigures& r) {
    return r.info.source == "sim" ? std::to_string(r.info.seed) : std::string();
  });
  row("hours", [](const RunFigures& r) {
    return r.info.hours > 0 ? FormatFixed(r.info.hours, 2) : std::string();
  });
  row("devices", [](const RunFigures& r) {
    return r.info.devices > 0 ? FormatCount(static_cast<std::uint64_t>(r.info.devices))
                              : std::string();
  });
  row("partita version", [](const RunFigures& r) { return r.info.partita_version; });
  if (!report.rerun.empty() || !report.command.empty()) {
    out += "\nTo reproduce:\n\n```sh\n";
    for (const std::string& c : report.rerun) out += c + "\n";
    if (!report.command.empty()) out += report.command + "\n";
    out += "```\n";
  }
  return out;
}

std::string RenderCsv(const Report& report) {
  CsvWriter w;
  for (const RunFigures& r : report.runs) {
    const std::string& n = r.name;
    w.Text(n, "file", r.file);
    w.Num(n, "run_id", static_cast<double>(r.info.run_id));
    w.Text(n, "source", r.info.source);
    w.Text(n, "label", r.info.label);
    w.Text(n, "policy_name", r.info.policy_name);
    w.Text(n, "policy_hash", r.info.policy_hash);
    w.Text(n, "fleet_name", r.info.fleet_name);
    w.Text(n, "fleet_hash", r.info.fleet_hash);
    w.Text(n, "catalog_hash", r.info.catalog_hash);
    w.Text(n, "seed", std::to_string(r.info.seed));
    w.Num(n, "hours", r.info.hours);
    w.Num(n, "devices", static_cast<double>(r.info.devices));
    w.Text(n, "partita_version", r.info.partita_version);
    w.Num(n, "requests", static_cast<double>(r.requests));
    w.Num(n, "completed", static_cast<double>(r.completed));
    w.Num(n, "in_flight", static_cast<double>(r.in_flight()));
    w.Num(n, "succeeded", static_cast<double>(r.succeeded));
    w.Num(n, "truncated", static_cast<double>(r.truncated));
    w.Num(n, "deadline_missed", static_cast<double>(r.deadline_missed));
    w.Num(n, "guard_hits", static_cast<double>(r.guard_hits));
    w.Num(n, "fell_back", static_cast<double>(r.fell_back));
    w.Num(n, "failed", static_cast<double>(r.failed()));
    w.Num(n, "failed_single_attempt", static_cast<double>(r.failed_single_attempt));
    w.Num(n, "decided_offline", static_cast<double>(r.decided_offline));
    w.Opt(n, "success_rate", r.success_rate);
    const auto pct = [&](std::string_view prefix, const Percentiles& p, std::string_view tier) {
      const std::string f(prefix);
      w.Num(n, f + "_count", static_cast<double>(p.count), tier);
      if (p.count == 0) {
        for (const char* s : {"_p50_ms", "_p95_ms", "_p99_ms"}) w.Row(n, f + s, tier, {}, {}, "");
        return;
      }
      w.Num(n, f + "_p50_ms", p.p50, tier);
      w.Num(n, f + "_p95_ms", p.p95, tier);
      w.Num(n, f + "_p99_ms", p.p99, tier);
    };
    pct("latency", r.latency_ms, {});
    pct("ttft", r.ttft_ms, {});
    w.Num(n, "cost_usd", r.cost_usd);
    w.Opt(n, "cost_per_1k_usd", r.cost_per_1k_usd);
    w.Opt(n, "cost_per_device_day_usd", r.cost_per_device_day_usd);
    w.Num(n, "energy_j", r.energy_j);
    w.Opt(n, "energy_wh_per_device_day", r.energy_wh_per_device_day);
    w.Opt(n, "device_days", r.device_days);
    w.Opt(n, "battery_empty_events", r.battery_empty_events);
    w.Opt(n, "drain_wh_per_device_day", r.drain_wh_per_device_day);
    w.Opt(n, "dropped_battery_empty", r.dropped_battery_empty);
    w.Opt(n, "mean_quality", r.mean_quality);
    w.Num(n, "labeled_answers", static_cast<double>(r.labeled_answers));
    w.Opt(n, "labeled_accuracy", r.labeled_accuracy);
    w.Opt(n, "labeled_strong_share", r.labeled_strong_share);
    w.Num(n, "on_frontier", r.on_frontier ? 1 : 0);
    for (std::size_t t = 0; t < kTierCount; ++t) {
      w.Num(n, "decided", static_cast<double>(r.decided[t]), kSlotNames[t]);
    }
    for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
      w.Num(n, "answered", static_cast<double>(r.answered[s]), kSlotNames[s]);
    }
    for (std::size_t t = 0; t < kTierCount; ++t)
      pct("latency", r.tier_latency_ms[t], kSlotNames[t]);
    for (const auto& [cause, count] : r.fallback_causes) {
      w.Num(n, "fallback", static_cast<double>(count), {}, {}, cause);
    }
    for (std::size_t h = 0; h < 24; ++h) {
      for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
        w.Num(n, "requests_by_hour", static_cast<double>(r.by_hour[h][s]), kSlotNames[s],
              std::to_string(h));
      }
    }
    for (const CdfPoint& p : r.latency_cdf) {
      w.Num(n, "latency_cdf_ms", p.ms, {}, {}, CsvNumber(p.fraction));
    }
    if (r.battery.samples > 0) {
      w.Num(n, "battery_samples", static_cast<double>(r.battery.samples));
      w.Num(n, "battery_mean_pct", r.battery.mean_pct);
      w.Num(n, "battery_below_20", static_cast<double>(r.battery.below_20));
      w.Num(n, "battery_empty_samples", static_cast<double>(r.battery.empty));
      w.Num(n, "battery_charging_samples", static_cast<double>(r.battery.charging));
      for (std::size_t b = 0; b < kBatteryBuckets; ++b) {
        w.Num(n, "battery_bin", static_cast<double>(r.battery.buckets[b]), {}, {},
              std::to_string(b * 5) + "-" + std::to_string(b * 5 + 5));
      }
    } else {
      w.Row(n, "battery_samples", {}, {}, {}, "");
    }
    for (const auto& [name, value] : r.metrics) w.Num(n, "run_metric", value, {}, {}, name);
  }
  return w.Take();
}

Status WriteFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
      return IoError("cannot write to standard output");
    }
    return Status::Ok();
  }
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write '" + path + "': cannot create '" + tmp + "'");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) return IoError("cannot write '" + tmp + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return IoError("cannot write '" + path + "': " + ec.message());
  }
  return Status::Ok();
}

}  // namespace partita::reports
