// A thin RAII layer over SQLite: one Database per connection, prepared Statements, errors as
// Status values. Every Partita database runs in WAL mode with foreign keys on.
//
// Threading: a Database and its Statements belong to one thread at a time (SQLite's
// "multi-thread" mode). Writers on an event-loop process go through BatchWriter, which owns its
// own Database on a dedicated thread; readers open their own connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace partita::storage {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<std::int64_t>(value)); }
  Statement& Bind(int index, std::uint32_t value) {
    return Bind(index, static_cast<std::int64_t>(value));
  }
  Statement& Bind(int index, bool value) { return Bind(index, static_cast<std::int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);  // copied by SQLite
  // Not copied: `value` must outlive the next Run() or Reset(), which clear the bindings.
  Statement& BindView(int index, std::string_view value);
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Statement& BindNull(int index);

  // Runs one step: true when a row is available, false when done.
  Result<bool> Step();
  // Steps a statement that returns no rows, then resets it for reuse.
  Status Run();
  // Run() for a statement whose every parameter is bound again before each run: its bindings
  // are not cleared (a multi-row insert has hundreds).
  Status RunRebound();
  void Reset();

  // Columns are 0-based, as in SQLite.
  std::int64_t Int(int column) const;
  double Double(int column) const;
  std::string_view Text(int column) const;
  bool IsNull(int column) const;

  bool valid() const { return stmt_ != nullptr; }
  sqlite3_stmt* handle() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

struct OpenOptions {
  bool read_only = false;
  // Opens for writing but refuses every change (PRAGMA query_only) and leaves the journal mode
  // as it is: a reader that, being the last connection to close, lets SQLite checkpoint a WAL
  // database and remove its -wal and -shm files, as a read-only connection cannot.
  bool query_only = false;
  bool create = true;
  // synchronous=NORMAL in WAL mode: a committed transaction survives a process crash; a power
  // loss may lose the transactions since the last checkpoint. FULL also survives power loss.
  bool synchronous_full = false;
  int busy_timeout_ms = 5000;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // A prepared statement kept for the life of the connection, keyed by its SQL text; reset and
  // ready to bind. nullptr (with the error in LastError()) if the SQL does not compile.
  Statement* Cached(std::string_view sql);

  Status Begin();
  Status Commit();
  Status Rollback();

  // The single integer of a one-row, one-column query ("SELECT count(*) FROM runs").
  Result<std::int64_t> QueryInt(std::string_view sql);

  const std::string& path() const { return path_; }
  int busy_timeout_ms() const { return busy_timeout_ms_; }  // as opened
  sqlite3* handle() { return db_; }
  std::string LastError() const;

 private:
  Status RunCached(std::string_view sql);  // a statement without results, prepared once
  Database(sqlite3* db, std::string path, int busy_timeout_ms)
      : db_(db), path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}
  sqlite3* db_;
  std::string path_;
  int busy_timeout_ms_;
  // Transparent hashing: Cached(sql) looks up without copying the statement's text.
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::unordered_map<std::string, Statement, TextHash, std::equal_to<>> cache_;
};

// Opens an existing database to read it: query-only, so that the last reader to close removes
// the -wal and -shm files it needed; read-only where this user may not write the file.
Result<std::unique_ptr<Database>> OpenForReading(const std::string& path);

}  // namespace partita::storage
