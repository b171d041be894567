// Runs an io_context on a background thread for the lifetime of the object (servers under
// test), and runs a coroutine to completion on a caller-owned io_context with a time limit
// (clients under test).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

namespace partita::testing {

class IoThread {
 public:
  IoThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() { Stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& context() { return io_; }
  void Stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Runs `coroutine` on `io` (on this thread) until it completes; throws if it takes longer than
// `limit` (a hung test fails instead of hanging CI).
template <typename T>
T RunCoroutine(boost::asio::io_context& io, boost::asio::awaitable<T> coroutine,
               std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::optional<T> result;
  auto wrapper = [&]() -> boost::asio::awaitable<void> {
    result.emplace(co_await std::move(coroutine));
  };
  std::future<void> future = boost::asio::co_spawn(io, wrapper(), boost::asio::use_future);
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > deadline) {
      io.stop();
      throw std::runtime_error("coroutine did not finish in time");
    }
    io.run_one_for(std::chrono::milliseconds(50));
  }
  future.get();  // rethrows an exception from the coroutine
  return std::move(*result);
}

}  // namespace partita::testing
