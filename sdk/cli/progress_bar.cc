#include "sdk/cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace partita::cli {

ProgressBar::ProgressBar(bool quiet)
    : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0), start_(Clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(const std::string& label, double fraction, const std::string& detail) {
  if (quiet_) return;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0) return;
  const auto min_gap = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  if (shown_ && now - last_draw_ < min_gap && fraction < 1.0) return;
  last_draw_ = now;
  shown_ = true;
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(fraction * kWidth + 0.5);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::string eta = "";
  if (fraction > 0.01 && fraction < 1.0) {
    const double left = elapsed * (1.0 - fraction) / fraction;
    char buf[32];
    std::snprintf(buf, sizeof buf, "  ETA %.0fs", left);
    eta = buf;
  }
  std::fprintf(stderr, "%s%-14s [%s] %3.0f%%  %s%s%s", tty_ ? "\r\033[K" : "", label.c_str(),
               bar.c_str(), fraction * 100.0, detail.c_str(), eta.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (shown_ && tty_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  shown_ = false;
}

std::string WithThousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace partita::cli
