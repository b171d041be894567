// Runs a program (the real `partita` binary) as a child process for tests that must kill it:
// its stdout and stderr go to a log file the test reads. Waits are bounded; nothing sleeps.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace partita::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path)
      : log_path_(std::move(log_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0]);
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The number that follows the first `marker` in the log ("(port " -> "8443"), once it appears
  // (nullopt after 20 s or when the process exits first).
  std::optional<std::string> WaitForNumberAfter(const std::string& marker) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      const std::string text = Log();
      const std::size_t at = text.find(marker);
      if (at != std::string::npos) {
        const std::size_t begin = at + marker.size();
        std::size_t end = begin;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        if (end > begin) return text.substr(begin, end - begin);
      }
      if (!Running() || std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::yield();
    }
  }

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void Kill(int signo) { ::kill(pid_, signo); }
  // The exit status (waitpid's), once the process has ended.
  int Wait() {
    if (pid_ > 0) ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  bool Running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, &status_, WNOHANG) == 0) return true;
    pid_ = -1;  // reaped: status_ holds how it ended
    return false;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string log_path_;
};

}  // namespace partita::testing
