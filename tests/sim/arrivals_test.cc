// The arrival stream: generated on its own thread, consumed in order.
#include "sim/arrivals.h"

#include <doctest/doctest.h>

#include <vector>

namespace partita::sim {
namespace {

FleetPtr City() {
  Result<FleetPtr> f = LoadFleetFile(std::string(PARTITA_SOURCE_DIR) + "/sim/fleets/city-100k.yaml",
                                     *DefaultCatalog());
  REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return *f;
}

std::vector<Arrival> Drain(ArrivalStream& stream) {
  std::vector<Arrival> all;
  for (auto block = stream.NextBlock(); !block.empty(); block = stream.NextBlock()) {
    all.insert(all.end(), block.begin(), block.end());
  }
  return all;
}

bool Same(const Arrival& a, const Arrival& b) {
  return a.t_s == b.t_s && a.request_id == b.request_id && a.device == b.device &&
         a.hour == b.hour && a.network == b.network && a.phone_online == b.phone_online &&
         a.rtt_ms == b.rtt_ms && a.request.kind == b.request.kind &&
         a.request.difficulty == b.request.difficulty &&
         a.request.tokens_in == b.request.tokens_in &&
         a.request.tokens_out == b.request.tokens_out && a.request.privacy == b.request.privacy &&
         a.request.latency_budget_ms == b.request.latency_budget_ms;
}

TEST_CASE("Arrivals come in time order, ties by device, numbered from 1, inside the run") {
  FleetPtr fleet = City();
  World world(*fleet, *DefaultCatalog(), 5);
  const double end_s = 3 * 3600;
  ArrivalStream stream(world, end_s);
  const std::vector<Arrival> all = Drain(stream);
  // More than the ring holds, so the generator reused its slots.
  REQUIRE(all.size() > ArrivalStream::kBufferedArrivals);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Arrival& a = all[i];
    const bool in_run = a.t_s >= 0 && a.t_s < end_s && a.device < world.devices().size();
    const bool ordered = i == 0 || all[i - 1].t_s < a.t_s ||
                         (all[i - 1].t_s == a.t_s && all[i - 1].device < a.device);
    if (a.request_id != i + 1 || !in_run || !ordered ||
        a.network != world.Network(a.device, a.t_s)) {
      FAIL("arrival " << i << ": request " << a.request_id << ", device " << a.device << " at "
                      << a.t_s << " s");
    }
  }
  CHECK(stream.NextBlock().empty());  // stays finished
}

TEST_CASE(
    "A shorter run's arrivals are the first arrivals of a longer run, the same in every way") {
  FleetPtr fleet = City();
  World world(*fleet, *DefaultCatalog(), 9);
  ArrivalStream short_run(world, 1800);
  ArrivalStream long_run(world, 3600);
  const std::vector<Arrival> a = Drain(short_run);
  const std::vector<Arrival> b = Drain(long_run);
  REQUIRE(!a.empty());
  REQUIRE(b.size() > a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!Same(a[i], b[i])) FAIL("arrival " << i << " differs");
  }
  CHECK(b[a.size()].t_s >= 1800);
}

TEST_CASE("A stream dropped before it is drained stops its generator") {
  FleetPtr fleet = City();
  World world(*fleet, *DefaultCatalog(), 1);
  {
    ArrivalStream stream(world, 24 * 3600);
    CHECK(stream.NextBlock().size() == ArrivalStream::kBlockSize);
  }  // the generator may be waiting on a full ring here; the destructor must wake and join it
  ArrivalStream nothing(world, 0);
  CHECK(nothing.NextBlock().empty());
}

}  // namespace
}  // namespace partita::sim
