// A fresh directory under $TMPDIR for one test, removed when the object dies.
// Tests use real files (PKI, SQLite, YAML) inside one of these, never fixed paths.
#pragma once

#include <string>

namespace partita::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;
  // Writes `contents` to File(name) and returns its path.
  std::string Write(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

// The text of a file in the source tree (relative to the repository root).
std::string ReadSourceFile(const std::string& relative_path);

}  // namespace partita::testing
