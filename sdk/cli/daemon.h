// The one shell every `partita` daemon runs in: the router, the agent, the gateway and modeld.
// RunDaemon() starts the daemon, removes the files a failed start created (so a port in use
// leaves no empty database behind), serves until SIGTERM or SIGINT (reloading rotated
// certificates every second and returning freed memory every ten), then drains it and returns
// the exit code. A crash of any command is reported on stderr (ReportCrashes).
// Call from the main thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace partita::cli {

struct DaemonSpec {
  std::string name;                           // "router": the log component, in messages
  std::vector<std::string> files_it_creates;  // removed again if `start` fails
  // Creates and starts the daemon (the caller's lambda keeps it); an error is printed as is.
  std::function<Status()> start;
  // Called if `start` failed, before the files are removed: release what it opened.
  std::function<void()> release;
  // Graceful stop after SIGTERM or SIGINT (signo).
  std::function<void(int signo)> drain;
};

// Runs a daemon to its end; the process's exit code (0 after a signal, 1 if it did not start).
int RunDaemon(const DaemonSpec& spec);

// A daemon object run through RunDaemon: `create` makes it, its Start() starts it, `started`
// (optional) reports it, `drain` stops it after a signal. It lives until RunOwnedDaemon returns.
template <typename Daemon>
struct OwnedDaemonSpec {
  std::string name;
  std::vector<std::string> files_it_creates;
  std::function<Result<std::unique_ptr<Daemon>>()> create;
  std::function<void(const Daemon&)> started;
  std::function<void(Daemon&)> drain;
};

template <typename Daemon>
int RunOwnedDaemon(const OwnedDaemonSpec<Daemon>& spec) {
  std::unique_ptr<Daemon> daemon;
  return RunDaemon({.name = spec.name,
                    .files_it_creates = spec.files_it_creates,
                    .start = [&]() -> Status {
                      Result<std::unique_ptr<Daemon>> made = spec.create();
                      if (!made.ok()) return made.status();
                      daemon = std::move(*made);
                      PARTITA_RETURN_IF_ERROR(daemon->Start());
                      if (spec.started) spec.started(*daemon);
                      return Status::Ok();
                    },
                    .release = [&] { daemon.reset(); },
                    .drain = [&](int) { spec.drain(*daemon); }});
}

// Blocks until SIGTERM/SIGINT arrives and returns the signal number. Meanwhile it reloads
// certificates whose files changed (net::ReloadChangedCertificates) and returns freed memory
// to the system (a daemon shrinks back after a burst).
int WaitForTerminationSignal();

// Installs the crash reporter for `command` ("gateway", "router"...). Call once, early: a crash
// (SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGABRT) is reported on stderr with the signal and a
// backtrace before the process dies, so an operator's log says why.
void ReportCrashes(const char* command);

}  // namespace partita::cli
