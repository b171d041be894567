// A plain-text table for terminal output: columns sized to their widest cell, numbers
// right-aligned. Not thread-safe; build, then print once.
#pragma once

#include <string>
#include <vector>

namespace partita::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers);
  void AddRow(std::vector<std::string> cells);
  std::string ToString() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Formats a number with `digits` decimals, trimming trailing zeros ("12.5", "0.001", "3").
std::string FormatNumber(double value, int digits = 3);

}  // namespace partita::cli
