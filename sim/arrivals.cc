#include "sim/arrivals.h"

#include <algorithm>

#include "sim/random.h"

namespace partita::sim {

ArrivalStream::ArrivalStream(const World& world, double end_s)
    : world_(world), fleet_(world.fleet()), seed_(world.seed()), end_s_(end_s), ring_(kBlocks) {
  devices_.reserve(world.devices().size());
  for (const SimDevice& d : world.devices()) {
    devices_.push_back({0, d.peer_phone, d.workload, d.network_class});
  }
  for (const ClassWorkload& w : fleet_.workload.classes) {
    ClassRates& r = rates_.emplace_back();
    for (std::size_t h = 0; h < 24; ++h) {
      r.by_hour[h] = w.requests_per_day * w.diurnal[h] * 24.0 / 86400.0;
      r.peak = std::max(r.peak, r.by_hour[h]);
    }
  }
  for (Block& b : ring_) b.arrivals.reserve(kBlockSize);
  thread_ = std::thread([this] { Generate(); });
}

ArrivalStream::~ArrivalStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  drained_.notify_all();
  thread_.join();
}

std::span<const Arrival> ArrivalStream::NextBlock() {
  std::unique_lock<std::mutex> lock(mu_);
  if (reading_) {
    ++consumed_;
    reading_ = false;
    drained_.notify_one();
  }
  if (finished_) return {};
  filled_.wait(lock, [this] { return produced_ > consumed_; });
  const Block& b = ring_[consumed_ % kBlocks];
  reading_ = true;
  finished_ = b.last;
  return b.arrivals;
}

void ArrivalStream::Generate() {
  const auto device_count = static_cast<std::uint32_t>(devices_.size());
  for (std::uint32_t i = 0; i < device_count; ++i) ScheduleNext(i, 0);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      drained_.wait(lock, [this] { return stop_ || produced_ - consumed_ < kBlocks; });
      if (stop_) return;
    }
    // The slot is free: the consumer reads only blocks below produced_.
    Block& b = ring_[produced_ % kBlocks];
    b.arrivals.clear();
    while (b.arrivals.size() < kBlockSize && !pending_.empty()) {
      const auto [t, device] = pending_.top();
      pending_.pop();
      Arrival& a = b.arrivals.emplace_back();
      a.t_s = t;
      a.device = device;
      a.request_id = next_request_id_++;
      Describe(a);
      ScheduleNext(device, t);
    }
    b.last = pending_.empty();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++produced_;
    }
    filled_.notify_one();
    if (b.last) return;
  }
}

void ArrivalStream::ScheduleNext(std::uint32_t device, double after) {
  DeviceArrivals& d = devices_[device];
  const ClassRates& r = rates_[d.workload];
  if (r.peak <= 0) return;
  // Thinning: candidates at the peak rate, each kept with probability rate(t) / peak.
  Rng rng(seed_, Stream::kArrival, device);
  rng.Seek(d.draws);
  double t = after;
  for (;;) {
    t += rng.Exponential(r.peak);
    if (t >= end_s_) break;
    if (rng.Uniform() * r.peak < r.by_hour[static_cast<std::size_t>(world_.HourAt(t))]) break;
  }
  d.draws = rng.counter();
  if (t < end_s_) pending_.emplace(t, device);
}

void ArrivalStream::Describe(Arrival& a) const {
  // The request, from its own stream so every policy sees the same one.
  Rng rng(seed_, Stream::kRequest, a.request_id);
  double u = rng.Uniform();
  const KindWorkload* kind = &fleet_.workload.kinds.back();
  for (const KindWorkload& k : fleet_.workload.kinds) {
    u -= k.share;
    if (u < 0) {
      kind = &k;
      break;
    }
  }
  policy::RequestFacts& r = a.request;
  r.kind = kind->kind;
  if (const LabeledPrompts* p = kind->prompts.get(); p != nullptr && !p->difficulty.empty()) {
    const auto n = static_cast<std::uint32_t>(p->difficulty.size());
    a.prompts = p;
    a.prompt = std::min(n - 1, static_cast<std::uint32_t>(rng.Uniform() * n));
    r.difficulty = p->difficulty[a.prompt];
    r.tokens_in = p->tokens_in[a.prompt];
  } else {
    a.prompts = nullptr;
    r.difficulty = std::clamp(kind->difficulty.Sample(rng), 0.0, 1.0);
    r.tokens_in = static_cast<std::uint32_t>(std::max(1.0, kind->tokens_in.Sample(rng)));
  }
  r.tokens_out = static_cast<std::uint32_t>(std::max(1.0, kind->tokens_out.Sample(rng)));
  r.latency_budget_ms = kind->latency_budget_ms;
  const double p = rng.Uniform();
  r.privacy = p < fleet_.workload.private_share                                  ? Privacy::kPrivate
              : p < fleet_.workload.private_share + fleet_.workload.public_share ? Privacy::kPublic
                                                                                 : Privacy::kNormal;

  a.hour = static_cast<std::int8_t>(world_.HourAt(a.t_s));
  const DeviceArrivals& d = devices_[a.device];
  a.network = world_.Network(a.device, d.network_class, a.t_s);
  Rng rtt_rng(seed_, Stream::kRtt, a.request_id * 8 + 7);
  a.rtt_ms = a.network == NetworkType::kOffline
                 ? 0
                 : fleet_.network.rtt_ms[static_cast<std::size_t>(a.network)].Sample(rtt_rng);
  if (d.peer_phone != kNoDevice) {
    const auto phone = static_cast<std::uint32_t>(d.peer_phone);
    a.phone_online =
        world_.Network(phone, devices_[phone].network_class, a.t_s) != NetworkType::kOffline;
  } else {
    a.phone_online = false;
  }
}

}  // namespace partita::sim
