// Located diagnostics for files users write (policies, catalogs, fleets, daemon configs).
//
// Every problem found in a user's file is a Diagnostic that prints as
// "FILE:LINE:COL: error: MESSAGE", the form compilers use, so editors can jump to it.
// A Diagnostics collects them for one file; it caps the count so a garbage file cannot produce
// unbounded output. Not thread-safe: one per parse.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace partita {

// 1-based line and column; 0 means unknown (the whole file).
struct SourceLocation {
  int line = 0;
  int column = 0;
};

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  SourceLocation location;
  std::string message;

  // "file:line:col: error: message" (or "file: error: message" with no location).
  std::string ToString() const;
};

class Diagnostics {
 public:
  static constexpr std::size_t kMaxDiagnostics = 200;

  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  void Error(SourceLocation where, std::string message);
  void Warning(SourceLocation where, std::string message);
  void Note(SourceLocation where, std::string message);

  bool has_errors() const { return errors_ > 0; }
  std::size_t error_count() const { return errors_; }
  std::size_t warning_count() const { return warnings_; }
  const std::vector<Diagnostic>& all() const { return items_; }

  // All diagnostics, one per line, in the order found.
  std::string ToString() const;
  // InvalidArgument carrying ToString() when there are errors; OK otherwise.
  Status ToStatus() const;

 private:
  void Add(Severity severity, SourceLocation where, std::string message);

  std::string file_;
  std::vector<Diagnostic> items_;
  std::size_t errors_ = 0;
  std::size_t warnings_ = 0;
  bool truncated_ = false;
};

}  // namespace partita
