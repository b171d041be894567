#include "storage/sqlite.h"

namespace partita::storage {

Statement::Statement(Statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    db_ = other.db_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindView(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return IoError(std::string("SQLite: ") + sqlite3_errmsg(db_));
}

Status Statement::Run() {
  Result<bool> r = Step();
  Reset();
  if (!r.ok()) return r.status();
  return Status::Ok();
}

Status Statement::RunRebound() {
  Result<bool> r = Step();
  sqlite3_reset(stmt_);
  if (!r.ok()) return r.status();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string_view Statement::Text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const OpenOptions& options) {
  // No global memory statistics (they cost a global mutex per allocation). sqlite3_config()
  // must precede SQLite's initialisation and any other SQLite call: every connection in
  // Partita is opened here, so the first Open() is the process's first SQLite call, and the
  // function-local static runs it exactly once even if threads race to open. Should it ever
  // not be first, SQLite refuses the change (SQLITE_MISUSE) and keeps the statistics: slower,
  // never wrong.
  static const int kMemStatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemStatusOff;
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create && !options.read_only && !options.query_only) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    if (rc == SQLITE_CANTOPEN) return NotFound("cannot open database '" + path + "': " + msg);
    return IoError("cannot open database '" + path + "': " + msg);
  }
  std::unique_ptr<Database> database(new Database(db, path, options.busy_timeout_ms));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  if (options.query_only && !options.read_only) {
    Status s = database->Exec("PRAGMA query_only=1");
    if (s.ok()) s = database->QueryInt("SELECT count(*) FROM sqlite_master").status();
    if (!s.ok()) return s.WithContext("'" + path + "' is not a usable SQLite database");
  } else if (!options.read_only) {
    std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=";
    pragmas += options.synchronous_full ? "FULL;" : "NORMAL;";
    Status s = database->Exec(pragmas);
    if (!s.ok()) return s.WithContext("'" + path + "' is not a usable SQLite database");
  } else {
    // Fail now, not at the first query, if the file is not a database.
    Result<std::int64_t> check = database->QueryInt("SELECT count(*) FROM sqlite_master");
    if (!check.ok()) {
      return check.status().WithContext("'" + path + "' is not a usable SQLite database");
    }
  }
  return database;
}

Result<std::unique_ptr<Database>> OpenForReading(const std::string& path) {
  OpenOptions options;
  options.query_only = true;
  options.create = false;
  Result<std::unique_ptr<Database>> db = Database::Open(path, options);
  if (db.ok()) return db;
  options.query_only = false;
  options.read_only = true;
  return Database::Open(path, options);
}

Database::~Database() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close_v2(db_);
}

std::string Database::LastError() const { return sqlite3_errmsg(db_); }

Status Database::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : LastError();
    sqlite3_free(err);
    return IoError("SQLite: " + msg);
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return IoError("SQLite: " + LastError() + " in: " + std::string(sql.substr(0, 80)));
  }
  return Statement(stmt, db_);
}

Statement* Database::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    Result<Statement> stmt = Prepare(sql);
    if (!stmt.ok()) return nullptr;
    it = cache_.emplace(std::string(sql), std::move(*stmt)).first;
  }
  return &it->second;
}

Status Database::Begin() { return RunCached("BEGIN IMMEDIATE"); }
Status Database::Commit() { return RunCached("COMMIT"); }
Status Database::Rollback() { return RunCached("ROLLBACK"); }

Status Database::RunCached(std::string_view sql) {
  Statement* stmt = Cached(sql);
  if (stmt == nullptr) return IoError("SQLite: " + LastError() + " in: " + std::string(sql));
  return stmt->Run();
}

Result<std::int64_t> Database::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("query returned no row");
  return stmt->Int(0);
}

}  // namespace partita::storage
