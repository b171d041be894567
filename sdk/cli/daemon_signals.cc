#include "sdk/cli/daemon_signals.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

namespace partita::cli {

int WaitForTerminationSignal(const std::function<void(int)>& on_signal) {
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) received = signo;
  });
  io.run();
  if (on_signal) on_signal(received);
  return received;
}

}  // namespace partita::cli
