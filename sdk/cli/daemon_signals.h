// Runs a daemon until SIGTERM or SIGINT, then calls its graceful shutdown. Used by
// `partita router`, `agent` and `gateway`. Call from the main thread.
#pragma once

#include <functional>

namespace partita::cli {

// Blocks until SIGTERM/SIGINT arrives, then runs `on_signal` and returns the signal number.
int WaitForTerminationSignal(const std::function<void(int)>& on_signal);

}  // namespace partita::cli
