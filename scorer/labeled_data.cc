#include "scorer/labeled_data.h"

#include <array>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/hash.h"

namespace partita::scorer {

namespace {

// Splits RFC 4180 records; tracks the line each record starts on.
class CsvReader {
 public:
  CsvReader(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  int line() const { return line_; }

  // Reads one record into `fields`; an error names where it went wrong.
  Status Next(std::vector<std::string>& fields, int& record_line) {
    fields.clear();
    record_line = line_;
    std::string field;
    bool quoted = false;
    bool after_quote = false;  // a closing quote was read: only , or a line end may follow
    int quote_line = line_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field += '"';
            ++pos_;
          } else {
            quoted = false;
            after_quote = true;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
        continue;
      }
      if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
        after_quote = false;
      } else if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') {
        continue;
      } else if (c == '\n') {
        ++line_;
        fields.push_back(std::move(field));
        return Status::Ok();
      } else if (c == '"') {
        if (!field.empty() || after_quote) {
          return Where(line_, "a quote inside an unquoted field (quote the field and double it)");
        }
        quoted = true;
        quote_line = line_;
      } else if (after_quote) {
        return Where(line_, "text after a closing quote (expected ',' or the end of the line)");
      } else {
        field += c;
      }
    }
    if (quoted) return Where(quote_line, "a quoted field is not closed before the end of the file");
    fields.push_back(std::move(field));
    return Status::Ok();
  }

  Status Where(int line, const std::string& reason) const {
    return InvalidArgument(std::string(file_) + ":" + std::to_string(line) + ": " + reason);
  }

 private:
  std::string_view text_;
  std::string_view file_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

std::optional<bool> ParseFlag(const std::string& s) {
  if (s == "0") return false;
  if (s == "1") return true;
  return std::nullopt;
}

}  // namespace

Result<std::vector<LabeledPrompt>> ParseLabeledCsv(std::string_view text,
                                                   std::string_view file_name) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvReader reader(text, file_name);
  std::vector<std::string> fields;
  int line = 0;
  if (reader.AtEnd()) return reader.Where(1, "the file is empty (expected a header)");
  PARTITA_RETURN_IF_ERROR(reader.Next(fields, line));
  enum Column { kId, kPrompt, kWeak, kStrong, kSubject, kColumns };
  constexpr std::array<std::string_view, kColumns> kNames = {"id", "prompt", "weak_correct",
                                                             "strong_correct", "subject"};
  std::array<int, kColumns> at;
  at.fill(-1);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    for (int c = 0; c < kColumns; ++c) {
      if (fields[i] == kNames[c]) {
        if (at[c] >= 0) return reader.Where(line, "column '" + fields[i] + "' appears twice");
        at[c] = static_cast<int>(i);
      }
    }
  }
  for (int c = 0; c < kSubject; ++c) {
    if (at[c] < 0) {
      return reader.Where(line, "the header has no '" + std::string(kNames[c]) +
                                    "' column (needs id, prompt, weak_correct, strong_correct)");
    }
  }
  const std::size_t header_fields = fields.size();
  std::vector<LabeledPrompt> rows;
  while (!reader.AtEnd()) {
    PARTITA_RETURN_IF_ERROR(reader.Next(fields, line));
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
    if (fields.size() != header_fields) {
      return reader.Where(line, "the row has " + std::to_string(fields.size()) +
                                    " fields; the header has " + std::to_string(header_fields));
    }
    LabeledPrompt row;
    row.line = line;
    row.id = fields[at[kId]];
    row.prompt = fields[at[kPrompt]];
    if (at[kSubject] >= 0) row.subject = fields[at[kSubject]];
    if (row.id.empty()) return reader.Where(line, "'id' is empty");
    for (int c : {kWeak, kStrong}) {
      std::optional<bool> flag = ParseFlag(fields[at[c]]);
      if (!flag) {
        return reader.Where(
            line, "'" + std::string(kNames[c]) + "' is '" + fields[at[c]] + "'; expected 0 or 1");
      }
      (c == kWeak ? row.weak_correct : row.strong_correct) = *flag;
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return reader.Where(line, "no labeled rows after the header");
  return rows;
}

Result<std::vector<LabeledPrompt>> LoadLabeledCsv(const std::string& path,
                                                  std::string* content_sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read labeled data '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (content_sha256 != nullptr) *content_sha256 = Sha256Hex(text.str());
  return ParseLabeledCsv(text.str(), path);
}

}  // namespace partita::scorer
