// Files a daemon's start-up creates, so that a start that fails (a port in use, a bad
// certificate) leaves nothing behind: NewFiles() before, RemoveFiles() on failure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace partita::cli {

// Those of `paths` that do not exist yet.
inline std::vector<std::string> NewFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const std::string& p : paths) {
    if (!std::filesystem::exists(p, ec)) out.push_back(p);
  }
  return out;
}

inline void RemoveFiles(const std::vector<std::string>& paths) {
  std::error_code ec;
  for (const std::string& p : paths) std::filesystem::remove(p, ec);
}

}  // namespace partita::cli
