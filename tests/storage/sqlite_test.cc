#include "storage/sqlite.h"

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace partita::storage {
namespace {

TEST_CASE("A database opens in WAL mode and round-trips values") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("a.db"));
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  Result<Statement> mode = (*db)->Prepare("PRAGMA journal_mode");
  REQUIRE(mode.ok());
  REQUIRE(*mode->Step());
  CHECK(mode->Text(0) == "wal");
  REQUIRE((*db)->Exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT)").ok());
  Statement* insert = (*db)->Cached("INSERT INTO t VALUES (?1, ?2, ?3)");
  REQUIRE(insert != nullptr);
  REQUIRE(insert->Bind(1, std::int64_t{1} << 40).Bind(2, 2.5).Bind(3, "hé").Run().ok());
  REQUIRE(insert->Bind(1, 7).Bind(2, 0.0).BindNull(3).Run().ok());
  CHECK((*db)->Cached("INSERT INTO t VALUES (?1, ?2, ?3)") == insert);
  Result<Statement> q = (*db)->Prepare("SELECT i, d, s FROM t ORDER BY i DESC");
  REQUIRE(q.ok());
  REQUIRE(*q->Step());
  CHECK(q->Int(0) == (std::int64_t{1} << 40));
  CHECK(q->Double(1) == 2.5);
  CHECK(q->Text(2) == "hé");
  REQUIRE(*q->Step());
  CHECK(q->IsNull(2));
  CHECK_FALSE(*q->Step());
}

TEST_CASE("Run clears the bindings, RunRebound keeps them for the next run to replace") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("a.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (n INTEGER, s TEXT)").ok());
  Statement* insert = (*db)->Cached("INSERT INTO t VALUES (?1, ?2)");
  REQUIRE(insert != nullptr);
  REQUIRE(insert->Bind(1, 1).Bind(2, "kept").RunRebound().ok());
  REQUIRE(insert->Bind(1, 2).RunRebound().ok());  // ?2 still holds "kept"
  REQUIRE(insert->Bind(1, 3).Bind(2, "cleared").Run().ok());
  REQUIRE(insert->Bind(1, 4).Run().ok());  // ?2 is NULL again
  Result<Statement> q = (*db)->Prepare("SELECT n, s FROM t ORDER BY n");
  REQUIRE(q.ok());
  const char* expected[] = {"kept", "kept", "cleared", nullptr};
  for (const char* want : expected) {
    REQUIRE(*q->Step());
    if (want == nullptr) {
      CHECK(q->IsNull(1));
    } else {
      CHECK(q->Text(1) == want);
    }
  }
  CHECK_FALSE(*q->Step());
}

TEST_CASE("Errors are values naming the problem") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("a.db"));
  REQUIRE(db.ok());
  Status s = (*db)->Exec("CREATE TABLE");
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message().find("SQLite:") == 0);
  CHECK_FALSE((*db)->Prepare("SELECT * FROM missing").ok());
  CHECK((*db)->Cached("SELECT * FROM missing") == nullptr);
  OpenOptions ro;
  ro.read_only = true;
  CHECK(Database::Open(tmp.File("none.db"), ro).status().code() == StatusCode::kNotFound);
  const std::string junk = tmp.Write("junk.db", std::string(4096, 'x'));
  CHECK_FALSE(Database::Open(junk).ok());
}

}  // namespace
}  // namespace partita::storage
