#include "common/diagnostic.h"

namespace partita {

namespace {
const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kNote: return "note";
  }
  return "error";
}
}  // namespace

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (location.line > 0) {
    out += ':' + std::to_string(location.line) + ':' + std::to_string(location.column);
  }
  out += ": ";
  out += SeverityName(severity);
  out += ": ";
  out += message;
  return out;
}

void Diagnostics::Error(SourceLocation where, std::string message) {
  ++errors_;
  Add(Severity::kError, where, std::move(message));
}

void Diagnostics::Warning(SourceLocation where, std::string message) {
  ++warnings_;
  Add(Severity::kWarning, where, std::move(message));
}

void Diagnostics::Note(SourceLocation where, std::string message) {
  Add(Severity::kNote, where, std::move(message));
}

void Diagnostics::Add(Severity severity, SourceLocation where, std::string message) {
  if (items_.size() >= kMaxDiagnostics) {
    if (!truncated_) {
      truncated_ = true;
      items_.push_back({Severity::kNote, file_, {}, "too many problems; stopping here"});
    }
    return;
  }
  items_.push_back({severity, file_, where, std::move(message)});
}

std::string Diagnostics::ToString() const {
  std::string out;
  for (const Diagnostic& d : items_) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

Status Diagnostics::ToStatus() const {
  if (!has_errors()) return Status::Ok();
  std::string text = ToString();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return InvalidArgument(std::move(text));
}

}  // namespace partita
