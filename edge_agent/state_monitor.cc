#include "edge_agent/state_monitor.h"

#include <sys/stat.h>

#include <cmath>

#include "common/log.h"

namespace partita::agent {

namespace {
std::string Stamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size);
}
}  // namespace

StateMonitor::StateMonitor(asio::any_io_executor executor, StateOverrides fixed,
                           std::string state_file, SystemPaths paths)
    : timer_(executor),
      fixed_(std::move(fixed)),
      state_file_(std::move(state_file)),
      paths_(std::move(paths)) {
  Refresh();
}

void StateMonitor::Start(std::function<void()> on_significant_change,
                         std::chrono::milliseconds period) {
  on_change_ = std::move(on_significant_change);
  period_ = period;
  asio::co_spawn(timer_.get_executor(), Loop(), asio::detached);
}

void StateMonitor::Stop() {
  stopped_ = true;
  timer_.cancel();
}

bool StateMonitor::Refresh() {
  const std::string stamp = Stamp(state_file_);
  if (stamp != state_file_stamp_) {
    state_file_stamp_ = stamp;
    if (stamp.empty()) {
      file_overrides_ = {};
    } else if (Result<StateOverrides> o = LoadStateOverridesFile(state_file_); o.ok()) {
      file_overrides_ = *o;
      LogInfo("agent", "state file " + state_file_ + " applied");
    } else {
      LogWarn("agent", "state file ignored: " + o.status().message());
    }
  }
  DeviceState next = ReadSystemState(paths_);
  next.rtt_ms = measured_rtt_ms_;
  ApplyOverrides(fixed_, next);
  ApplyOverrides(file_overrides_, next);
  const bool changed = Significant(current_, next);
  current_ = next;
  return changed;
}

bool StateMonitor::Significant(const DeviceState& a, const DeviceState& b) {
  return std::floor(a.battery_pct / 5) != std::floor(b.battery_pct / 5) ||
         a.charging != b.charging || a.thermal != b.thermal || a.network != b.network;
}

asio::awaitable<void> StateMonitor::Loop() {
  while (!stopped_) {
    timer_.expires_after(period_);
    co_await timer_.async_wait(net::use_nothrow_awaitable);
    if (stopped_) co_return;
    if (Refresh() && on_change_) on_change_();
  }
}

}  // namespace partita::agent
