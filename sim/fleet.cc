#include "sim/fleet.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "common/did_you_mean.h"
#include "common/hash.h"
#include "common/yaml_reader.h"
#include "scorer/labeled_data.h"
#include "scorer/model.h"

namespace partita::sim {

namespace {

// Typical assistant usage by local hour: quiet at night, peaks at breakfast and in the
// evening. Estimate from published smart-speaker usage-by-hour surveys; see docs/fleet.md.
constexpr std::array<double, 24> kDefaultDiurnal = {1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.0,
                                                    4.0, 3.5, 3.0, 3.0, 3.5, 3.0, 2.8, 2.8,
                                                    3.0, 3.5, 4.5, 5.0, 4.5, 3.5, 2.5, 1.5};
constexpr double kShareTolerance = 1e-6;

class FleetBuilder {
 public:
  FleetBuilder(Diagnostics& d, const Catalog& catalog) : d_(d), catalog_(catalog) {}

  FleetPtr Build(std::string_view text) {
    std::optional<yaml::Node> root = yaml::Parse(text, d_);
    if (!root) return nullptr;
    auto fleet = std::make_shared<FleetSpec>();
    fleet->file = d_.file();
    fleet->content_hash = Sha256Hex(text);
    ReadRoot(*root, *fleet);
    if (!d_.has_errors()) Validate(*fleet, root->location);
    if (d_.has_errors()) return nullptr;
    return fleet;
  }

 private:
  void ReadRoot(const yaml::Node& root, FleetSpec& f) {
    yaml::MapReader top(root, d_, "the fleet file", {"apiVersion", "kind", "metadata", "spec"});
    if (!top.ok()) return;
    top.RequireHeader("Fleet");
    if (const yaml::Node* meta = top.Require("metadata")) {
      yaml::MapReader m(*meta, d_, "metadata", {"name", "description"});
      f.name = m.RequireString("name").value_or("");
      f.description = m.String("description", "");
    }
    const yaml::Node* spec = top.Require("spec");
    if (spec == nullptr) return;
    yaml::MapReader s(*spec, d_, "spec",
                      {"start_hour", "battery_sample_minutes", "households", "workload", "network",
                       "charging", "cloud", "agent", "phone", "thermal"});
    if (!s.ok()) return;
    f.start_hour = static_cast<int>(s.DoubleIn("start_hour", 0, 0, 23));
    f.battery_sample_minutes = s.DoubleIn("battery_sample_minutes", 60, 1, 24 * 60);
    if (const yaml::Node* h = s.Require("households")) ReadHouseholds(*h, f);
    if (const yaml::Node* w = s.Require("workload")) ReadWorkload(*w, f.workload);
    if (const yaml::Node* n = s.Get("network")) ReadNetwork(*n, f.network);
    if (const yaml::Node* c = s.Get("charging")) ReadCharging(*c, f.charging);
    if (const yaml::Node* c = s.Get("cloud")) ReadCloud(*c, f.cloud);
    if (const yaml::Node* a = s.Get("agent")) ReadAgent(*a, f.agent);
    if (const yaml::Node* p = s.Get("phone")) ReadPhone(*p, f.phone);
    if (const yaml::Node* t = s.Get("thermal")) ReadThermal(*t, f.thermal);
  }

  bool ExpectList(const yaml::Node& n, const std::string& what) {
    if (n.IsSequence()) return true;
    d_.Error(n.location, "expected a list for " + what + ", got " + std::string(n.KindName()));
    return false;
  }

  std::optional<std::string> ReadClass(const yaml::MapReader& r, const std::string& what) {
    const yaml::Node* n = r.Require("class");
    if (n == nullptr) return std::nullopt;
    std::optional<std::string> cls = yaml::ReadString(*n, d_, "class");
    if (!cls) return std::nullopt;
    std::vector<std::string_view> known;
    for (const DeviceClass& dc : catalog_.devices()) {
      bool seen = false;
      for (std::string_view k : known) seen |= (k == dc.device_class);
      if (!seen) known.push_back(dc.device_class);
    }
    for (std::string_view k : known) {
      if (k == *cls) return cls;
    }
    d_.Error(n->location, "unknown device class '" + *cls + "' in " + what + "; the catalog has " +
                              JoinAlternatives(known) + DidYouMean(*cls, known));
    return std::nullopt;
  }

  void ReadHouseholds(const yaml::Node& list, FleetSpec& f) {
    if (!ExpectList(list, "households")) return;
    const std::vector<std::string_view> profiles = catalog_.DeviceNames();
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(item, d_, "a household", {"name", "count", "devices"});
      if (!r.ok()) continue;
      HouseholdTemplate h;
      h.location = item.location;
      h.name = r.RequireString("name").value_or("");
      for (const HouseholdTemplate& other : f.households) {
        if (other.name == h.name) d_.Error(item.location, "household '" + h.name + "' twice");
      }
      if (const yaml::Node* c = r.Require("count")) {
        if (auto n = yaml::ReadInt(*c, d_, "count")) {
          if (*n < 0 || *n > 100'000'000) {
            d_.Error(c->location, "household count must be between 0 and 100000000");
          } else {
            h.count = *n;
          }
        }
      }
      if (const yaml::Node* devs = r.Require("devices")) {
        if (auto names = yaml::ReadStringList(*devs, d_, "devices")) {
          if (names->empty()) d_.Error(devs->location, "household '" + h.name + "' has no devices");
          for (std::size_t i = 0; i < names->size(); ++i) {
            std::optional<DeviceClassIndex> idx = catalog_.FindDevice((*names)[i]);
            if (!idx) {
              d_.Error(devs->items[i].location, "unknown device profile '" + (*names)[i] + "'" +
                                                    DidYouMean((*names)[i], profiles));
            } else {
              h.devices.push_back(*idx);
            }
          }
        }
      }
      f.households.push_back(std::move(h));
    }
  }

  std::optional<Distribution> ReadDist(const yaml::MapReader& r, std::string_view key, double lo,
                                       double hi) {
    const yaml::Node* n = r.Get(key);
    if (n == nullptr) return std::nullopt;
    return Distribution::Parse(*n, d_, std::string(key), lo, hi);
  }

  void ReadWorkload(const yaml::Node& node, Workload& w) {
    yaml::MapReader r(node, d_, "workload", {"classes", "kinds", "private_share", "public_share"});
    if (!r.ok()) return;
    w.private_share = r.DoubleIn("private_share", 0.1, 0, 1);
    w.public_share = r.DoubleIn("public_share", 0, 0, 1);
    if (w.private_share + w.public_share > 1 + kShareTolerance) {
      d_.Error(node.location, "private_share + public_share is more than 1");
    }
    if (const yaml::Node* classes = r.Require("classes");
        classes && ExpectList(*classes, "workload classes")) {
      for (const yaml::Node& item : classes->items) {
        yaml::MapReader c(item, d_, "a workload class", {"class", "requests_per_day", "diurnal"});
        if (!c.ok()) continue;
        ClassWorkload cw;
        cw.device_class = ReadClass(c, "workload classes").value_or("");
        cw.requests_per_day = c.RequireDoubleIn("requests_per_day", 0, 1e6).value_or(0);
        cw.diurnal = kDefaultDiurnal;
        if (const yaml::Node* dn = c.Get("diurnal")) {
          if (!dn->IsSequence() || dn->items.size() != 24) {
            d_.Error(dn->location, "diurnal must be a list of 24 weights, one per local hour");
          } else {
            for (std::size_t h = 0; h < 24; ++h) {
              cw.diurnal[h] = yaml::ReadDoubleIn(dn->items[h], d_, "diurnal", 0, 1e9).value_or(0);
            }
          }
        }
        const double sum = std::accumulate(cw.diurnal.begin(), cw.diurnal.end(), 0.0);
        if (sum <= 0) {
          d_.Error(item.location, "diurnal weights of class '" + cw.device_class + "' are all 0");
        } else {
          for (double& x : cw.diurnal) x /= sum;
        }
        for (const ClassWorkload& other : w.classes) {
          if (other.device_class == cw.device_class && !cw.device_class.empty()) {
            d_.Error(item.location, "workload for class '" + cw.device_class + "' given twice");
          }
        }
        w.classes.push_back(std::move(cw));
      }
    }
    if (const yaml::Node* kinds = r.Require("kinds");
        kinds && ExpectList(*kinds, "workload kinds")) {
      double total = 0;
      for (const yaml::Node& item : kinds->items) {
        yaml::MapReader k(item, d_, "a request kind",
                          {"kind", "share", "difficulty", "tokens_in", "tokens_out",
                           "latency_budget_ms", "prompts"});
        if (!k.ok()) continue;
        KindWorkload kw;
        if (const yaml::Node* kn = k.Require("kind")) {
          const std::vector<std::string_view> names(kRequestKindNames.begin(),
                                                    kRequestKindNames.end());
          if (auto s = yaml::ReadEnum(*kn, d_, "kind", names)) kw.kind = *ParseRequestKind(*s);
        }
        kw.share = k.RequireDoubleIn("share", 0, 1).value_or(0);
        total += kw.share;
        if (auto dist = ReadDist(k, "difficulty", 0, 1)) kw.difficulty = *dist;
        if (auto dist = ReadDist(k, "tokens_in", 1, 1e6)) kw.tokens_in = *dist;
        if (auto dist = ReadDist(k, "tokens_out", 1, 1e6)) kw.tokens_out = *dist;
        if (const yaml::Node* p = k.Get("prompts")) kw.prompts = ReadPrompts(*p);
        kw.latency_budget_ms =
            static_cast<std::uint32_t>(k.DoubleIn("latency_budget_ms", 0, 0, 3.6e6));
        w.kinds.push_back(std::move(kw));
      }
      if (!w.kinds.empty() && std::abs(total - 1.0) > kShareTolerance) {
        d_.Error(kinds->location, "request kind shares sum to " + Num(total) + ", not 1");
      }
    }
  }

  std::shared_ptr<const LabeledPrompts> ReadPrompts(const yaml::Node& node) {
    yaml::MapReader r(node, d_, "prompts", {"file", "weak_model", "strong_model"});
    if (!r.ok()) return nullptr;
    auto p = std::make_shared<LabeledPrompts>();
    const std::string dir = std::filesystem::path(d_.file()).parent_path().string();
    p->file = yaml::ResolvePath(dir, r.RequireString("file").value_or(""));
    for (const char* key : {"weak_model", "strong_model"}) {
      if (const yaml::Node* m = r.Get(key)) {
        if (auto name = yaml::ReadString(*m, d_, key)) {
          std::optional<ModelIndex> idx = catalog_.FindModel(*name);
          if (!idx) {
            d_.Error(m->location,
                     "unknown model '" + *name + "' for " + key + "; see `partita profiles list`");
          }
          (std::string_view(key) == "weak_model" ? p->weak_model : p->strong_model) = idx;
        }
      }
    }
    return p;
  }

  static std::string Num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
  }

  std::vector<Outage> ReadOutages(const yaml::Node& list, bool cloud) {
    std::vector<Outage> out;
    if (!ExpectList(list, "outages")) return out;
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(
          item, d_, "an outage",
          cloud
              ? std::initializer_list<std::string_view>{"start_hour", "duration_minutes", "mode"}
              : std::initializer_list<std::string_view>{"start_hour", "duration_minutes", "share"});
      if (!r.ok()) continue;
      Outage o;
      o.start_hour = r.RequireDoubleIn("start_hour", 0, 24 * 366).value_or(0);
      o.duration_minutes = r.RequireDoubleIn("duration_minutes", 0, 60 * 24 * 366).value_or(0);
      if (cloud) {
        o.hang = r.String("mode", "refuse") == "hang";
        if (const yaml::Node* m = r.Get("mode")) {
          constexpr std::array<std::string_view, 2> modes = {"refuse", "hang"};
          (void)yaml::ReadEnum(*m, d_, "mode", modes);
        }
      } else {
        o.share = r.DoubleIn("share", 1, 0, 1);
      }
      out.push_back(o);
    }
    return out;
  }

  void ReadNetwork(const yaml::Node& node, NetworkSpec& n) {
    yaml::MapReader r(node, d_, "network",
                      {"classes", "rtt_ms", "phone_rtt_ms", "redraw_minutes", "outages"});
    if (!r.ok()) return;
    n.redraw_minutes = r.DoubleIn("redraw_minutes", 60, 1, 24 * 60);
    if (const yaml::Node* classes = r.Get("classes");
        classes && ExpectList(*classes, "network classes")) {
      for (const yaml::Node& item : classes->items) {
        yaml::MapReader c(item, d_, "a network class",
                          {"class", "wifi", "cellular", "ethernet", "offline"});
        if (!c.ok()) continue;
        ClassNetwork cn;
        cn.device_class = ReadClass(c, "network classes").value_or("");
        cn.shares[static_cast<std::size_t>(NetworkType::kOffline)] = c.DoubleIn("offline", 0, 0, 1);
        cn.shares[static_cast<std::size_t>(NetworkType::kWifi)] = c.DoubleIn("wifi", 0, 0, 1);
        cn.shares[static_cast<std::size_t>(NetworkType::kCellular)] =
            c.DoubleIn("cellular", 0, 0, 1);
        cn.shares[static_cast<std::size_t>(NetworkType::kEthernet)] =
            c.DoubleIn("ethernet", 0, 0, 1);
        const double total = std::accumulate(cn.shares.begin(), cn.shares.end(), 0.0);
        if (std::abs(total - 1.0) > kShareTolerance) {
          d_.Error(item.location, "network shares of class '" + cn.device_class + "' sum to " +
                                      Num(total) + ", not 1");
        }
        n.classes.push_back(cn);
      }
    }
    if (const yaml::Node* rtt = r.Get("rtt_ms")) {
      yaml::MapReader rr(*rtt, d_, "rtt_ms", {"wifi", "cellular", "ethernet"});
      if (auto dist = ReadDist(rr, "wifi", 0, 1e5)) n.rtt_ms[1] = *dist;
      if (auto dist = ReadDist(rr, "cellular", 0, 1e5)) n.rtt_ms[2] = *dist;
      if (auto dist = ReadDist(rr, "ethernet", 0, 1e5)) n.rtt_ms[3] = *dist;
    }
    if (auto dist = ReadDist(r, "phone_rtt_ms", 0, 1e5)) n.phone_rtt_ms = *dist;
    if (const yaml::Node* o = r.Get("outages")) n.outages = ReadOutages(*o, false);
  }

  void ReadCharging(const yaml::Node& list, std::vector<ClassCharging>& out) {
    if (!ExpectList(list, "charging")) return;
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(item, d_, "a charging class",
                        {"class", "start_pct", "charger_w", "windows"});
      if (!r.ok()) continue;
      ClassCharging c;
      c.device_class = ReadClass(r, "charging").value_or("");
      if (auto dist = ReadDist(r, "start_pct", 0, 100)) c.start_pct = *dist;
      c.charger_w = r.DoubleIn("charger_w", 15, 0, 1e4);
      if (const yaml::Node* w = r.Get("windows"); w && ExpectList(*w, "charging windows")) {
        double total = 0;
        for (const yaml::Node& wi : w->items) {
          yaml::MapReader wr(wi, d_, "a charging window",
                             {"start_hour", "end_hour", "probability"});
          if (!wr.ok()) continue;
          ChargeWindow cw;
          cw.start_hour = wr.RequireDoubleIn("start_hour", 0, 24).value_or(0);
          cw.end_hour = wr.RequireDoubleIn("end_hour", 0, 24).value_or(0);
          cw.probability = wr.DoubleIn("probability", 1, 0, 1);
          total += cw.probability;
          c.windows.push_back(cw);
        }
        if (total > 1 + kShareTolerance) {
          d_.Error(w->location, "charging window probabilities sum to " + Num(total) +
                                    "; a device uses at most one window, so at most 1");
        }
      }
      out.push_back(std::move(c));
    }
  }

  void ReadCloud(const yaml::Node& node, CloudSpec& c) {
    yaml::MapReader r(node, d_, "cloud",
                      {"capacity", "budget_usd_per_day", "error_rate", "stall_rate",
                       "health_lag_seconds", "outages"});
    if (!r.ok()) return;
    c.capacity = static_cast<std::int64_t>(r.DoubleIn("capacity", 2000, 1, 1e9));
    c.budget_usd_per_day = r.DoubleIn("budget_usd_per_day", 1e12, 0, 1e15);
    c.error_rate = r.DoubleIn("error_rate", 0.002, 0, 1);
    c.stall_rate = r.DoubleIn("stall_rate", 0.001, 0, 1);
    c.health_lag_seconds = r.DoubleIn("health_lag_seconds", 60, 0, 86400);
    if (const yaml::Node* o = r.Get("outages")) c.outages = ReadOutages(*o, true);
  }

  void ReadAgent(const yaml::Node& node, AgentSpec& a) {
    yaml::MapReader r(node, d_, "agent",
                      {"ttft_timeout_ms", "stall_timeout_ms", "warm_minutes", "device_error_rate",
                       "phone_drop_rate"});
    if (!r.ok()) return;
    a.ttft_timeout_ms = r.DoubleIn("ttft_timeout_ms", a.ttft_timeout_ms, 1, 3.6e6);
    a.stall_timeout_ms = r.DoubleIn("stall_timeout_ms", a.stall_timeout_ms, 1, 3.6e6);
    a.warm_minutes = r.DoubleIn("warm_minutes", a.warm_minutes, 0, 24 * 60);
    a.device_error_rate = r.DoubleIn("device_error_rate", a.device_error_rate, 0, 1);
    a.phone_drop_rate = r.DoubleIn("phone_drop_rate", a.phone_drop_rate, 0, 1);
  }

  void ReadPhone(const yaml::Node& node, PhoneAdmission& p) {
    yaml::MapReader r(node, d_, "phone", {"min_battery_pct", "max_thermal", "max_in_flight"});
    if (!r.ok()) return;
    p.min_battery_pct = r.DoubleIn("min_battery_pct", p.min_battery_pct, 0, 100);
    p.max_in_flight = static_cast<std::int64_t>(r.DoubleIn("max_in_flight", 2, 1, 1000));
    if (const yaml::Node* t = r.Get("max_thermal")) {
      const std::vector<std::string_view> names(kThermalNames.begin(), kThermalNames.end());
      if (auto s = yaml::ReadEnum(*t, d_, "max_thermal", names)) p.max_thermal = *ParseThermal(*s);
    }
  }

  void ReadThermal(const yaml::Node& node, ThermalSpec& t) {
    yaml::MapReader r(node, d_, "thermal", {"tau_s", "fair_s", "serious_s", "critical_s"});
    if (!r.ok()) return;
    t.tau_s = r.DoubleIn("tau_s", t.tau_s, 1, 1e6);
    t.fair_s = r.DoubleIn("fair_s", t.fair_s, 0, 1e6);
    t.serious_s = r.DoubleIn("serious_s", t.serious_s, 0, 1e6);
    t.critical_s = r.DoubleIn("critical_s", t.critical_s, 0, 1e6);
    if (!(t.fair_s <= t.serious_s && t.serious_s <= t.critical_s)) {
      d_.Error(node.location, "thermal thresholds must satisfy fair_s <= serious_s <= critical_s");
    }
  }

  void Validate(const FleetSpec& f, SourceLocation root) {
    if (f.TotalDevices() == 0) d_.Error(root, "the fleet has no devices");
    if (f.workload.kinds.empty()) d_.Error(root, "workload has no request kinds");
    for (const HouseholdTemplate& h : f.households) {
      for (DeviceClassIndex idx : h.devices) {
        const std::string& cls = catalog_.device(idx).device_class;
        if (f.WorkloadFor(cls) == nullptr) {
          d_.Error(h.location, "household '" + h.name + "' has a " + cls +
                                   " but workload.classes has no entry for class '" + cls + "'");
        }
      }
    }
  }

  Diagnostics& d_;
  const Catalog& catalog_;
};

}  // namespace

std::int64_t FleetSpec::TotalDevices() const {
  std::int64_t n = 0;
  for (const HouseholdTemplate& h : households) {
    n += h.count * static_cast<std::int64_t>(h.devices.size());
  }
  return n;
}

std::int64_t FleetSpec::TotalHouseholds() const {
  std::int64_t n = 0;
  for (const HouseholdTemplate& h : households) n += h.count;
  return n;
}

const ClassWorkload* FleetSpec::WorkloadFor(const std::string& device_class) const {
  for (const ClassWorkload& c : workload.classes) {
    if (c.device_class == device_class) return &c;
  }
  return nullptr;
}

const ClassNetwork* FleetSpec::NetworkFor(const std::string& device_class) const {
  for (const ClassNetwork& c : network.classes) {
    if (c.device_class == device_class) return &c;
  }
  return nullptr;
}

const ClassCharging* FleetSpec::ChargingFor(const std::string& device_class) const {
  for (const ClassCharging& c : charging) {
    if (c.device_class == device_class) return &c;
  }
  return nullptr;
}

FleetPtr ParseFleet(std::string_view yaml_text, Diagnostics& diagnostics, const Catalog& catalog) {
  return FleetBuilder(diagnostics, catalog).Build(yaml_text);
}

Result<FleetPtr> LoadFleetFile(const std::string& path, const Catalog& catalog) {
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diagnostics(path);
  FleetPtr fleet = ParseFleet(*text, diagnostics, catalog);
  if (!fleet) return diagnostics.ToStatus();
  bool labeled = false;
  for (const KindWorkload& k : fleet->workload.kinds) labeled = labeled || k.prompts;
  if (!labeled) return fleet;
  // Read and score each kind's labeled prompts once; the prompts themselves are not kept.
  const Result<scorer::DifficultyModel>& model = scorer::DifficultyModel::Shipped();
  if (!model.ok()) return model.status();
  auto loaded = std::make_shared<FleetSpec>(*fleet);
  scorer::FeatureExtractor extractor;
  scorer::Features features;
  for (KindWorkload& k : loaded->workload.kinds) {
    if (!k.prompts) continue;
    Result<std::vector<scorer::LabeledPrompt>> rows = scorer::LoadLabeledCsv(k.prompts->file);
    if (!rows.ok()) return rows.status().WithContext(path + ": workload prompts");
    auto p = std::make_shared<LabeledPrompts>(*k.prompts);
    for (const scorer::LabeledPrompt& row : *rows) {
      p->difficulty.push_back(static_cast<float>(model->Score(row.prompt, extractor, features)));
      p->weak_correct.push_back(row.weak_correct ? 1 : 0);
      p->strong_correct.push_back(row.strong_correct ? 1 : 0);
      p->tokens_in.push_back(EstimateTokens(row.prompt));
    }
    k.prompts = std::move(p);
  }
  return FleetPtr(std::move(loaded));
}

FleetSpec ScaleFleet(const FleetSpec& fleet, std::int64_t devices) {
  FleetSpec out = fleet;
  const std::int64_t total = fleet.TotalDevices();
  if (total <= 0 || devices <= 0) return out;
  const double factor = static_cast<double>(devices) / static_cast<double>(total);
  for (HouseholdTemplate& h : out.households) {
    if (h.count == 0) continue;
    h.count = std::max<std::int64_t>(1, std::llround(static_cast<double>(h.count) * factor));
  }
  return out;
}

}  // namespace partita::sim
