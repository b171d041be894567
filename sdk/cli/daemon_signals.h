// Runs a daemon until SIGTERM or SIGINT, then calls its graceful shutdown. Used by
// `partita router`, `agent` and `gateway`. Call from the main thread.
// Also: a crash (SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGABRT) is reported on stderr with the
// signal and a backtrace before the process dies, so an operator's log says why.
#pragma once

#include <functional>

namespace partita::cli {

// Blocks until SIGTERM/SIGINT arrives, then runs `on_signal` and returns the signal number.
// Meanwhile it reloads certificates whose files changed (net::ReloadChangedCertificates) and
// returns freed memory to the system (a daemon shrinks back after a burst).
int WaitForTerminationSignal(const std::function<void(int)>& on_signal);

// Installs the crash reporter for `command` ("gateway", "router"...). Call once, early.
void ReportCrashes(const char* command);

}  // namespace partita::cli
