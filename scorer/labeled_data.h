// Labeled prompts for training and evaluating the difficulty scorer: a CSV file (RFC 4180:
// quoted fields may hold commas, doubled quotes and line breaks) with a header naming at least
// `id`, `prompt`, `weak_correct` and `strong_correct` (0 or 1), and optionally `subject`.
// Columns are found by name, in any order; other columns are ignored. A malformed row is an
// error that names FILE:LINE and the reason. Pure; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace partita::scorer {

struct LabeledPrompt {
  std::string id;
  std::string subject;  // empty when the file has no `subject` column
  std::string prompt;
  bool weak_correct = false;
  bool strong_correct = false;
  int line = 0;  // the line the row starts on, for messages
};

// Parses `text`; `file_name` is used in messages.
Result<std::vector<LabeledPrompt>> ParseLabeledCsv(std::string_view text,
                                                   std::string_view file_name);
// Reads and parses the file; `content_sha256`, when given, receives the SHA-256 of its bytes
// (what a model records it was trained on).
Result<std::vector<LabeledPrompt>> LoadLabeledCsv(const std::string& path,
                                                  std::string* content_sha256 = nullptr);

}  // namespace partita::scorer
