#include "sdk/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "net/frame.h"
#include "proto/convert.h"

namespace partita {

namespace {

using Clock = std::chrono::steady_clock;

// A connected unix socket, closed on destruction.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

Result<int> Connect(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return InvalidArgument("socket path too long: " + path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable("no Partita agent at " + path + " (" + std::strerror(err) +
                       "); start one with `partita agent --config agent.yaml`, or set "
                       "PARTITA_SOCKET to its app_socket");
  }
  return fd;
}

Status WriteAll(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(std::string("agent connection lost: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

AttemptInfo ToAttempt(const v1::Attempt& a) {
  AttemptInfo info;
  info.tier = FromProto(a.tier());
  info.model = a.model();
  info.result = AttemptResultName(a.result());
  info.detail = a.detail();
  info.elapsed_ms = a.elapsed_ms();
  info.tokens_out = a.tokens_out();
  return info;
}

Status StatusFromError(const v1::Error& e) {
  std::string message = e.message().empty() ? "the agent could not answer" : e.message();
  switch (e.code()) {
    case v1::ERROR_INVALID_REQUEST: return InvalidArgument(message);
    case v1::ERROR_DEADLINE_EXCEEDED: return DeadlineExceeded(message);
    case v1::ERROR_BUDGET_EXCEEDED: return ResourceExhausted(message);
    case v1::ERROR_GUARD_BLOCKED: return FailedPrecondition(message);
    case v1::ERROR_OVERLOADED: return ResourceExhausted(message);
    case v1::ERROR_INTERNAL: return Internal(message);
    default: return Unavailable(message);
  }
}

}  // namespace

std::string Client::DefaultSocketPath() {
  const char* env = std::getenv("PARTITA_SOCKET");
  return env != nullptr && *env != '\0' ? env : "/tmp/partita.sock";
}

Result<Answer> Client::Ask(std::string_view prompt, const AskOptions& options) {
  return AskStream(prompt, options, {});
}

Result<Answer> Client::AskStream(std::string_view prompt, const AskOptions& options,
                                 const std::function<void(std::string_view)>& on_chunk) {
  const auto deadline = Clock::now() + options.timeout;
  Result<int> fd = Connect(socket_path_);
  if (!fd.ok()) return fd.status();
  Socket socket(*fd);

  v1::Envelope request;
  v1::AskRequest* ask = request.mutable_ask_request();
  ask->set_prompt(std::string(prompt));
  ask->set_privacy(ToProto(options.privacy));
  ask->set_latency_budget_ms(options.latency_budget_ms);
  ask->set_max_cost_usd(options.max_cost_usd);
  if (options.kind) ask->set_kind(ToProto(*options.kind));
  ask->set_stream(static_cast<bool>(on_chunk));
  ask->set_max_tokens(options.max_tokens);
  std::string frame;
  if (!net::AppendFrame(request, frame)) {
    return InvalidArgument("the prompt is larger than the 1 MiB frame limit");
  }
  PARTITA_RETURN_IF_ERROR(WriteAll(socket.fd(), frame));

  net::FrameReader reader(net::kDefaultMaxFrameBytes);
  for (;;) {
    v1::Envelope in;
    const net::FrameError e = reader.Next(in);
    if (e == net::FrameError::kOk) {
      if (in.has_ask_chunk()) {
        if (on_chunk) on_chunk(in.ask_chunk().text());
        continue;
      }
      if (in.has_error()) return StatusFromError(in.error());
      if (!in.has_ask_result()) continue;
      const v1::AskResult& r = in.ask_result();
      if (!r.ok() && !r.truncated()) {
        Status s = StatusFromError(r.error());
        std::string trail;
        for (const v1::Attempt& a : r.attempts()) {
          const AttemptInfo info = ToAttempt(a);
          trail += (trail.empty() ? "" : " > ") + std::string(info.tier ? Name(*info.tier) : "?") +
                   ": " + info.result + (info.detail.empty() ? "" : " (" + info.detail + ")");
        }
        return trail.empty() ? s : Status(s.code(), s.message() + "; tried " + trail);
      }
      Answer a;
      a.text = r.text();
      a.tier = FromProto(r.tier()).value_or(Tier::kDevice);
      a.model = r.model();
      a.ttft_ms = r.ttft_ms();
      a.total_ms = r.total_ms();
      a.tokens_in = r.tokens_in();
      a.tokens_out = r.tokens_out();
      a.cost_usd = r.cost_usd();
      a.energy_j = r.energy_j();
      a.rule = r.rule();
      a.policy_version = r.policy_version();
      a.decided_offline = r.decided_offline();
      a.truncated = r.truncated();
      if (a.truncated) a.truncated_reason = r.error().message();
      a.simulated = r.simulated();
      for (const v1::Attempt& at : r.attempts()) a.trail.push_back(ToAttempt(at));
      return a;
    }
    if (e != net::FrameError::kNeedMore) {
      return Internal(std::string("bad reply from the agent: ") + net::FrameErrorName(e));
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return DeadlineExceeded("no answer within " + std::to_string(options.timeout.count()) +
                              " ms");
    }
    pollfd p{socket.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    auto space = reader.Prepare(16 * 1024);
    const ssize_t n = ::recv(socket.fd(), space.data(), space.size(), 0);
    if (n == 0) return Unavailable("the agent closed the connection before answering");
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(std::string("agent connection lost: ") + std::strerror(errno));
    }
    reader.Commit(static_cast<std::size_t>(n));
  }
}

}  // namespace partita
