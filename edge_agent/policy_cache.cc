#include "edge_agent/policy_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"
#include "policies/loader.h"

namespace partita::agent {

namespace {
constexpr const char* kLog = "agent";
}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return IoError("cannot create '" + tmp + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return IoError("cannot write '" + tmp + "': " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return IoError("cannot write '" + tmp + "': " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return IoError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  return Status::Ok();
}

PolicyCache::PolicyCache(std::string path) : path_(std::move(path)) {
  thread_ = std::thread([this] { Run(); });
}

PolicyCache::~PolicyCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<policy::PolicyPtr> PolicyCache::Load(CatalogPtr catalog) const {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("no policy cache at " + path_);
    return IoError("cannot read the policy cache '" + path_ + "': " + std::strerror(errno));
  }
  // The cache decides where private requests may go: only a file this agent could have
  // written is trusted (not a link, owned by this user, writable by nobody else).
  if (!S_ISREG(st.st_mode)) {
    return FailedPrecondition("refusing the policy cache '" + path_ + "': not a regular file");
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return FailedPrecondition("refusing the policy cache '" + path_ +
                              "': it is owned by another user or writable by others");
  }
  return policy::LoadPolicyFile(path_, std::move(catalog));
}

void PolicyCache::Store(std::string source) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(source);
  }
  cv_.notify_all();
}

void PolicyCache::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !pending_ && !writing_; });
}

void PolicyCache::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
    if (!pending_) return;  // stopping with nothing left to write
    std::string source = std::move(*pending_);
    pending_.reset();
    writing_ = true;
    lock.unlock();
    const Status s = WriteFileAtomically(path_, source);
    if (!s.ok()) {
      LogWarn(kLog, "cannot save the router's policy to the policy cache: " + s.message() +
                        "; an agent restarted while the router is down will have no policy. "
                        "Set policy_cache to a writable file");
    }
    lock.lock();
    writing_ = false;
    cv_.notify_all();
  }
}

}  // namespace partita::agent
