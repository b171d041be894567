#include "sim/world.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/random.h"

namespace partita::sim {

namespace {
constexpr double kWakePct = 5.0;  // an emptied device comes back online above this charge
constexpr double kDaySeconds = 86400.0;
}  // namespace

World::World(const FleetSpec& fleet, const Catalog& catalog, std::uint64_t seed)
    : fleet_(fleet), catalog_(catalog), seed_(seed) {
  devices_.reserve(static_cast<std::size_t>(fleet.TotalDevices()));
  households_.reserve(static_cast<std::size_t>(fleet.TotalHouseholds()));
  for (std::size_t ti = 0; ti < fleet.households.size(); ++ti) {
    const HouseholdTemplate& tmpl = fleet.households[ti];
    for (std::int64_t k = 0; k < tmpl.count; ++k) {
      Household hh;
      hh.first_device = static_cast<std::uint32_t>(devices_.size());
      hh.device_count = static_cast<std::uint16_t>(tmpl.devices.size());
      hh.template_index = static_cast<std::uint16_t>(ti);
      hh.ordinal = static_cast<std::uint32_t>(k);
      for (DeviceClassIndex profile : tmpl.devices) {
        const DeviceClass& dc = catalog.device(profile);
        SimDevice d;
        d.profile = profile;
        d.household = static_cast<std::uint32_t>(households_.size());
        for (std::size_t w = 0; w < fleet.workload.classes.size(); ++w) {
          if (fleet.workload.classes[w].device_class == dc.device_class) {
            d.workload = static_cast<std::uint16_t>(w);
          }
        }
        for (std::size_t n = 0; n < fleet.network.classes.size(); ++n) {
          if (fleet.network.classes[n].device_class == dc.device_class) {
            d.network_class = static_cast<std::int8_t>(n);
          }
        }
        for (const ModelRuntime& rt : dc.runtimes) {
          d.installed.Insert(rt.model);
          if (rt.resident) d.resident.Insert(rt.model);
        }
        d.on_mains = dc.OnMains();
        d.capacity_wh = dc.battery_wh;
        d.idle_w = dc.idle_power_w;
        d.active_w = dc.active_power_w;
        d.radio_w = dc.radio_power_w;
        const std::uint32_t index = static_cast<std::uint32_t>(devices_.size());
        Rng rng(seed, Stream::kCharging, index);
        if (!d.on_mains) {
          double start_pct = 80;
          for (std::size_t c = 0; c < fleet.charging.size(); ++c) {
            if (fleet.charging[c].device_class != dc.device_class) continue;
            d.charging_class = static_cast<std::int16_t>(c);
            start_pct = fleet.charging[c].start_pct.Sample(rng);
            double u = rng.Uniform();
            for (std::size_t w = 0; w < fleet.charging[c].windows.size(); ++w) {
              u -= fleet.charging[c].windows[w].probability;
              if (u < 0) {
                d.charge_window = static_cast<std::int8_t>(w);
                break;
              }
            }
          }
          d.battery_wh = d.capacity_wh * std::clamp(start_pct, 0.0, 100.0) / 100.0;
          d.initial_wh = d.battery_wh;
          d.empty = d.battery_wh <= 0;
        }
        devices_.push_back(d);
      }
      // The phone tier of each device is another offload-capable device of the household.
      for (std::uint32_t a = hh.first_device; a < hh.first_device + hh.device_count; ++a) {
        for (std::uint32_t b = hh.first_device; b < hh.first_device + hh.device_count; ++b) {
          if (a != b && catalog.device(devices_[b].profile).accepts_offload) {
            devices_[a].peer_phone = static_cast<std::int32_t>(b);
            break;
          }
        }
      }
      households_.push_back(hh);
    }
  }
}

std::string World::DeviceId(std::uint32_t device) const {
  const SimDevice& d = devices_[device];
  const Household& hh = households_[d.household];
  const HouseholdTemplate& tmpl = fleet_.households[hh.template_index];
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s-%06u-%s", tmpl.name.c_str(), hh.ordinal,
                catalog_.device(d.profile).name.c_str());
  std::string id = buf;
  // Two devices of one profile in a household get an ordinal.
  int same = 0, position = 0;
  for (std::uint32_t i = hh.first_device; i < hh.first_device + hh.device_count; ++i) {
    if (devices_[i].profile == d.profile) {
      if (i == device) position = same;
      ++same;
    }
  }
  if (same > 1) id += "-" + std::to_string(position + 1);
  return id;
}

double World::ChargingSeconds(const SimDevice& d, double from, double to) const {
  if (d.charging_class < 0 || d.charge_window < 0 || to <= from) return 0;
  const ChargeWindow& w = fleet_.charging[static_cast<std::size_t>(d.charging_class)]
                              .windows[static_cast<std::size_t>(d.charge_window)];
  const double offset = fleet_.start_hour * 3600.0;
  const double lo = from + offset;
  const double hi = to + offset;
  double total = 0;
  auto overlap = [&](double a, double b) {
    const double s = std::max(a, lo);
    const double e = std::min(b, hi);
    if (e > s) total += e - s;
  };
  const auto first_day = static_cast<std::int64_t>(std::floor(lo / kDaySeconds)) - 1;
  const auto last_day = static_cast<std::int64_t>(std::floor(hi / kDaySeconds));
  for (std::int64_t day = first_day; day <= last_day; ++day) {
    const double base = static_cast<double>(day) * kDaySeconds;
    if (w.start_hour < w.end_hour) {
      overlap(base + w.start_hour * 3600, base + w.end_hour * 3600);
    } else if (w.start_hour > w.end_hour) {
      overlap(base + w.start_hour * 3600, base + kDaySeconds + w.end_hour * 3600);
    }
  }
  return total;
}

bool World::Charging(const SimDevice& d, double t) const {
  if (d.on_mains) return true;
  if (d.battery_wh >= d.capacity_wh) return false;
  return ChargingSeconds(d, t, t + 1e-3) > 0;
}

void World::Advance(SimDevice& d, double t) const {
  if (t <= d.last_update_s) return;
  const double dt = t - d.last_update_s;
  if (d.heat_s > 0) d.heat_s *= std::exp(-dt / fleet_.thermal.tau_s);
  if (d.on_mains) {
    d.last_update_s = t;
    return;
  }
  const double charger_w =
      d.charging_class >= 0 ? fleet_.charging[static_cast<std::size_t>(d.charging_class)].charger_w
                            : 0;
  double in = charger_w * ChargingSeconds(d, d.last_update_s, t) / 3600.0;
  double out = d.empty ? 0 : d.idle_w * dt / 3600.0;
  double next = d.battery_wh + in - out;
  if (next > d.capacity_wh) {
    in -= next - d.capacity_wh;  // charging stops when full
    next = d.capacity_wh;
  }
  if (next <= 0) {
    out = d.battery_wh + in;  // the device shuts down when empty
    next = 0;
    if (!d.empty) {
      d.empty = true;
      ++d.empty_events;
    }
  }
  d.charged_wh += in;
  d.idle_wh += out;
  d.battery_wh = next;
  if (d.empty && d.battery_wh >= d.capacity_wh * kWakePct / 100.0) d.empty = false;
  d.last_update_s = t;
}

double World::BatteryPct(const SimDevice& d) const {
  if (d.on_mains || d.capacity_wh <= 0) return 100.0;
  return 100.0 * d.battery_wh / d.capacity_wh;
}

Thermal World::ThermalState(const SimDevice& d) const {
  const ThermalSpec& t = fleet_.thermal;
  if (d.heat_s >= t.critical_s) return Thermal::kCritical;
  if (d.heat_s >= t.serious_s) return Thermal::kSerious;
  if (d.heat_s >= t.fair_s) return Thermal::kFair;
  return Thermal::kNominal;
}

void World::Spend(SimDevice& d, double joules) const {
  if (joules <= 0) return;
  const double wh = joules / 3600.0;
  d.work_requested_wh += wh;
  if (d.on_mains) {
    d.work_wh += wh;
    return;
  }
  const double drawn = std::min(wh, d.battery_wh);
  d.work_wh += drawn;
  d.battery_wh -= drawn;
  if (d.battery_wh <= 0 && !d.empty) {
    d.battery_wh = 0;
    d.empty = true;
    ++d.empty_events;
  }
}

NetworkType World::Network(std::uint32_t device, double t) const {
  return Network(device, devices_[device].network_class, t);
}

NetworkType World::Network(std::uint32_t device, std::int8_t network_class, double t) const {
  const double hours = t / 3600.0;
  for (std::size_t i = 0; i < fleet_.network.outages.size(); ++i) {
    const Outage& o = fleet_.network.outages[i];
    if (!o.Covers(hours)) continue;
    Rng rng(seed_, Stream::kNetwork, (std::uint64_t{1} << 63) | (std::uint64_t{i} << 40) | device);
    if (rng.Uniform() < o.share) return NetworkType::kOffline;
  }
  if (network_class < 0) return NetworkType::kWifi;
  const auto period = static_cast<std::uint64_t>(t / (fleet_.network.redraw_minutes * 60.0));
  Rng rng(seed_, Stream::kNetwork, (std::uint64_t{device} << 24) ^ period);
  double u = rng.Uniform();
  const ClassNetwork& cn = fleet_.network.classes[static_cast<std::size_t>(network_class)];
  for (std::size_t k = 0; k < cn.shares.size(); ++k) {
    u -= cn.shares[k];
    if (u < 0) return static_cast<NetworkType>(k);
  }
  return NetworkType::kWifi;
}

int World::HourAt(double t) const {
  return static_cast<int>((fleet_.start_hour + static_cast<std::int64_t>(t / 3600.0)) % 24);
}

}  // namespace partita::sim
