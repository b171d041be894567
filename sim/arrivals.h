// The exogenous half of a simulation: when each request arrives, on which device, what it
// asks (kind, difficulty, sizes, privacy) and the device's network at that moment. All of it is
// a pure function of (seed, fleet, time), independent of what a policy decides, so it is
// generated on its own thread, ahead of the simulation that consumes it, in the order the
// simulation needs: by time, ties by device index. Request ids count arrivals from 1.
//
// The generator thread never reads the world's devices (the simulation thread writes them):
// the constructor copies the static facts it needs (workload, network class, household phone)
// on the constructing thread, and the generator keeps the per-device arrival counters itself.
// One consumer; blocks are handed over in order, so output is identical to a serial run. An
// exception on the generator thread (out of memory) ends the process.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "policies/decision.h"
#include "sim/world.h"

namespace partita::sim {

struct Arrival {
  double t_s = 0;
  std::uint64_t request_id = 0;
  std::uint32_t device = 0;
  std::int8_t hour = 0;                      // local hour of day at t
  NetworkType network = NetworkType::kWifi;  // the asking device's, at t
  bool phone_online = false;  // the household phone's network is up at t (false: no phone)
  double rtt_ms = 0;          // to the cloud, on `network`; 0 when offline
  policy::RequestFacts request;
  const LabeledPrompts* prompts = nullptr;  // the request's labeled prompt set, if its kind has one
  std::uint32_t prompt = 0;                 // its index in `prompts`
};

class ArrivalStream {
 public:
  // Starts generating arrivals in [0, end_s). `world` must outlive the stream.
  ArrivalStream(const World& world, double end_s);
  ~ArrivalStream();
  ArrivalStream(const ArrivalStream&) = delete;
  ArrivalStream& operator=(const ArrivalStream&) = delete;

  // At most this many arrivals are generated ahead of the consumer (bounded memory).
  static constexpr std::size_t kBlockSize = 4096;
  static constexpr std::size_t kBlocks = 8;
  static constexpr std::size_t kBufferedArrivals = kBlockSize * kBlocks;

  // The next arrivals in order; empty once simulated time is over. The span stays valid until
  // the next call.
  std::span<const Arrival> NextBlock();

 private:
  struct Block {
    std::vector<Arrival> arrivals;
    bool last = false;
  };

  void Generate();
  void ScheduleNext(std::uint32_t device, double after);
  void Describe(Arrival& a) const;

  const World& world_;
  const FleetSpec& fleet_;
  std::uint64_t seed_;
  double end_s_;

  // What the generator needs of a device, packed (the world's devices are large and written
  // by the simulation thread).
  struct DeviceArrivals {
    std::uint64_t draws = 0;  // taken from the device's arrival stream so far
    std::int32_t peer_phone = kNoDevice;
    std::uint16_t workload = 0;
    std::int8_t network_class = -1;
  };
  // Per workload class: the thinning envelope and the rate in each hour (requests/s).
  struct ClassRates {
    double peak = 0;
    std::array<double, 24> by_hour{};
  };

  // Generator thread only.
  std::vector<DeviceArrivals> devices_;
  std::vector<ClassRates> rates_;
  std::priority_queue<std::pair<double, std::uint32_t>,
                      std::vector<std::pair<double, std::uint32_t>>, std::greater<>>
      pending_;
  std::uint64_t next_request_id_ = 1;

  // Ring of blocks: the generator fills [produced_, produced_ + free), the consumer reads
  // [consumed_, produced_). Counters only grow; slot = counter % kBlocks.
  std::mutex mu_;
  std::condition_variable filled_;
  std::condition_variable drained_;
  std::vector<Block> ring_;
  std::uint64_t produced_ = 0;  // guarded by mu_
  std::uint64_t consumed_ = 0;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  bool reading_ = false;        // the consumer holds block consumed_ (consumer only)
  bool finished_ = false;       // consumer only: the last block was read
  std::thread thread_;
};

}  // namespace partita::sim
