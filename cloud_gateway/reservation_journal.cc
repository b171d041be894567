#include "cloud_gateway/reservation_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace partita::cloud_gateway {

namespace {

// File layout: a 64-byte header, then fixed 192-byte slots. Little-endian host order: the file
// is local to one machine and never copied.
constexpr char kMagic[8] = {'P', 'T', 'R', 'S', 'V', 'J', '0', '2'};
constexpr std::size_t kHeaderBytes = 64;

struct Header {
  char magic[8];
  std::uint32_t slot_count;
  std::uint32_t slot_bytes;
};

struct Slot {
  std::uint32_t state;  // kFree or kOpen; written last (release), read first (acquire)
  std::int32_t day;
  std::int64_t id;
  std::int64_t watermark;
  std::int64_t reserved_pico_usd;
  std::int64_t started_unix_ms;
  std::uint8_t stream;
  char device[65];  // NUL-terminated; device ids are at most 64 characters
  char model[79];   // NUL-terminated, cut to 78 characters
};
static_assert(sizeof(Slot) == 192);

constexpr std::uint32_t kFree = 0;
constexpr std::uint32_t kOpen = 0x4f50454e;      // "OPEN"
constexpr std::uint32_t kClaiming = 0x434c4149;  // being written; read as free after a crash

std::atomic_ref<std::uint32_t> StateOf(Slot& s) { return std::atomic_ref<std::uint32_t>(s.state); }

void CopyCut(char* out, std::size_t size, std::string_view in) {
  const std::size_t n = std::min(in.size(), size - 1);
  std::memcpy(out, in.data(), n);
  out[n] = '\0';
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<ReservationJournal>> ReservationJournal::OpenFile(
    const std::string& path, std::vector<Open>* left_open) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError(Errno("cannot open the reservation journal '" + path + "'"));
  std::unique_ptr<ReservationJournal> j(new ReservationJournal(path, fd));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return FailedPrecondition("the reservation journal '" + path +
                              "' is locked by another process: another gateway uses this "
                              "ledger (give each gateway its own `ledger`)");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError(Errno("cannot stat '" + path + "'"));
  if (st.st_size == 0) return j;  // new: Reset() sizes it
  if (static_cast<std::size_t>(st.st_size) < kHeaderBytes) {
    return InvalidArgument("'" + path + "' is not a Partita reservation journal (too short)");
  }
  PARTITA_RETURN_IF_ERROR(j->Map(static_cast<std::size_t>(st.st_size)));
  Header h;
  std::memcpy(&h, j->base_, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.slot_bytes != sizeof(Slot) ||
      kHeaderBytes + std::size_t{h.slot_count} * sizeof(Slot) >
          static_cast<std::size_t>(st.st_size)) {
    return InvalidArgument("'" + path +
                           "' is not a Partita reservation journal of this version; move it "
                           "away only if no gateway was killed with requests in flight");
  }
  j->slot_count_ = h.slot_count;
  if (left_open != nullptr) {
    for (std::uint32_t i = 0; i < h.slot_count; ++i) {
      Slot& s = reinterpret_cast<Slot*>(j->base_ + kHeaderBytes)[i];
      if (StateOf(s).load(std::memory_order_acquire) != kOpen) continue;
      Open o;
      o.id = s.id;
      o.watermark = s.watermark;
      o.day = s.day;
      o.reserved_pico_usd = s.reserved_pico_usd;
      o.started_unix_ms = s.started_unix_ms;
      o.stream = s.stream != 0;
      o.device.assign(s.device, strnlen(s.device, sizeof s.device));
      o.model.assign(s.model, strnlen(s.model, sizeof s.model));
      left_open->push_back(std::move(o));
    }
  }
  return j;
}

ReservationJournal::~ReservationJournal() {
  Unmap();
  if (fd_ >= 0) ::close(fd_);  // also releases the lock
}

Status ReservationJournal::Map(std::size_t bytes) {
  Unmap();
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return IoError(Errno("cannot map '" + path_ + "'"));
  base_ = static_cast<char*>(p);
  mapped_ = bytes;
  return Status::Ok();
}

void ReservationJournal::Unmap() {
  if (base_ != nullptr) ::munmap(base_, mapped_);
  base_ = nullptr;
  mapped_ = 0;
}

Status ReservationJournal::Reset(std::uint32_t slots) {
  if (slots == 0) return InvalidArgument("a reservation journal needs at least one slot");
  const std::size_t bytes = kHeaderBytes + std::size_t{slots} * sizeof(Slot);
  Unmap();
  // Zero the whole file (every slot free), then write the header.
  if (::ftruncate(fd_, 0) != 0 || ::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) {
    return IoError(Errno("cannot size '" + path_ + "'"));
  }
  PARTITA_RETURN_IF_ERROR(Map(bytes));
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.slot_count = slots;
  h.slot_bytes = sizeof(Slot);
  std::memcpy(base_, &h, sizeof h);
  if (::msync(base_, bytes, MS_SYNC) != 0) return IoError(Errno("cannot sync '" + path_ + "'"));
  slot_count_ = slots;
  open_.store(0);
  return Status::Ok();
}

std::uint32_t ReservationJournal::Claim(std::int64_t id, std::int64_t watermark, std::int32_t day,
                                        std::int64_t reserved_pico_usd,
                                        std::int64_t started_unix_ms, std::string_view device,
                                        std::string_view model, bool stream) {
  // A free slot, found from a rotating start (most are free: one or two tries), taken with a
  // compare-and-swap: no lock on the request path.
  Slot* slots = reinterpret_cast<Slot*>(base_ + kHeaderBytes);
  const std::uint32_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < slot_count_; ++i) {
    const std::uint32_t slot = (start + i) % slot_count_;
    Slot& s = slots[slot];
    std::uint32_t expected = kFree;
    if (!StateOf(s).compare_exchange_strong(expected, kClaiming, std::memory_order_acquire)) {
      continue;
    }
    s.day = day;
    s.id = id;
    s.watermark = watermark;
    s.reserved_pico_usd = reserved_pico_usd;
    s.started_unix_ms = started_unix_ms;
    s.stream = stream ? 1 : 0;
    CopyCut(s.device, sizeof s.device, device);
    CopyCut(s.model, sizeof s.model, model);
    StateOf(s).store(kOpen, std::memory_order_release);
    open_.fetch_add(1, std::memory_order_relaxed);
    return slot;
  }
  return kNoSlot;
}

void ReservationJournal::Release(std::uint32_t slot) {
  if (slot >= slot_count_) return;
  Slot& s = reinterpret_cast<Slot*>(base_ + kHeaderBytes)[slot];
  StateOf(s).store(kFree, std::memory_order_release);
  open_.fetch_sub(1, std::memory_order_relaxed);
}

std::uint32_t ReservationJournal::open() const { return open_.load(std::memory_order_relaxed); }

}  // namespace partita::cloud_gateway
