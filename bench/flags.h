// Command-line flags for the benchmark binaries: `--name VALUE` options, `--name` switches and
// `--help`. An unknown flag, a missing value or a value that does not parse prints what was
// wrong and the usage, and exits 2; `--help` prints the usage and exits 0.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace partita::bench {

class Flags {
 public:
  explicit Flags(std::string usage) : usage_(std::move(usage)) {}

  Flags& Option(std::string name, std::string* out) {
    return Add(std::move(name), true, [out](const std::string& v) {
      *out = v;
      return true;
    });
  }
  Flags& Option(std::string name, double* out) {
    return Add(std::move(name), true, [out](const std::string& v) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size()) return false;
      *out = d;
      return true;
    });
  }
  template <typename Int>
  Flags& Option(std::string name, Int* out) {
    return Add(std::move(name), true, [out](const std::string& v) {
      Int n{};
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) return false;
      *out = n;
      return true;
    });
  }
  Flags& Switch(std::string name, bool* out) {
    return Add(std::move(name), false, [out](const std::string&) {
      *out = true;
      return true;
    });
  }

  void Parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::printf("%s\n", usage_.c_str());
        std::exit(0);
      }
      const Entry* entry = Find(arg);
      if (entry == nullptr) Fail("unknown flag '" + arg + "'");
      std::string value;
      if (entry->takes_value) {
        if (i + 1 >= argc) Fail(arg + " needs a value");
        value = argv[++i];
      }
      if (!entry->set(value)) Fail("bad value '" + value + "' for " + arg);
    }
  }

 private:
  struct Entry {
    std::string name;
    bool takes_value;
    std::function<bool(const std::string&)> set;
  };

  Flags& Add(std::string name, bool takes_value, std::function<bool(const std::string&)> set) {
    entries_.push_back({std::move(name), takes_value, std::move(set)});
    return *this;
  }
  const Entry* Find(const std::string& name) const {
    for (const Entry& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }
  [[noreturn]] void Fail(const std::string& what) const {
    std::fprintf(stderr, "%s\n%s\n", what.c_str(), usage_.c_str());
    std::exit(2);
  }

  std::string usage_;
  std::vector<Entry> entries_;
};

}  // namespace partita::bench
