// A progress line on stderr for long commands: shown only once the work has taken more than a
// second, redrawn in place on a terminal and printed every few seconds otherwise; silent with
// --quiet. Not thread-safe: update it from one thread.
#pragma once

#include <chrono>
#include <string>

namespace partita::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool quiet);
  ~ProgressBar();

  // fraction in [0, 1]; `detail` is printed after the bar ("13.2/24 h  412,345 req").
  void Update(const std::string& label, double fraction, const std::string& detail);
  // Clears the line (terminal) so the next output starts clean.
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool quiet_;
  bool tty_;
  bool shown_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
};

// "1,234,567"
std::string WithThousands(std::uint64_t n);

}  // namespace partita::cli
