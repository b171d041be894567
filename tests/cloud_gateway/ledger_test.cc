// The ledger: rows land in SQLite through the batch writer; today's spending is read back.
#include "cloud_gateway/ledger.h"

#include <doctest/doctest.h>

#include "storage/sqlite.h"
#include "tests/testing/temp_dir.h"

namespace partita::cloud_gateway {
namespace {

TEST_CASE("rows are written with both token figures and read back per day") {
  testing::TempDir tmp;
  const std::string path = tmp.File("ledger.db");
  const std::string model = "milm-70b-moe";
  const std::string upstream = "vllm-a";
  {
    auto ledger = Ledger::Open(path);
    REQUIRE_MESSAGE(ledger.ok(), ledger.status().ToString());
    LedgerEntry e;
    e.day = 20000;
    e.device = "speaker";
    e.model = &model;
    e.upstream = &upstream;
    e.attempts = 1;
    e.stream = true;
    e.http_status = 200;
    e.prompt_tokens = 12;
    e.completion_tokens = 30;
    e.usage_from_upstream = true;
    e.upstream_prompt_tokens = 12;
    e.upstream_completion_tokens = 30;
    e.counted_prompt_tokens = 10;
    e.counted_completion_tokens = 29;
    e.cost_usd = 0.25;
    e.ttft_ms = 12.5;
    REQUIRE((*ledger)->Record(e));
    e.device = "car";
    e.upstream = nullptr;
    e.outcome = "budget_refused";
    e.cost_usd = 0;
    e.upstream_prompt_tokens.reset();
    e.ttft_ms.reset();
    REQUIRE((*ledger)->Record(e));
    e.device = "speaker";
    e.day = 20001;
    e.cost_usd = 1;
    REQUIRE((*ledger)->Record(e));
    REQUIRE((*ledger)->Flush().ok());
  }
  auto db = storage::Database::Open(path);
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests") == 3);
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests WHERE upstream IS NULL") == 2);
  CHECK(*(*db)->QueryInt("SELECT counted_completion_tokens FROM gateway_requests ORDER BY id "
                         "LIMIT 1") == 29);
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM gateway_requests WHERE reservation_id IS NULL") ==
        3);
  CHECK(
      *(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests WHERE usage_source = 'upstream' AND "
                       "upstream_prompt_tokens = 12 AND ttft_ms = 12.5") == 1);
  CHECK(*(*db)->QueryInt("SELECT requests FROM gateway_daily_spend WHERE day = '2024-10-04' AND "
                         "device = 'speaker'") == 1);
  CHECK(*(*db)->QueryInt("SELECT SUM(requests) FROM gateway_daily_spend") == 3);
  auto spent = Ledger::SpentOnDay(path, 20000);
  REQUIRE(spent.ok());
  REQUIRE(spent->size() == 2);
  for (const auto& [device, usd] : *spent) {
    CHECK(usd == doctest::Approx(device == "speaker" ? 0.25 : 0.0));
  }
  CHECK(DayText(20000) == "2024-10-04");
}

TEST_CASE("a batch across midnight lands whole, grouped by day") {
  testing::TempDir tmp;
  const std::string path = tmp.File("ledger.db");
  const std::string model = "m";
  {
    auto ledger = Ledger::Open(path);
    REQUIRE(ledger.ok());
    std::vector<LedgerEntry> rows;
    for (int i = 0; i < 45; ++i) {
      LedgerEntry e;
      e.day = i < 20 ? 100 : 101;
      e.device = "d" + std::to_string(i % 3);
      e.model = &model;
      e.completion_tokens = i;
      e.cost_usd = 0.5;
      rows.push_back(e);
    }
    REQUIRE((*ledger)->RecordBatch(std::move(rows)));
    REQUIRE((*ledger)->Flush().ok());
  }
  auto db = storage::Database::Open(path);
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests") == 45);
  CHECK(*(*db)->QueryInt("SELECT SUM(completion_tokens) FROM gateway_requests") == 44 * 45 / 2);
  CHECK(*(*db)->QueryInt("SELECT COUNT(*) FROM gateway_requests WHERE day = '" + DayText(101) +
                         "'") == 25);
  CHECK(*(*db)->QueryInt("SELECT SUM(requests) FROM gateway_daily_spend WHERE day = '" +
                         DayText(100) + "'") == 20);
  auto spent = Ledger::SpentOnDay(path, 101);
  REQUIRE(spent.ok());
  double total = 0;
  for (const auto& [device, usd] : *spent) total += usd;
  CHECK(total == doctest::Approx(25 * 0.5));
}

TEST_CASE("a reservation journal survives the process, frees slots on commit, settles once") {
  testing::TempDir tmp;
  const std::string path = tmp.File("ledger.db");
  const std::string model = "milm-70b-moe";
  std::int64_t committed_id = 0;
  std::int64_t cut_id = 0;
  {
    std::vector<ReservationJournal::Open> open;
    auto journal = ReservationJournal::OpenFile(path + ".reservations", &open);
    REQUIRE_MESSAGE(journal.ok(), journal.status().ToString());
    CHECK(open.empty());
    REQUIRE((*journal)->Reset(4).ok());
    // A second gateway on the same ledger is refused.
    auto second = ReservationJournal::OpenFile(path + ".reservations", nullptr);
    CHECK(second.status().message().find("another gateway uses this ledger") != std::string::npos);

    auto ledger = Ledger::Open(path);
    REQUIRE(ledger.ok());
    (*ledger)->SetJournal(journal->get());
    committed_id = (*ledger)->NextId();
    cut_id = (*ledger)->NextId();
    CHECK(committed_id > (std::int64_t{1} << 60));  // past the start time in ms << 20
    const std::int64_t mark = (*ledger)->written_rowid();
    const std::uint32_t a =
        (*journal)->Claim(committed_id, mark, 20000, 5'000'000'000, 1, "speaker", model, true);
    const std::uint32_t b =
        (*journal)->Claim(cut_id, mark, 20000, 2'000'000'000, 2, "car", model, false);
    CHECK((*journal)->open() == 2);
    LedgerEntry e;
    e.reservation_id = committed_id;
    e.journal_slot = a;
    e.day = 20000;
    e.device = "speaker";
    e.model = &model;
    e.cost_usd = 0.004;
    REQUIRE((*ledger)->Record(e));
    REQUIRE((*ledger)->Flush().ok());
    CHECK((*journal)->open() == 1);  // freed once its row committed
    // The process "dies" with `b` open, and with `a` claimed again as if its slot's release
    // had not happened (killed between the commit and the release): both are in the file.
    (*journal)->Claim(committed_id, mark, 20000, 5'000'000'000, 1, "speaker", model, true);
    (void)b;
  }
  std::vector<ReservationJournal::Open> open;
  auto journal = ReservationJournal::OpenFile(path + ".reservations", &open);
  REQUIRE(journal.ok());
  REQUIRE(open.size() == 2);
  auto ledger = Ledger::Open(path);
  REQUIRE(ledger.ok());
  Result<Ledger::Settled> settled = (*ledger)->SettleCrashed(open);
  REQUIRE_MESSAGE(settled.ok(), settled.status().ToString());
  CHECK(settled->requests == 1);  // the committed one is not counted twice
  CHECK(settled->cost_usd == doctest::Approx(0.002));
  // Settling again (a crash before Reset) changes nothing.
  CHECK((*ledger)->SettleCrashed(open)->requests == 0);
  REQUIRE((*journal)->Reset(4).ok());
  REQUIRE((*ledger)->Flush().ok());
  auto db = storage::Database::Open(path);
  REQUIRE(db.ok());
  CHECK(*(*db)->QueryInt("SELECT count(*) FROM gateway_requests WHERE outcome = 'crashed' AND "
                         "device = 'car' AND reservation_id = " +
                         std::to_string(cut_id)) == 1);
  auto spent = Ledger::SpentOnDay(path, 20000);
  REQUIRE(spent.ok());
  double total = 0;
  for (const auto& [device, usd] : *spent) total += usd;
  CHECK(total == doctest::Approx(0.006));
  std::vector<ReservationJournal::Open> after;
  journal->reset();
  REQUIRE(ReservationJournal::OpenFile(path + ".reservations", &after).ok());
  CHECK(after.empty());
}

}  // namespace
}  // namespace partita::cloud_gateway
