// A full-duplex framed connection: one reader coroutine, a coalescing write queue, timeouts.
//
// The owner runs a loop of `co_await conn->Read(env)` and reacts to each Envelope; anyone may
// call Send(). Frames queued while a write is in flight are coalesced into the next write, so a
// busy connection costs one write per batch, not per frame. Limits protect the process from its
// peers: frames over max_frame_bytes and undecodable frames end Read() with a FrameError; a peer
// that sends nothing for idle_timeout, or does not read what we send (outbox over
// max_outbox_bytes, or a write pending past write_timeout), is disconnected.
//
// Threading: the connection lives on its stream's executor (one io_context thread). Read(),
// Start() and Close() must run there; Send() may be called from any thread (it posts).
// Lifetime: the writer and watchdog hold the connection alive until Close(); the owner closes it
// when its read loop ends. Stream is a Beast stream (TlsStream or UnixStream).
#pragma once

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "net/asio.h"
#include "net/frame.h"

namespace partita::net {

struct FramedConnectionOptions {
  std::uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::size_t max_outbox_bytes = 8u << 20;
  std::chrono::milliseconds idle_timeout{0};  // 0 = no idle limit
  std::chrono::milliseconds write_timeout{10'000};
};

template <typename Stream>
class FramedConnection : public std::enable_shared_from_this<FramedConnection<Stream>> {
 public:
  using Clock = std::chrono::steady_clock;

  FramedConnection(Stream stream, FramedConnectionOptions options)
      : stream_(std::move(stream)),
        options_(options),
        reader_(options.max_frame_bytes),
        wake_writer_(stream_.get_executor()),
        watchdog_(stream_.get_executor()) {}

  FramedConnection(const FramedConnection&) = delete;
  FramedConnection& operator=(const FramedConnection&) = delete;

  Stream& stream() { return stream_; }
  asio::any_io_executor get_executor() { return stream_.get_executor(); }

  // Starts the writer and the watchdog coroutines. Call once, on the connection's thread.
  void Start() {
    owner_thread_ = std::this_thread::get_id();
    last_read_ = Clock::now();
    auto self = this->shared_from_this();
    asio::co_spawn(get_executor(), self->WriteLoop(), asio::detached);
    asio::co_spawn(get_executor(), self->Watchdog(), asio::detached);
  }

  // Reads the next frame. Returns a FrameError code (oversize, undecodable, truncated), a
  // transport error, or asio::error::timed_out after the idle timeout closed the connection.
  asio::awaitable<error_code> Read(v1::Envelope& out) {
    for (;;) {
      const FrameError e = reader_.Next(out);
      if (e == FrameError::kOk) {
        last_read_ = Clock::now();
        co_return error_code{};
      }
      if (e != FrameError::kNeedMore) co_return make_error_code(e);
      if (closed_)
        co_return timed_out_ ? error_code(asio::error::timed_out)
                             : error_code(asio::error::operation_aborted);
      std::span<std::uint8_t> space = reader_.Prepare();
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(space.data(), space.size()),
                                                      use_nothrow_awaitable);
      reader_.Commit(n);
      if (ec) {
        if (timed_out_) co_return error_code(asio::error::timed_out);
        if (ec == asio::error::eof && reader_.buffered() > 0) {
          co_return make_error_code(FrameError::kTruncated);
        }
        co_return ec;
      }
    }
  }

  // Queues a frame for sending. Safe from any thread; a no-op once closed.
  void Send(const v1::Envelope& envelope) {
    if (std::this_thread::get_id() == owner_thread_) {
      Enqueue(envelope);
      return;
    }
    std::string frame;
    if (!AppendFrame(envelope, frame, options_.max_frame_bytes)) return;
    asio::dispatch(get_executor(), [self = this->shared_from_this(), f = std::move(frame)] {
      self->EnqueueBytes(f);
    });
  }

  // Closes the connection now; pending reads and writes complete with errors.
  void Close(std::string reason) {
    if (closed_) return;
    closed_ = true;
    close_reason_ = std::move(reason);
    wake_writer_.cancel();
    watchdog_.cancel();
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(asio::socket_base::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  // Waits until the outbox is written or `timeout` passes. True when everything was written.
  asio::awaitable<bool> Flush(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    asio::steady_timer tick(get_executor());
    while (!closed_ && (writing_ || !outbox_.empty()) && Clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(2));
      co_await tick.async_wait(use_nothrow_awaitable);
    }
    co_return !writing_ && outbox_.empty();
  }

  // Changes the idle limit (e.g. a short one until the peer says Hello). Connection's thread.
  void SetIdleTimeout(std::chrono::milliseconds timeout) {
    options_.idle_timeout = timeout;
    last_read_ = Clock::now();
  }

  bool closed() const { return closed_; }
  const std::string& close_reason() const { return close_reason_; }
  std::size_t outbox_bytes() const { return outbox_.size(); }

 private:
  void Enqueue(const v1::Envelope& envelope) {
    if (closed_) return;
    if (!AppendFrame(envelope, outbox_, options_.max_frame_bytes)) {
      Close("outgoing frame larger than the frame limit");
      return;
    }
    AfterEnqueue();
  }

  void EnqueueBytes(const std::string& frame) {
    if (closed_) return;
    outbox_ += frame;
    AfterEnqueue();
  }

  void AfterEnqueue() {
    if (outbox_.size() > options_.max_outbox_bytes) {
      Close("peer is not reading (outbox over " + std::to_string(options_.max_outbox_bytes) +
            " bytes)");
      return;
    }
    if (!writing_) wake_writer_.cancel();
  }

  asio::awaitable<void> WriteLoop() {
    auto self = this->shared_from_this();
    std::string batch;
    while (!closed_) {
      if (outbox_.empty()) {
        wake_writer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_writer_.async_wait(use_nothrow_awaitable);
        continue;
      }
      batch.clear();
      batch.swap(outbox_);
      writing_ = true;
      write_started_ = Clock::now();
      auto [ec, n] =
          co_await asio::async_write(stream_, asio::buffer(batch), use_nothrow_awaitable);
      writing_ = false;
      if (ec) {
        Close("write failed: " + ec.message());
        co_return;
      }
      if (batch.capacity() > (1u << 20)) std::string().swap(batch);
    }
  }

  asio::awaitable<void> Watchdog() {
    auto self = this->shared_from_this();
    while (!closed_) {
      auto period = std::chrono::milliseconds(1000);
      if (options_.idle_timeout.count() > 0) {
        period =
            std::min(period, std::max(std::chrono::milliseconds(5), options_.idle_timeout / 4));
      }
      watchdog_.expires_after(period);
      co_await watchdog_.async_wait(use_nothrow_awaitable);
      if (closed_) co_return;
      const auto now = Clock::now();
      if (options_.idle_timeout.count() > 0 && now - last_read_ > options_.idle_timeout) {
        timed_out_ = true;
        Close("no frame from the peer for " + std::to_string(options_.idle_timeout.count()) +
              " ms");
        co_return;
      }
      if (writing_ && options_.write_timeout.count() > 0 &&
          now - write_started_ > options_.write_timeout) {
        timed_out_ = true;
        Close("peer did not read for " + std::to_string(options_.write_timeout.count()) + " ms");
        co_return;
      }
    }
  }

  Stream stream_;
  FramedConnectionOptions options_;
  FrameReader reader_;
  std::string outbox_;
  bool writing_ = false;
  bool closed_ = false;
  bool timed_out_ = false;
  std::string close_reason_;
  Clock::time_point last_read_{};
  Clock::time_point write_started_{};
  asio::steady_timer wake_writer_;
  asio::steady_timer watchdog_;
  std::thread::id owner_thread_{};
};

}  // namespace partita::net
