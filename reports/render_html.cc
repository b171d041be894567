// The HTML report: one self-contained page (inline CSS, inline SVG, a tiny inline script that
// only measures the charts for the browser test), readable on a laptop and printable.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <set>

#include "reports/charts.h"
#include "reports/format.h"
#include "reports/render.h"
#include "reports/summary_table.h"

namespace partita::reports {

namespace {

constexpr const char* kCss = R"css(
:root{--ink:#1f2933;--muted:#5f6b7a;--faint:#9aa5b1;--line:#e3e7ed;--bg:#f4f6f9}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-variant-numeric:tabular-nums}
.wrap{max-width:1180px;margin:0 auto;padding:0 28px}
header.top{background:#fff;border-bottom:1px solid var(--line);padding:26px 0 18px}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:var(--muted);margin:0;font-weight:650}
h1{font-size:26px;line-height:1.25;margin:4px 0 6px;font-weight:700}
.meta{color:var(--muted);margin:0 0 14px}
nav{font-size:13.5px;margin-top:12px;color:var(--muted)}
nav a{color:var(--muted);text-decoration:none;margin-right:16px;border-bottom:1px dotted var(--faint)}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px 22px;margin:20px 0}
h2{font-size:19px;margin:0 0 4px;font-weight:700}
.lede{color:var(--muted);margin:0 0 16px;font-size:14px;max-width:860px}
h3{font-size:14.5px;margin:0 0 4px;font-weight:650}
.legend{display:flex;flex-wrap:wrap;gap:6px 20px;font-size:13.5px;margin:0 0 10px}
.legend span{white-space:nowrap}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.dot{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:6px;vertical-align:-1px;border:2.2px solid #52606d}
.dash{display:inline-block;width:22px;margin-right:6px;vertical-align:3px;border-top:2px dashed #52606d}
.shade{display:inline-block;width:14px;height:12px;margin-right:6px;vertical-align:-1px;background:rgba(82,96,109,.12)}
ul.findings{list-style:none;padding:0;margin:6px 0 0}
ul.findings li{display:flex;gap:14px;padding:10px 0;border-top:1px solid var(--line);max-width:1040px}
ul.findings li:first-child{border-top:0}
.tag{flex:0 0 86px;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.06em;padding-top:3px;color:var(--muted)}
.kind-summary .tag{color:#1f2933}.kind-frontier .tag{color:#52606d}.kind-dominance .tag{color:#138a63}
.kind-tradeoff .tag{color:#1f6fb5}.kind-attention .tag{color:#b5432a}.kind-data .tag{color:var(--faint)}
.kind-data{color:var(--muted);font-size:14px}
strong.run{font-weight:700}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:5px 12px;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{font-size:13.5px;border-bottom:2px solid #cbd2d9;vertical-align:bottom}
tr.group th{text-align:left;background:#f3f5f8;font-size:11.5px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);padding-top:8px}
td.best{font-weight:700}
td.best::after{content:" \2605";color:#d97706;font-size:11px}
td.nr{color:var(--faint);font-style:italic}
td.label{color:#323f4b}
table.compact th{white-space:normal}
.nw{white-space:nowrap}
table.many{font-size:12.5px}
table.many th,table.many td{padding:4px 7px}
table.many thead th,table.many td.label,table.many td.parts{white-space:normal}
table.many thead th{font-size:12.5px;overflow-wrap:anywhere}
table.many td.label{min-width:150px}
table.inputs.many td{white-space:normal;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f3f5f8;padding:10px 14px;border-radius:6px;overflow-x:auto;font-size:12.5px;margin:8px 0 0;white-space:pre-wrap;word-break:break-all}
figure{margin:0}
figcaption{font-size:13px;color:var(--muted);margin-top:6px}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:28px}
.grid3{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:18px 28px;margin-top:18px}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:12px;fill:#3e4c59}
svg.chart .grid{stroke:#e9edf2;stroke-width:1}
svg.chart .axis{stroke:#9aa5b1;stroke-width:1}
svg.chart .reference{stroke:#9aa5b1;stroke-width:1;stroke-dasharray:4 4}
svg.chart .reference-label{fill:#7b8794;font-size:11px}
svg.chart .axis-title{fill:#52606d;font-size:12.5px;font-weight:600}
svg.chart .point-label,svg.chart .row-label{font-size:12.5px;font-weight:700}
svg.chart .bar-label{fill:#fff;font-size:11.5px;font-weight:650}
svg.chart .bar-label.dark{fill:#3b2a00}
svg.chart .frontier{fill:none;stroke:#52606d;stroke-width:1.6;stroke-dasharray:6 4}
svg.chart .dominated{fill:#52606d;fill-opacity:.07;stroke:none}
.note{color:var(--muted);font-size:14px;background:#f8f9fb;border-left:3px solid #cbd2d9;padding:8px 12px;margin:8px 0 0}
footer{color:var(--faint);font-size:12.5px;padding:6px 0 40px}
@media (max-width:900px){.grid2{grid-template-columns:minmax(0,1fr)}.wrap{padding:0 14px}}
@media print{
  body{background:#fff;font-size:10.5pt}
  header.top{border:0;padding:0 0 8pt}
  nav{display:none}
  .wrap{max-width:none;padding:0}
  section{border:0;border-radius:0;padding:0;margin:0 0 16pt}
  figure,tr,li{break-inside:avoid}
  #latency,#tradeoffs,#battery{break-inside:avoid-page}
  .scroll{overflow:visible}
  table{font-size:9pt}
  table.summary,table.inputs{table-layout:fixed;width:100%}
  table.summary th,table.summary td,table.inputs th,table.inputs td{white-space:normal;overflow-wrap:anywhere;padding:2pt 4pt}
  table.summary thead th:first-child,table.inputs thead th:first-child{width:24%}
  table.many{font-size:7.5pt}
  table.many td.label{min-width:0}
  td.best::after{content:""}
  pre{white-space:pre-wrap}
}
@page{margin:14mm}
)css";

// The page measures its charts and records what it found, for the browser test: every
// svg.chart's rendered size and number of drawn elements, the tables that need a horizontal
// scrollbar (none should), and any script error.
constexpr const char* kErrorHook =
    "<script>window.addEventListener('error',function(e){var d=document.documentElement;"
    "d.setAttribute('data-page-errors',(d.getAttribute('data-page-errors')||'')+"
    "String(e.message)+';');});</script>";
constexpr const char* kSelfCheck =
    "<script>(function(){var ok=0,sizes=[];"
    "document.querySelectorAll('svg.chart').forEach(function(s){"
    "var b=s.getBoundingClientRect();"
    "var n=s.querySelectorAll('path,rect,circle,line,polyline').length;"
    "if(b.width>0&&b.height>0&&n>0)ok++;"
    "sizes.push(s.getAttribute('data-chart')+':'+Math.round(b.width)+'x'+Math.round(b.height)+"
    "':'+n);});"
    "var d=document.documentElement;d.setAttribute('data-charts-rendered',String(ok));"
    "d.setAttribute('data-chart-sizes',sizes.join(' '));"
    "var over=[];document.querySelectorAll('.scroll').forEach(function(s){"
    "if(s.scrollWidth>s.clientWidth+1)over.push(s.firstElementChild.className);});"
    "d.setAttribute('data-tables-overflowing',over.join(' '));})();</script>";

std::string Tag(Finding::Kind kind) {
  switch (kind) {
    case Finding::Kind::kSummary: return "Winners";
    case Finding::Kind::kFrontier: return "Frontier";
    case Finding::Kind::kDominance: return "Dominates";
    case Finding::Kind::kTradeoff: return "Tradeoff";
    case Finding::Kind::kAttention: return "Attention";
    case Finding::Kind::kData: return "Data";
  }
  return "";
}

bool WordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Escapes a finding and shows each run name in its colour.
std::string Highlight(const Report& report, const std::string& text) {
  std::vector<std::size_t> order(report.runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return report.runs[a].name.size() > report.runs[b].name.size();
  });
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    bool matched = false;
    const bool boundary_before = pos == 0 || !WordChar(text[pos - 1]);
    if (boundary_before) {
      for (std::size_t i : order) {
        const std::string& name = report.runs[i].name;
        if (name.empty() || text.compare(pos, name.size(), name) != 0) continue;
        const std::size_t end = pos + name.size();
        if (end < text.size() && WordChar(text[end])) continue;
        out += "<strong class=\"run\" style=\"color:" + std::string(PolicyColour(i)) + "\">" +
               Escape(name) + "</strong>";
        pos = end;
        matched = true;
        break;
      }
    }
    if (!matched) {
      out += Escape(std::string_view(text).substr(pos, 1));
      ++pos;
    }
  }
  return out;
}

std::string PolicyLegend(const Report& report) {
  std::string out = "<div class=\"legend\">";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    out += "<span><i class=\"swatch\" style=\"background:" + std::string(PolicyColour(i)) +
           "\"></i>" + Escape(report.runs[i].name) + "</span>";
  }
  return out + "</div>";
}

std::string TierLegend() {
  static const char* kNames[] = {"device", "phone", "cloud", "unanswered"};
  std::string out = "<div class=\"legend\">";
  for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
    out += "<span><i class=\"swatch\" style=\"background:" + std::string(TierColour(s)) +
           "\"></i>" + kNames[s] + "</span>";
  }
  return out + "</div>";
}

std::string UtcTime(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Title(const Report& report) {
  std::string names;
  if (report.runs.size() <= 4) {
    for (std::size_t i = 0; i < report.runs.size(); ++i) {
      if (i > 0) names += i + 1 == report.runs.size() ? " and " : ", ";
      names += report.runs[i].name;
    }
    return report.runs.size() == 1 ? names : names + " compared";
  }
  return std::to_string(report.runs.size()) + " runs compared";
}

std::string Meta(const Report& report) {
  std::set<std::string> fleets, files;
  std::vector<std::uint64_t> requests;
  std::int64_t devices = 0;
  double hours = 0;
  std::set<std::uint64_t> seeds;
  bool any_router = false;
  for (const RunFigures& r : report.runs) {
    requests.push_back(r.requests);
    if (r.info.source == "sim") {
      if (!r.info.fleet_name.empty()) fleets.insert(r.info.fleet_name);
      devices = std::max(devices, r.info.devices);
      hours = std::max(hours, r.info.hours);
      seeds.insert(r.info.seed);
    } else {
      any_router = true;
    }
  }
  for (const InputFile& f : report.inputs) files.insert(f.path);
  std::vector<std::string> parts;
  for (const std::string& f : fleets) parts.push_back("fleet " + f);
  if (devices > 0) parts.push_back(FormatCount(static_cast<std::uint64_t>(devices)) + " devices");
  if (hours > 0)
    parts.push_back(FormatFixed(hours, hours == std::floor(hours) ? 0 : 1) + " h simulated");
  if (seeds.size() == 1) parts.push_back("seed " + std::to_string(*seeds.begin()));
  if (any_router) parts.push_back("production decision log");
  parts.push_back(RequestsPerRun(requests));
  std::string files_text;
  for (const std::string& f : files) files_text += (files_text.empty() ? "" : ", ") + f;
  parts.push_back("from " + files_text);
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " \u00b7 ") + p;
  return out;
}

// With many runs a table gets a smaller font, tighter padding and wrapping headers, so that five
// policies fit a 1280 px window (and, with the print styles, an A4 page).
constexpr std::size_t kManyRuns = 4;

std::string TableClass(const Report& report, std::string_view name) {
  return std::string(name) + (report.runs.size() >= kManyRuns ? " many" : "");
}

// "300 ms / 1.20 s / 2.00 s", escaped, that wraps only between its parts (in a td.parts).
std::string WrappingCell(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = text.find(" / ", start);
    const std::size_t end = slash == std::string::npos ? text.size() : slash + 2;
    out += "<span class=\"nw\">" + Escape(text.substr(start, end - start)) + "</span>";
    if (slash == std::string::npos) break;
    out += " ";
    start = slash + 3;
  }
  return out;
}

void SummaryTable(const Report& report, std::string& out) {
  out += "<div class=\"scroll\"><table class=\"" + TableClass(report, "summary") +
         "\"><thead><tr><th></th>";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    out += "<th><i class=\"swatch\" style=\"background:" + std::string(PolicyColour(i)) +
           "\"></i>" + Escape(report.runs[i].name) + "</th>";
  }
  out += "</tr></thead><tbody>";
  std::string group;
  for (const SummaryRow& row : SummaryRows(report)) {
    if (row.group != group) {
      group = row.group;
      out += "<tr class=\"group\"><th colspan=\"" + std::to_string(report.runs.size() + 1) + "\">" +
             Escape(group) + "</th></tr>";
    }
    out +=
        "<tr><td class=\"label\" title=\"" + Escape(row.note) + "\">" + Escape(row.label) + "</td>";
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      std::string cls;
      const bool parts = row.cells[i].find(" / ") != std::string::npos;
      if (row.best[i]) cls = "best";
      if (row.cells[i] == kNotRecorded) cls = "nr";
      if (parts) cls = "parts";
      out += cls.empty() ? "<td>" : "<td class=\"" + cls + "\">";
      out += (parts ? WrappingCell(row.cells[i]) : Escape(row.cells[i])) + "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void InputsTable(const Report& report, std::string& out) {
  struct Field {
    const char* label;
    std::string (*get)(const RunFigures&);
    bool code;
  };
  static const Field kFields[] = {
      {"File", [](const RunFigures& r) { return r.file; }, true},
      {"Run id", [](const RunFigures& r) { return std::to_string(r.info.run_id); }, false},
      {"Source",
       [](const RunFigures& r) {
         return r.info.source == "router" ? std::string("router decision log")
                : r.info.source == "sim"  ? std::string("simulation")
                                          : r.info.source;
       },
       false},
      {"Policy", [](const RunFigures& r) { return r.info.policy_name; }, false},
      {"Policy SHA-256", [](const RunFigures& r) { return r.info.policy_hash; }, true},
      {"Fleet", [](const RunFigures& r) { return r.info.fleet_name; }, false},
      {"Fleet SHA-256", [](const RunFigures& r) { return r.info.fleet_hash; }, true},
      {"Catalog SHA-256", [](const RunFigures& r) { return r.info.catalog_hash; }, true},
      {"Seed",
       [](const RunFigures& r) {
         return r.info.source == "sim" ? std::to_string(r.info.seed) : std::string();
       },
       false},
      {"Hours",
       [](const RunFigures& r) {
         if (r.info.hours <= 0) return std::string();
         std::string h = FormatFixed(r.info.hours, 2);
         if (h.size() > 3 && h.compare(h.size() - 3, 3, ".00") == 0) h.resize(h.size() - 3);
         return h;
       },
       false},
      {"Devices",
       [](const RunFigures& r) {
         return r.info.devices > 0 ? FormatCount(static_cast<std::uint64_t>(r.info.devices))
                                   : std::string();
       },
       false},
      {"Partita version", [](const RunFigures& r) { return r.info.partita_version; }, false},
      {"Started", [](const RunFigures& r) { return UtcTime(r.info.started_unix_ms); }, false},
  };
  out += "<div class=\"scroll\"><table class=\"" + TableClass(report, "inputs") +
         "\"><thead><tr><th></th>";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    out += "<th><i class=\"swatch\" style=\"background:" + std::string(PolicyColour(i)) +
           "\"></i>" + Escape(report.runs[i].name) + "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const Field& f : kFields) {
    out += "<tr><td class=\"label\">" + std::string(f.label) + "</td>";
    for (const RunFigures& r : report.runs) {
      std::string v = f.get(r);
      if (v.empty()) {
        out += "<td class=\"nr\">\u2013</td>";
      } else if (f.code && v.size() == 64) {
        out += "<td title=\"" + Escape(v) + "\"><code>" + Escape(v.substr(0, 16)) +
               "\u2026</code></td>";
      } else if (f.code) {
        out += "<td><code>" + Escape(v) + "</code></td>";
      } else {
        out += "<td>" + Escape(v) + "</td>";
      }
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void Figure(std::string& out, const std::string& svg, const std::string& caption,
            std::string_view cls = {}) {
  out += cls.empty() ? "<figure>" : "<figure class=\"" + std::string(cls) + "\">";
  out += svg + "<figcaption>" + caption + "</figcaption></figure>";
}

}  // namespace

std::string RenderHtml(const Report& report) {
  const std::string battery_svg = BatteryChart(report);
  const std::size_t charts = 4 + report.runs.size() + 1 + (battery_svg.empty() ? 0 : 1);

  std::string out;
  out.reserve(256 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\" data-charts-expected=\"" + std::to_string(charts) +
         "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\"><title>Partita tradeoff report: " +
         Escape(Title(report)) + "</title>" + kErrorHook + "<style>" + kCss +
         "</style></head><body>\n";

  out +=
      "<header class=\"top\"><div class=\"wrap\"><p class=\"eyebrow\">Partita tradeoff "
      "report</p><h1>" +
      Escape(Title(report)) + "</h1><p class=\"meta\">" + Escape(Meta(report)) + "</p>" +
      PolicyLegend(report) +
      "<nav><a href=\"#findings\">Findings</a><a href=\"#summary\">Summary</a><a "
      "href=\"#latency\">Latency</a><a href=\"#tradeoffs\">Cost and quality</a><a "
      "href=\"#tiers\">Tiers</a><a href=\"#battery\">Battery</a><a "
      "href=\"#inputs\">Inputs</a></nav></div></header>\n<main class=\"wrap\">\n";

  out += "<section id=\"findings\"><h2>Findings</h2><ul class=\"findings\">";
  for (const Finding& f : report.findings) {
    out += "<li class=\"kind-" + std::string(KindName(f.kind)) + "\"><span class=\"tag\">" +
           Tag(f.kind) + "</span><span>" + Highlight(report, f.text) + "</span></li>";
  }
  if (report.findings.empty()) out += "<li><span>No findings: nothing was completed.</span></li>";
  out += "</ul></section>\n";

  out +=
      "<section id=\"summary\"><h2>Summary</h2><p class=\"lede\">One column per run. "
      "Latency and cost count completed requests; &#9733; marks the best value of a "
      "row. Hover a row name for its definition; docs/reports.md defines every "
      "figure.</p>";
  SummaryTable(report, out);
  out += "</section>\n";

  out +=
      "<section id=\"latency\"><h2>Latency</h2><p class=\"lede\">How long answers took: "
      "the share of successful answers that arrived within each time. Further left is "
      "faster; the dashed lines mark p95 and p99.</p>" +
      PolicyLegend(report);
  out += "<div class=\"grid2\"><div><h3>All answers</h3>";
  Figure(out, LatencyCdfChart(report, false),
         "Empirical cumulative distribution of the total latency (request to last token) of "
         "successful answers.");
  out += "</div><div><h3>The slowest 10%</h3>";
  Figure(out, LatencyCdfChart(report, true),
         "The same curves from 90% up: where each line crosses a dashed line is its p95 or p99.");
  out += "</div></div>";
  out += "</section>\n";

  out +=
      "<section id=\"tradeoffs\"><h2>Cost, latency and quality</h2><p class=\"lede\">Lower "
      "left is better on the first chart, upper left on the second.</p><div "
      "class=\"grid2\"><div><h3>Cost against p95 latency</h3><div class=\"legend\">"
      "<span><i class=\"dot\" style=\"background:#52606d\"></i>on the Pareto frontier</span>"
      "<span><i class=\"dot\"></i>dominated</span><span><i class=\"dash\"></i>frontier</span>"
      "<span><i class=\"shade\"></i>slower and dearer</span></div>";
  Figure(out, CostLatencyChart(report),
         "A policy is on the frontier when no other is both cheaper and faster at p95.");
  out += "</div><div><h3>Quality against cost</h3>" + PolicyLegend(report);
  Figure(out, QualityCostChart(report),
         "Mean predicted quality of the models that answered, against cloud spend per 1,000 "
         "requests.");
  out += "</div></div></section>\n";

  out +=
      "<section id=\"tiers\"><h2>Where answers came from</h2><p class=\"lede\">The tier "
      "that produced each answer (after any fallback), overall and by local hour of "
      "day.</p>" +
      TierLegend();
  Figure(out, TierMixChart(report),
         "Unanswered requests are the red sliver on the right; hover a bar for its count.");
  out += "<div class=\"grid3\">";
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    out += "<figure><h3><i class=\"swatch\" style=\"background:" + std::string(PolicyColour(i)) +
           "\"></i>" + Escape(report.runs[i].name) + "</h3>" + TierMixByHourChart(report, i) +
           "</figure>";
  }
  out += "</div></section>\n";

  out += "<section id=\"battery\"><h2>Battery</h2>";
  std::vector<std::string> missing;
  for (const RunFigures& r : report.runs) {
    if (r.battery.samples == 0) missing.push_back(r.name);
  }
  if (battery_svg.empty()) {
    out +=
        "<p class=\"note\">Battery levels are not recorded in these inputs: battery samples "
        "come from simulation runs; router decision logs carry none.</p>";
  } else {
    out +=
        "<p class=\"lede\">How charged battery-powered devices were, over every sample of "
        "the run. More weight on the right is better; the shaded band is under 20%.</p>" +
        PolicyLegend(report) + "<div class=\"grid2\"><div>";
    Figure(out, battery_svg, "Share of battery samples in each 5% band of charge.");
    out +=
        "</div><div class=\"scroll\"><table class=\"compact\"><thead><tr><th></th><th>Mean "
        "level</th><th>Under 20%</th>"
        "<th>Empty</th><th>Battery-empty events</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < report.runs.size(); ++i) {
      const RunFigures& r = report.runs[i];
      out += "<tr><td><i class=\"swatch\" style=\"background:" + std::string(PolicyColour(i)) +
             "\"></i>" + Escape(r.name) + "</td>";
      if (r.battery.samples == 0) {
        out += "<td class=\"nr\" colspan=\"3\">not recorded</td>";
      } else {
        const double n = static_cast<double>(r.battery.samples);
        out += "<td>" + FormatShareFixed(r.battery.mean_pct / 100) + "</td><td>" +
               FormatShareFixed(static_cast<double>(r.battery.below_20) / n) + "</td><td>" +
               FormatShareFixed(static_cast<double>(r.battery.empty) / n) + "</td>";
      }
      out +=
          r.battery_empty_events
              ? "<td>" + FormatCount(static_cast<std::uint64_t>(*r.battery_empty_events)) + "</td>"
              : "<td class=\"nr\">not recorded</td>";
      out += "</tr>";
    }
    out += "</tbody></table>";
    if (!missing.empty()) {
      std::string names;
      for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
      out += "<p class=\"note\">Not recorded for " + Escape(names) +
             " (router decision logs carry no battery samples).</p>";
    }
    out += "</div></div>";
  }
  out += "</section>\n";

  out +=
      "<section id=\"inputs\"><h2>Inputs</h2><p class=\"lede\">What was compared, so anyone "
      "can check it and run it again. Hashes are SHA-256 of the files (hover for the full "
      "hash).</p>";
  InputsTable(report, out);
  out += "<h3 style=\"margin-top:16px\">To reproduce</h3><pre><code>";
  for (const std::string& cmd : report.rerun) out += Escape(cmd) + "\n";
  if (!report.command.empty()) out += Escape(report.command) + "\n";
  out += "</code></pre></section>\n</main>\n";
  out += "<footer class=\"wrap\">Generated by partita " + Escape(report.partita_version) +
         ". One self-contained file: nothing is fetched from the network.</footer>\n";
  out += kSelfCheck;
  out += "\n</body></html>\n";
  return out;
}

}  // namespace partita::reports
