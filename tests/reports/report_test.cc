// BuildReport over several files: naming, the frontier, reproduction commands, and the errors a
// user sees for inputs that are not run databases.
#include "reports/report.h"

#include <doctest/doctest.h>

#include "reports/summary_table.h"
#include "storage/request_log.h"
#include "tests/reports/fixture.h"
#include "tests/testing/temp_dir.h"

namespace partita::reports {
namespace {

std::vector<std::string> Names(const Report& report) {
  std::vector<std::string> out;
  for (const RunFigures& r : report.runs) out.push_back(r.name);
  return out;
}

TEST_CASE("Every run of every file is compared, repeated labels are told apart by file") {
  testing::TempDir tmp;
  const std::string a = tmp.File("a.db"), b = tmp.File("b.db");
  REQUIRE(fixture::WriteRuns(a, {fixture::Balanced(), fixture::BatterySaver()}).ok());
  REQUIRE(fixture::WriteRuns(b, {fixture::SlowAndDear(), fixture::Balanced(), fixture::RouterLog()})
              .ok());
  Result<Report> report = BuildReport({a, b}, {"9.9.9", "partita report a.db b.db", 0});
  REQUIRE(report.ok());
  CHECK(Names(*report) == std::vector<std::string>{"balanced (a.db)", "battery-saver",
                                                   "slow-and-dear", "balanced (b.db)",
                                                   "production"});
  REQUIRE(report->inputs.size() == 2);
  CHECK(report->inputs[0].runs == 2);
  CHECK(report->inputs[1].requests == 26);
  // balanced ($0.40, 900 ms) is on the frontier (twice); the others are dearer and slower,
  // except production ($1.50, 900 ms)? It is dearer at the same p95: dominated.
  std::vector<std::string> frontier;
  for (std::size_t i : report->frontier) frontier.push_back(report->runs[i].name);
  CHECK(frontier == std::vector<std::string>{"balanced (a.db)", "balanced (b.db)"});
  CHECK(report->runs[0].on_frontier);
  CHECK_FALSE(report->runs[2].on_frontier);
  // One `partita sim` command per file's simulation runs; router runs have none.
  REQUIRE(report->rerun.size() == 2);
  CHECK(report->rerun[0] ==
        "partita sim --fleet tiny.yaml --policy balanced.yaml --policy "
        "battery-saver.yaml --hours 24 --seed 1 --devices 4 --out " +
            a);
  CHECK(report->rerun[1] ==
        "partita sim --fleet tiny.yaml --policy slow-and-dear.yaml "
        "--policy balanced.yaml --hours 24 --seed 1 --devices 4 --out " +
            b);
  CHECK(report->partita_version == "9.9.9");
  bool dominance = false;
  for (const Finding& f : report->findings) {
    dominance |= f.text.rfind("balanced (a.db) dominates slow-and-dear", 0) == 0;
  }
  CHECK(dominance);
}

TEST_CASE("Qualities that round to the same two decimals are told apart with a third") {
  testing::TempDir tmp;
  const std::string path = tmp.File("runs.db");
  fixture::Run better = fixture::BatterySaver();
  fixture::Run worse = fixture::BatterySaver();
  better.info.label = "better";
  worse.info.label = "worse";
  for (fixture::Row& r : better.rows) r.quality = 0.853;
  for (fixture::Row& r : worse.rows) {
    r.quality = 0.847;
    r.total_ms *= 0.5;  // so that neither run dominates: a tradeoff names the quality
  }
  REQUIRE(fixture::WriteRuns(path, {worse, better}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  std::string all;
  for (const Finding& f : report->findings) all += f.text + "\n";
  CHECK_MESSAGE(all.find("quality 0.853 vs 0.847") != std::string::npos, all);
  CHECK_MESSAGE(all.find("0.85 vs 0.85") == std::string::npos, all);
}

TEST_CASE("Accuracy on labeled prompts is measured from the rows' labels, beside predictions") {
  testing::TempDir tmp;
  const std::string path = tmp.File("runs.db");
  fixture::Run plain = fixture::BatterySaver();
  plain.info.label = "plain";
  REQUIRE(fixture::WriteRuns(path, {plain}).ok());
  Result<Report> without = BuildReport({path}, {});
  REQUIRE(without.ok());
  for (const SummaryRow& row : SummaryRows(*without)) {
    CHECK(row.label != "Accuracy on labeled prompts");  // no labels: no row
  }

  fixture::Run labeled = fixture::BatterySaver();
  labeled.info.label = "labeled";
  // Three answers scored by the strong label (two right), one by the weak (wrong).
  int scored = 0;
  for (fixture::Row& r : labeled.rows) {
    if (r.final_tier.empty() || scored == 4) continue;
    r.label_correct = scored == 0 || scored == 1 ? 1 : 0;
    r.label_model = scored < 3 ? "strong" : "weak";
    ++scored;
  }
  REQUIRE(scored == 4);
  const std::string path2 = tmp.File("labeled.db");
  REQUIRE(fixture::WriteRuns(path2, {labeled}).ok());
  Result<Report> with = BuildReport({path2}, {});
  REQUIRE(with.ok());
  const RunFigures& run = with->runs.at(0);
  CHECK(run.labeled_answers == 4);
  REQUIRE(run.labeled_accuracy);
  CHECK(*run.labeled_accuracy == doctest::Approx(0.5));
  REQUIRE(run.labeled_strong_share);
  CHECK(*run.labeled_strong_share == doctest::Approx(0.75));
  bool shown = false;
  for (const SummaryRow& row : SummaryRows(*with))
    shown = shown || row.label == "Accuracy on labeled prompts";
  CHECK(shown);
}

TEST_CASE("The worked example of docs/reports.md: a tradeoff against the baseline") {
  testing::TempDir tmp;
  const std::string path = tmp.File("runs.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::Balanced(), fixture::BatterySaver()}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  std::vector<std::string> tradeoffs;
  for (const Finding& f : report->findings) {
    if (f.kind == Finding::Kind::kTradeoff) tradeoffs.push_back(f.text);
  }
  REQUIRE(tradeoffs.size() == 1);
  CHECK(tradeoffs[0] ==
        "battery-saver uses 78% less energy on requests, answers more requests (100% vs 90%) and "
        "gives better answers (quality 0.84 vs 0.70) than balanced for +1.10 s p95 and "
        "+$2.00 per 1,000 requests. Worth it where battery life, reliability and answer quality "
        "matter more than latency and cloud spend.");
  const std::string doc = testing::ReadSourceFile("docs/reports.md");
  std::string flat;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    if (doc.compare(i, 3, "\n> ") == 0) {
      flat += ' ';
      i += 2;
    } else {
      flat += doc[i];
    }
  }
  CHECK(flat.find(tradeoffs[0]) != std::string::npos);
}

TEST_CASE("Two runs with one label in one file are told apart by run id") {
  testing::TempDir tmp;
  const std::string path = tmp.File("router.db");
  REQUIRE(fixture::WriteRuns(path, {fixture::RouterLog(), fixture::RouterLog()}).ok());
  Result<Report> report = BuildReport({path}, {});
  REQUIRE(report.ok());
  CHECK(Names(*report) ==
        std::vector<std::string>{"production (router.db run 1)", "production (router.db run 2)"});
}

TEST_CASE("Bad inputs get errors that name the file and say what to do") {
  testing::TempDir tmp;
  SUBCASE("missing") {
    Result<Report> r = BuildReport({tmp.File("nope.db")}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK(r.status().message() == "'" + tmp.File("nope.db") +
                                      "' does not exist. Give a run database written by "
                                      "`partita sim --out RUN.db` or a router's decision log");
  }
  SUBCASE("not SQLite") {
    const std::string path = tmp.Write("notes.db", "these are my notes, not a database\n");
    Result<Report> r = BuildReport({path}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("'" + path +
                                    "' is not a Partita run database: it is not an SQLite "
                                    "file") == 0);
  }
  SUBCASE("SQLite but not Partita") {
    const std::string path = tmp.File("other.db");
    {
      auto db = storage::Database::Open(path);
      REQUIRE(db.ok());
      REQUIRE((*db)->Exec("CREATE TABLE songs (title TEXT)").ok());
    }
    Result<Report> r = BuildReport({path}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("is an SQLite database but not a Partita run database") !=
          std::string::npos);
  }
  SUBCASE("empty") {
    const std::string path = tmp.File("empty.db");
    {
      auto db = storage::Database::Open(path);
      REQUIRE(db.ok());
      REQUIRE(storage::CreateRequestLogSchema(**db).ok());
    }
    Result<Report> r = BuildReport({path}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("'" + path + "' is an empty run database (no runs)") == 0);
  }
  SUBCASE("runs but no requests") {
    fixture::Run run = fixture::RouterLog();
    run.rows.clear();
    const std::string path = tmp.File("idle.db");
    REQUIRE(fixture::WriteRuns(path, {run}).ok());
    Result<Report> r = BuildReport({path}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() ==
          "'" + path + "' has 1 run(s) but no requests: nothing to report yet");
  }
  SUBCASE("newer schema") {
    const std::string path = tmp.File("future.db");
    REQUIRE(fixture::WriteRuns(path, {fixture::Balanced()}).ok());
    {
      auto db = storage::Database::Open(path);
      REQUIRE(db.ok());
      REQUIRE((*db)->Exec("PRAGMA user_version = 7").ok());
    }
    Result<Report> r = BuildReport({path}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("schema version 7") != std::string::npos);
  }
  SUBCASE("one bad file among good ones") {
    const std::string good = tmp.File("good.db");
    REQUIRE(fixture::WriteRuns(good, {fixture::Balanced()}).ok());
    Result<Report> r = BuildReport({good, tmp.File("typo.db")}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("typo.db' does not exist") != std::string::npos);
  }
}

}  // namespace
}  // namespace partita::reports
