// The budget reservations of requests in flight, kept in a file mapped into memory
// (MAP_SHARED), so that a gateway that is killed does not forget what it was spending.
//
// A request's reservation (its ledger row id, device, model, UTC day and reserved cost) is
// written into a slot before its first byte goes upstream, and the slot is freed once the
// request's ledger row has committed. A store into a shared file mapping is in the page cache
// as soon as it is made, so the slots survive the process (SIGKILL, a crash), though not a
// power loss (the ledger's WAL with synchronous=NORMAL does not either). At start-up, the slots
// still open are the requests a crash cut: the gateway settles each at its reserved cost before
// it serves (Gateway::Create), then Reset()s the journal.
//
// No file I/O and no lock on the request path: Claim() takes a free slot with a compare-and-swap
// and writes it; Release() marks it free. The file is locked (flock) while open, so two gateways
// cannot share a ledger. Thread-safe: Claim and Release from any thread; Open and Reset at start-up
// only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace partita::cloud_gateway {

class ReservationJournal {
 public:
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;

  // A reservation a previous process left open.
  struct Open {
    std::int64_t id = 0;         // the reservation id its ledger row carries
    std::int64_t watermark = 0;  // the ledger's last rowid when it was claimed
    std::int32_t day = 0;
    std::int64_t reserved_pico_usd = 0;
    std::int64_t started_unix_ms = 0;
    std::string device;
    std::string model;
    bool stream = false;
  };

  // Opens (creating) `path` and locks it. `left_open` receives the reservations still open in
  // it (a crash). Errors: the file is not a journal, or another gateway holds it.
  static Result<std::unique_ptr<ReservationJournal>> OpenFile(const std::string& path,
                                                              std::vector<Open>* left_open);
  ~ReservationJournal();
  ReservationJournal(const ReservationJournal&) = delete;
  ReservationJournal& operator=(const ReservationJournal&) = delete;

  // Empties the journal and sizes it for `slots` reservations. Call once what OpenFile()
  // returned has been settled (durably), before serving.
  Status Reset(std::uint32_t slots);

  // Records an open reservation; its slot, or kNoSlot when every slot is taken.
  std::uint32_t Claim(std::int64_t id, std::int64_t watermark, std::int32_t day,
                      std::int64_t reserved_pico_usd, std::int64_t started_unix_ms,
                      std::string_view device, std::string_view model, bool stream);
  // The reservation's ledger row has committed (or will never be written): the slot is free.
  void Release(std::uint32_t slot);

  std::uint32_t slots() const { return slot_count_; }
  std::uint32_t open() const;
  const std::string& path() const { return path_; }

 private:
  explicit ReservationJournal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status Map(std::size_t bytes);
  void Unmap();

  std::string path_;
  int fd_ = -1;
  char* base_ = nullptr;  // the mapping
  std::size_t mapped_ = 0;
  std::uint32_t slot_count_ = 0;        // set by Reset() before any Claim()
  std::atomic<std::uint32_t> next_{0};  // where the next Claim() starts looking
  std::atomic<std::uint32_t> open_{0};
};

}  // namespace partita::cloud_gateway
