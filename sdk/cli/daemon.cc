#include "sdk/cli/daemon.h"

#include <execinfo.h>
#include <malloc.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "common/log.h"
#include "net/tls.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

namespace {

const char* crash_command = "partita";

void WriteAll(const char* text) {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Async-signal-safe as far as it can be: write(2), and backtrace_symbols_fd, which does not
// allocate once backtrace() has been called before (ReportCrashes does).
void OnFatalSignal(int signo) {
  WriteAll("partita ");
  WriteAll(crash_command);
  WriteAll(": fatal signal ");
  WriteAll(sigabbrev_np(signo) != nullptr ? sigabbrev_np(signo) : "?");
  WriteAll(" (");
  WriteAll(sigdescr_np(signo) != nullptr ? sigdescr_np(signo) : "unknown");
  WriteAll("); the process stops. Backtrace:\n");
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(signo, SIG_DFL);
  std::raise(signo);
}

}  // namespace

void ReportCrashes(const char* command) {
  crash_command = command;
  void* warm[1];
  backtrace(warm, 1);  // loads libgcc's unwinder now, not inside the handler
  struct sigaction action {};
  action.sa_handler = OnFatalSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (int signo : {SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGABRT}) sigaction(signo, &action, nullptr);
}

int WaitForTerminationSignal() {
  // Memory freed after a burst (connections closed, buffers released) goes back to the system:
  // blocks of 128 KiB and more are mapped on their own and unmapped when freed (glibc would
  // otherwise raise that threshold as large blocks are freed, and keep them), and every
  // 10 seconds the heap's free pages are returned.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::steady_timer tick(io);
  int received = 0;
  int ticks = 0;
  // Every second: certificates whose files changed are reloaded (rotation without a restart);
  // every tenth: freed heap pages go back to the system.
  std::function<void()> schedule = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      net::ReloadChangedCertificates();
      if (++ticks % 10 == 0) malloc_trim(0);
      schedule();
    });
  };
  schedule();
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) received = signo;
    tick.cancel();
  });
  io.run();
  return received;
}

int RunDaemon(const DaemonSpec& spec) {
  std::vector<std::string> created;
  std::error_code ec;
  for (const std::string& f : spec.files_it_creates) {
    if (!std::filesystem::exists(f, ec)) created.push_back(f);
  }
  if (Status s = spec.start(); !s.ok()) {
    if (spec.release) spec.release();
    for (const std::string& f : created) std::filesystem::remove(f, ec);
    PrintError(s.message());
    return 1;
  }
  const int signo = WaitForTerminationSignal();
  LogInfo(spec.name,
          std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + "; draining");
  if (spec.drain) spec.drain(signo);
  LogInfo(spec.name, "stopped");
  return 0;
}

}  // namespace partita::cli
