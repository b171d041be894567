// Each format carries the same figures: HTML (self-contained), Markdown, CSV and JSON.
#include "reports/render.h"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <sstream>

#include "reports/format.h"
#include "reports/summary_table.h"
#include "tests/reports/fixture.h"
#include "tests/testing/temp_dir.h"

namespace partita::reports {
namespace {

Report MakeReport(testing::TempDir& tmp) {
  const std::string sim = tmp.File("sim.db"), router = tmp.File("router.db");
  REQUIRE(fixture::WriteRuns(sim, {fixture::Balanced(), fixture::BatterySaver()}).ok());
  REQUIRE(fixture::WriteRuns(router, {fixture::RouterLog()}).ok());
  Result<Report> report = BuildReport({sim, router}, {"0.1.0", "partita report sim.db", 0});
  REQUIRE(report.ok());
  return std::move(*report);
}

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  return rows;
}

// The value of the CSV row (run, figure, tier, hour, key); "<none>" when absent.
std::string CsvValue(const std::vector<std::vector<std::string>>& rows, const std::string& run,
                     const std::string& figure, const std::string& tier = "",
                     const std::string& hour = "", const std::string& key = "") {
  for (const auto& r : rows) {
    if (r.size() == 6 && r[0] == run && r[1] == figure && r[2] == tier && r[3] == hour &&
        r[4] == key) {
      return r[5];
    }
  }
  return "<none>";
}

TEST_CASE("The HTML report is one self-contained page with every chart and figure") {
  testing::TempDir tmp;
  const Report report = MakeReport(tmp);
  const std::string html = RenderHtml(report);
  // 3 runs: 2 CDFs, 2 scatter plots, overall tier mix, one tier-by-hour chart per run, battery.
  CHECK(html.find("data-charts-expected=\"9\"") != std::string::npos);
  CHECK(Count(html, "<svg class=\"chart\"") == 9);
  for (const char* chart : {"latency-cdf", "latency-tail", "cost-latency", "quality-cost",
                            "tier-mix", "tier-mix-by-hour-1", "tier-mix-by-hour-3", "battery"}) {
    CHECK_MESSAGE(html.find("data-chart=\"" + std::string(chart) + "\"") != std::string::npos,
                  chart);
  }
  // Nothing is fetched: no external scripts, styles, images or fonts.
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(Count(html, "http") == Count(html, "http://www.w3.org/2000/svg"));
  CHECK(html.find("@media print") != std::string::npos);
  // Figures people read, formatted for them.
  CHECK(html.find("<td class=\"best\">900 ms</td>") != std::string::npos);  // balanced p95
  CHECK(html.find("$0.40") != std::string::npos);
  CHECK(html.find("<td class=\"nr\">not recorded</td>") != std::string::npos);  // production
  CHECK(html.find("2 of 6 requests have no outcome yet") != std::string::npos);
  // Findings show run names in their colour; the inputs carry hashes and the commands.
  CHECK(html.find("<strong class=\"run\" style=\"color:#d97706\">battery-saver</strong>") !=
        std::string::npos);
  CHECK(html.find(std::string(64, 'a')) != std::string::npos);
  CHECK(html.find("partita sim --fleet tiny.yaml --policy balanced.yaml") != std::string::npos);
  CHECK(html.find("partita report sim.db") != std::string::npos);
}

TEST_CASE("Names are escaped in HTML") {
  testing::TempDir tmp;
  fixture::Run run = fixture::Balanced();
  run.info.label = "<b>&\"x\"";
  const std::string path = tmp.File("x.db");
  REQUIRE(fixture::WriteRuns(path, {run}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  const std::string html = RenderHtml(*report);
  CHECK(html.find("<b>&") == std::string::npos);
  CHECK(html.find("&lt;b&gt;&amp;&quot;x&quot;") != std::string::npos);
}

TEST_CASE("Markdown carries the summary, the findings, the distributions and the inputs") {
  testing::TempDir tmp;
  const std::string md = RenderMarkdown(MakeReport(tmp));
  CHECK(md.find("| figure | balanced | battery-saver | production |") != std::string::npos);
  CHECK(md.find("| p95 | **900 ms** | 2.00 s | **900 ms** |") != std::string::npos);
  CHECK(md.find("| Per 1,000 requests | **$0.40** | $2.40 | $1.50 |") != std::string::npos);
  CHECK(md.find("| Request energy per device-day | 0.045 Wh | **0.010 Wh** | not recorded |") !=
        std::string::npos);
  CHECK(md.find("| p50 | 500 ms | 1.00 s | 500 ms |") != std::string::npos);
  CHECK(md.find("- **tradeoff**: battery-saver") != std::string::npos);
  CHECK(md.find("### balanced\n") != std::string::npos);
  CHECK(md.find("| 09 | 1 | 0% | 0% | 0% | 100% |") != std::string::npos);
  CHECK(md.find("| 45\u201350% | 0% | 0% | not recorded |") != std::string::npos);
  CHECK(md.find("| policy SHA-256 | " + std::string(64, 'a')) != std::string::npos);
}

TEST_CASE(
    "Attempt results read as words in HTML and Markdown, and stay as stored in CSV and JSON") {
  testing::TempDir tmp;
  const Report report = MakeReport(tmp);
  const std::string html = RenderHtml(report), md = RenderMarkdown(report);
  for (const std::string* text : {&html, &md}) {
    CHECK(text->find("after a refused connection") != std::string::npos);
    CHECK(text->find("after no first token in time") != std::string::npos);
    CHECK(text->find("no_first_token") == std::string::npos);
    CHECK(text->find("after refused") == std::string::npos);
  }
  CHECK(md.find("balanced fell back to another tier on 20% of requests, mostly after no first "
                "token in time (10%).") != std::string::npos);
  CHECK(RenderCsv(report).find("balanced,fallback,,,no_first_token,1") != std::string::npos);
  CHECK(RenderJson(report).find("\"no_first_token\":1") != std::string::npos);
  CHECK(CauseWords("stalled") == "a stall mid-stream");
  CHECK(CauseWords("error_status") == "an error status");
  CHECK(CauseWords("declined") == "the phone declining");
  CHECK(CauseWords("some_new_result") == "some new result");
}

TEST_CASE("Fell back and failed with no tier left are separate rows") {
  testing::TempDir tmp;
  fixture::Run run = fixture::BatterySaver();
  run.rows[0].success = false;  // a lone failed attempt: failed, not a fallback
  run.rows[0].final_tier.clear();
  run.rows[0].fallback_cause = "refused";
  run.rows[0].attempts = 1;
  run.rows[1].fallback_cause = "stalled";  // answered on the second attempt: a fallback
  run.rows[1].attempts = 2;
  const std::string path = tmp.File("f.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::Balanced(), run}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  const std::string md = RenderMarkdown(*report);
  CHECK(md.find("| Fell back | 20.0% | **10.0%** |") != std::string::npos);
  CHECK(md.find("| \u2003after a stall mid-stream | 0% | 10.0% |") != std::string::npos);
  CHECK(md.find("| \u2003after a refused connection | 10.0% | 0% |") != std::string::npos);
  CHECK(md.find("| Failed, no tier left | 10.0% | 10.0% |") != std::string::npos);
  CHECK(md.find("| \u2003on the only attempt | 0% | 10.0% |") != std::string::npos);
}

const SummaryRow& Row(const std::vector<SummaryRow>& rows, const std::string& label) {
  for (const SummaryRow& r : rows) {
    if (r.label == label) return r;
  }
  FAIL("no row " << label);
  return rows.front();
}

TEST_CASE("A star marks a value better than another run's, never a row where every run ties") {
  Report report;
  for (const char* name : {"a", "b", "c", "d"}) {
    RunFigures r;
    r.name = name;
    r.requests = r.completed = r.succeeded = 100;
    r.latency_ms = {100, 400, 800, 900};
    r.battery.samples = 10;
    r.battery.mean_pct = 79.5;
    r.cost_per_1k_usd = 1.0;
    report.runs.push_back(r);
  }
  report.runs[3].latency_ms.p95 = 950;
  report.runs[1].battery.mean_pct = 79.51;  // shown as 79.5% too: still a tie
  report.runs[2].cost_per_1k_usd.reset();   // not recorded: no star for the others either
  const std::vector<SummaryRow> rows = SummaryRows(report);
  CHECK(Row(rows, "Mean battery level").best == std::vector<bool>{false, false, false, false});
  CHECK(Row(rows, "Per 1,000 requests").best == std::vector<bool>{false, false, false, false});
  CHECK(Row(rows, "p95").best == std::vector<bool>{true, true, true, false});
  report.runs.resize(1);  // one run is better than no one
  CHECK(Row(SummaryRows(report), "p95").best == std::vector<bool>{false});
}

TEST_CASE("The header counts requests per run, and battery-empty drops are shown when recorded") {
  testing::TempDir tmp;
  const std::string path = tmp.File("replay.db");
  fixture::Run saver = fixture::BatterySaver();
  saver.metrics.emplace_back("dropped_offline", 4);
  REQUIRE(fixture::WriteRuns(path, {fixture::Balanced(), saver, fixture::SlowAndDear()}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  const std::string html = RenderHtml(*report), md = RenderMarkdown(*report);
  CHECK(html.find("10 requests per run") != std::string::npos);
  CHECK(html.find("30 requests") == std::string::npos);
  CHECK(md.find("- `" + path + "`: 3 runs, 10 requests per run\n") != std::string::npos);
  CHECK(md.find("| Dropped: battery empty | not recorded | 4 | not recorded |") !=
        std::string::npos);
  CHECK(RequestsPerRun({7}) == "7 requests");
  CHECK(RequestsPerRun({1}) == "1 request");
  CHECK(RequestsPerRun({6, 7, 7}) == "6 to 7 requests per run");
  // No run recorded a drop: no row.
  const std::string plain = tmp.File("plain.db");
  REQUIRE(fixture::WriteRuns(plain, {fixture::Balanced()}).ok());
  Result<Report> single = BuildReport({plain}, {});
  REQUIRE(single.ok());
  CHECK(RenderMarkdown(*single).find("Dropped") == std::string::npos);
}

TEST_CASE("CSV has one figure per row, raw numbers, empty where not recorded") {
  testing::TempDir tmp;
  const auto rows = ParseCsv(RenderCsv(MakeReport(tmp)));
  REQUIRE(!rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"run", "figure", "tier", "hour", "key", "value"});
  for (const auto& r : rows) REQUIRE(r.size() == 6);
  CHECK(CsvValue(rows, "balanced", "latency_p95_ms") == "900");
  CHECK(CsvValue(rows, "balanced", "latency_p50_ms", "device") == "300");
  CHECK(CsvValue(rows, "balanced", "cost_per_1k_usd") == "0.4");
  CHECK(CsvValue(rows, "balanced", "answered", "unanswered") == "1");
  CHECK(CsvValue(rows, "balanced", "requests_by_hour", "cloud", "8") == "1");
  CHECK(CsvValue(rows, "balanced", "fallback", "", "", "refused") == "1");
  CHECK(CsvValue(rows, "balanced", "battery_bin", "", "", "95-100") == "1");
  CHECK(CsvValue(rows, "balanced", "latency_cdf_ms", "", "", "1") == "900");
  CHECK(CsvValue(rows, "battery-saver", "mean_quality") == "0.84");
  CHECK(CsvValue(rows, "production", "in_flight") == "2");
  CHECK(CsvValue(rows, "production", "energy_wh_per_device_day") == "");
  CHECK(CsvValue(rows, "production", "battery_samples") == "");
  CHECK(CsvValue(rows, "production", "policy_hash") == std::string(64, 'd'));
}

TEST_CASE("JSON carries the same figures, null where not recorded") {
  testing::TempDir tmp;
  const Report report = MakeReport(tmp);
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(RenderJson(report), ec);
  REQUIRE_FALSE(ec);
  const auto& runs = root.at("runs").as_array();
  REQUIRE(runs.size() == 3);
  const auto& balanced = runs[0].as_object();
  CHECK(balanced.at("name").as_string() == "balanced");
  CHECK(balanced.at("latency_ms").at("p95").to_number<double>() == 900);
  CHECK(balanced.at("tier_latency_ms").at("phone").at("p50").to_number<double>() == 600);
  CHECK(balanced.at("answered").at("device").to_number<std::uint64_t>() == 5);
  CHECK(balanced.at("fallback_causes").at("no_first_token").to_number<std::uint64_t>() == 1);
  CHECK(balanced.at("by_hour").as_array()[9].at("unanswered").to_number<std::uint64_t>() == 1);
  CHECK(balanced.at("battery").at("bins_5pct").as_array()[19].to_number<std::uint64_t>() == 1);
  CHECK(balanced.at("energy_wh_per_device_day").to_number<double>() == doctest::Approx(0.045));
  CHECK(balanced.at("run").at("policy_hash").as_string() == std::string(64, 'a'));
  const auto& production = runs[2].as_object();
  CHECK(production.at("in_flight").to_number<std::uint64_t>() == 2);
  CHECK(production.at("device_days").is_null());
  CHECK(production.at("battery").is_null());
  CHECK(production.at("battery_empty_events").is_null());
  CHECK(root.at("frontier").as_array() == boost::json::array{"balanced"});
  CHECK(root.at("findings").as_array().size() == report.findings.size());
  CHECK(root.at("generator").as_string() == "partita 0.1.0");
}

TEST_CASE("Formats come from --format names and --out extensions") {
  CHECK(ParseFormat("md") == Format::kMarkdown);
  CHECK(ParseFormat("markdown") == Format::kMarkdown);
  CHECK_FALSE(ParseFormat("pdf").has_value());
  CHECK(FormatFromPath("out/report.HTML") == Format::kHtml);
  CHECK(FormatFromPath("r.json") == Format::kJson);
  CHECK(FormatFromPath("r.csv") == Format::kCsv);
  CHECK_FALSE(FormatFromPath("report").has_value());
}

}  // namespace
}  // namespace partita::reports
