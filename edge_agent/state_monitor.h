// Keeps the device's current state: the system's readings (device_state.h) with the config's
// fixed overrides and the watched state file's overrides on top, refreshed every second.
// Reports a significant change (battery crossing a 5% step, charging, thermal or network
// change) so the agent can heartbeat at once. Lives on the agent's io_context thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "edge_agent/device_state.h"
#include "net/asio.h"

namespace partita::agent {

class StateMonitor {
 public:
  StateMonitor(asio::any_io_executor executor, StateOverrides fixed, std::string state_file,
               SystemPaths paths = {});

  // Reads once now; then every `period`, calling `on_significant_change` when it changes.
  void Start(std::function<void()> on_significant_change,
             std::chrono::milliseconds period = std::chrono::seconds(1));
  void Stop();

  const DeviceState& current() const { return current_; }
  // Re-reads now (also picks up a changed state file); returns true on a significant change.
  bool Refresh();
  // The RTT the agent measured to the router (used when no override sets one).
  void set_measured_rtt(double ms) { measured_rtt_ms_ = ms; }

 private:
  asio::awaitable<void> Loop();
  static bool Significant(const DeviceState& a, const DeviceState& b);

  asio::steady_timer timer_;
  StateOverrides fixed_;
  std::string state_file_;
  std::string state_file_stamp_;
  StateOverrides file_overrides_;
  SystemPaths paths_;
  DeviceState current_;
  double measured_rtt_ms_ = 0;
  std::chrono::milliseconds period_{1000};
  std::function<void()> on_change_;
  bool stopped_ = false;
};

}  // namespace partita::agent
