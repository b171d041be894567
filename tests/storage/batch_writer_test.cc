#include "storage/batch_writer.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/event_queue.h"
#include "tests/testing/temp_dir.h"

namespace partita::storage {
namespace {

TEST_CASE("Jobs from many threads are committed, and each completion reports its own status") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY)").ok());
  BatchWriter writer(std::move(*db));
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const int key = t * 1000 + i;
        REQUIRE(writer.Submit(
            [key](Database& d) {
              return d.Cached("INSERT INTO t VALUES (?1)")->Bind(1, key).Run();
            },
            [&](const Status& s) { (s.ok() ? ok : failed)++; }));
      }
    });
  }
  for (auto& th : threads) th.join();
  // A duplicate key fails alone; the rest of its batch commits.
  writer.Submit([](Database& d) { return d.Cached("INSERT INTO t VALUES (?1)")->Bind(1, 5).Run(); },
                [&](const Status& s) { (s.ok() ? ok : failed)++; });
  REQUIRE(writer.Flush().ok());
  CHECK(ok == 2000);
  CHECK(failed == 1);
  BatchWriter::Stats stats = writer.stats();
  CHECK(stats.jobs == 2001);
  CHECK(stats.failed_jobs == 1);
  CHECK(stats.commits >= 1);
  CHECK(stats.commits <= 2001);
  writer.Stop();
  CHECK_FALSE(writer.Submit([](Database&) { return Status::Ok(); }));

  auto check = Database::Open(tmp.File("w.db"));
  REQUIRE(check.ok());
  CHECK(*(*check)->QueryInt("SELECT count(*) FROM t") == 2000);
}

TEST_CASE("Stop commits everything already queued") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (k INTEGER)").ok());
  {
    BatchWriter writer(std::move(*db));
    for (int i = 0; i < 1000; ++i) {
      writer.Submit(
          [i](Database& d) { return d.Cached("INSERT INTO t VALUES (?1)")->Bind(1, i).Run(); });
    }
  }  // destructor stops
  auto check = Database::Open(tmp.File("w.db"));
  CHECK(*(*check)->QueryInt("SELECT count(*) FROM t") == 1000);
}

TEST_CASE("A full queue refuses instead of growing without bound") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  BatchWriter::Options options;
  options.max_queue = 2;
  BatchWriter writer(std::move(*db), options);
  testing::EventQueue<int> started;
  std::atomic<bool> release{false};
  // The first job blocks the writer thread so the queue fills behind it.
  writer.Submit([&](Database&) {
    started.Push(1);
    while (!release.load()) std::this_thread::yield();
    return Status::Ok();
  });
  REQUIRE(started.Pop().has_value());
  CHECK(writer.Submit([](Database&) { return Status::Ok(); }));
  CHECK(writer.Submit([](Database&) { return Status::Ok(); }));
  CHECK_FALSE(writer.Submit([](Database&) { return Status::Ok(); }));
  release = true;
  CHECK(writer.Flush().ok());
}

// One transaction per call, each a few WAL frames (the blob's page, the table's, page 1).
void CommitBlobs(BatchWriter& writer, int transactions) {
  for (int i = 0; i < transactions; ++i) {
    writer.Submit([](Database& d) {
      return d.Cached("INSERT INTO t VALUES (?1)")->Bind(1, std::string(3000, 'x')).Run();
    });
    REQUIRE(writer.Flush().ok());
  }
}

TEST_CASE("A background thread checkpoints the WAL into the database, not the commits") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (v BLOB)").ok());
  testing::EventQueue<int> checkpoints;
  BatchWriter::Options options;
  options.background_checkpoint_frames = 8;
  options.on_background_checkpoint = [&] { checkpoints.Push(1); };
  const auto size_before = std::filesystem::file_size(tmp.File("w.db"));
  BatchWriter writer(std::move(*db), options);
  CommitBlobs(writer, 40);
  REQUIRE(checkpoints.Pop().has_value());
  // The copied pages are in the database file itself (a commit alone writes only the WAL).
  CHECK(std::filesystem::file_size(tmp.File("w.db")) > size_before);
  CHECK(writer.stats().background_checkpoints >= 1);
  CHECK(writer.stats().inline_checkpoints == 0);
}

TEST_CASE("The WAL stays bounded when background checkpoints cannot keep up") {
  testing::TempDir tmp;
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (v BLOB)").ok());
  BatchWriter::Options options;
  options.background_checkpoint_frames = 1'000'000;  // never asked: only the bound acts
  options.inline_checkpoint_frames = 16;
  BatchWriter writer(std::move(*db), options);
  CommitBlobs(writer, 100);
  CHECK(writer.stats().inline_checkpoints >= 5);
  // A WAL frame is a 4 KiB page plus a 24-byte header; the bound plus one transaction's frames.
  CHECK(std::filesystem::file_size(tmp.File("w.db-wal")) <= 32 + (16 + 4) * (4096 + 24));
  writer.Stop();
  auto check = Database::Open(tmp.File("w.db"));
  CHECK(*(*check)->QueryInt("SELECT count(*) FROM t") == 100);
}

std::uint32_t WalCheckpointSequence(const std::string& wal_path) {
  std::ifstream in(wal_path, std::ios::binary);
  unsigned char b[16] = {};
  in.read(reinterpret_cast<char*>(b), sizeof b);
  return (std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) | (std::uint32_t{b[14]} << 8) |
         std::uint32_t{b[15]};
}

// Commits one-blob transactions until `reached(stats)` holds, or gives up after 30 s (the
// checkpoint thread may be slow to run on a loaded machine). Returns the transactions committed.
template <typename Predicate>
int CommitUntil(BatchWriter& writer, Predicate reached) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int n = 0;
  while (!reached(writer.stats()) && std::chrono::steady_clock::now() < deadline) {
    CommitBlobs(writer, 1);
    ++n;
  }
  return n;
}

int CommitUntilRestarts(BatchWriter& writer, std::uint64_t restarts) {
  return CommitUntil(writer,
                     [&](const BatchWriter::Stats& s) { return s.wal_restarts >= restarts; });
}

// A writer on a fresh table in `tmp`/w.db whose WAL is checkpointed every 8 frames and restarted
// from 32; the inline bound is out of reach, so only restarts can bound the WAL.
std::unique_ptr<BatchWriter> RestartingWriter(const testing::TempDir& tmp) {
  auto db = Database::Open(tmp.File("w.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE t (v BLOB)").ok());
  BatchWriter::Options options;
  options.background_checkpoint_frames = 8;
  options.restart_frames = 32;
  options.inline_checkpoint_frames = 1'000'000;
  return std::make_unique<BatchWriter>(std::move(*db), options);
}

// Commits 4 rows, then opens a second connection holding a read transaction on them: a snapshot
// in the WAL, which no checkpoint may copy past.
std::unique_ptr<Database> ReaderInTheWal(const testing::TempDir& tmp, BatchWriter& writer) {
  CommitBlobs(writer, 4);
  auto reader = Database::Open(tmp.File("w.db"));
  REQUIRE(reader.ok());
  REQUIRE((*reader)->Exec("BEGIN").ok());
  REQUIRE(*(*reader)->QueryInt("SELECT count(*) FROM t") == 4);
  return std::move(*reader);
}

TEST_CASE("Under steady writes the WAL restarts from its start, with no inline checkpoint") {
  testing::TempDir tmp;
  std::unique_ptr<BatchWriter> restarting = RestartingWriter(tmp);
  BatchWriter& writer = *restarting;
  const int committed = CommitUntilRestarts(writer, 3);
  REQUIRE(writer.stats().wal_restarts >= 3);
  // The checkpointer waits while a restart is pending, so none finds the checkpoint lock taken.
  CHECK(writer.stats().failed_wal_restarts == 0);
  // The WAL header counts restarts (its checkpoint sequence number, bytes 12-15, big-endian);
  // the next commit writes the header of the restarted WAL.
  const std::uint64_t restarts = writer.stats().wal_restarts;
  CommitBlobs(writer, 1);
  CHECK(WalCheckpointSequence(tmp.File("w.db-wal")) >= restarts);
  writer.Stop();
  auto check = Database::Open(tmp.File("w.db"));
  CHECK(*(*check)->QueryInt("SELECT count(*) FROM t") == committed + 1);
}

TEST_CASE("A reader holding the WAL open holds off restarts, not commits") {
  testing::TempDir tmp;
  std::unique_ptr<BatchWriter> restarting = RestartingWriter(tmp);
  BatchWriter& writer = *restarting;
  std::unique_ptr<Database> reader = ReaderInTheWal(tmp, writer);
  // Commits go on while the reader holds its snapshot; the writer's tries to restart the WAL
  // fail.
  const int until_failed =
      CommitUntil(writer, [](const BatchWriter::Stats& s) { return s.failed_wal_restarts >= 1; });
  CommitBlobs(writer, 200);
  CHECK(writer.stats().wal_restarts == 0);
  CHECK(writer.stats().failed_commits == 0);
  // A failed try waits for another restart_frames of growth before the next: no more tries
  // than the WAL (which did not restart) has 32-frame steps.
  const auto wal_frames = std::filesystem::file_size(tmp.File("w.db-wal")) / (4096 + 24);
  CHECK(writer.stats().failed_wal_restarts >= 1);
  CHECK(writer.stats().failed_wal_restarts <= wal_frames / 32);
  CHECK(*reader->QueryInt("SELECT count(*) FROM t") == 4);
  REQUIRE(reader->Exec("COMMIT").ok());
  // With the reader gone the WAL starts over: restarted by the writer, or by SQLite itself when
  // a background checkpoint reaches its end between two commits.
  const int held = writer.stats().wal_frames;
  auto started_over = [&](const BatchWriter::Stats& s) {
    return s.wal_restarts >= 1 || s.wal_frames < held;
  };
  const int after = CommitUntil(writer, started_over);
  CHECK(started_over(writer.stats()));
  writer.Stop();
  CHECK(*reader->QueryInt("SELECT count(*) FROM t") == 4 + until_failed + 200 + after);
}

TEST_CASE("Once the WAL starts over, restarts are tried at restart_frames again") {
  testing::TempDir tmp;
  std::unique_ptr<BatchWriter> restarting = RestartingWriter(tmp);
  BatchWriter& writer = *restarting;
  std::unique_ptr<Database> reader = ReaderInTheWal(tmp, writer);
  CommitUntil(writer, [](const BatchWriter::Stats& s) { return s.failed_wal_restarts >= 1; });
  CommitBlobs(writer, 200);
  REQUIRE(writer.stats().failed_wal_restarts >= 1);
  // A failed try put the next one another restart_frames past the WAL's size at that try.
  REQUIRE(writer.stats().restart_at_frames > 32);
  REQUIRE(reader->Exec("COMMIT").ok());
  // A checkpoint that reaches the WAL's end while nobody writes lets SQLite start the WAL over
  // by itself at the next commit. The checkpoint thread may hold the checkpoint lock for a
  // moment, so try until one pass completes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool complete = false;
  while (!complete && std::chrono::steady_clock::now() < deadline) {
    int log = -1, copied = -2;
    complete = sqlite3_wal_checkpoint_v2(reader->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                         &copied) == SQLITE_OK &&
               log == copied;
  }
  REQUIRE(complete);
  const int before = writer.stats().wal_frames;
  CommitUntil(writer, [&](const BatchWriter::Stats& s) { return s.wal_frames < before; });
  REQUIRE(writer.stats().wal_frames < before);
  // Usually SQLite started the WAL over and the writer's WAL hook saw it shrink; now and then a
  // restart was already pending and the writer's own restart did it. Either way, back to 32.
  CHECK(writer.stats().restart_at_frames == 32);
}

}  // namespace
}  // namespace partita::storage
