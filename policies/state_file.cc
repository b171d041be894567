#include "policies/state_file.h"

#include <limits>

#include "common/did_you_mean.h"
#include "common/yaml_reader.h"

namespace partita::policy {

namespace {

using yaml::MapReader;
using yaml::Node;

constexpr double kMaxTokens = 10'000'000;

class StateReader {
 public:
  StateReader(const Catalog& catalog, Diagnostics& d) : c_(catalog), d_(d) {}

  std::optional<DecisionState> Read(const Node& root) {
    // Only this state's errors count: one Diagnostics may hold a whole file of test cases.
    const std::size_t errors = d_.error_count();
    MapReader top(root, d_, "the state", {"device", "network", "request", "fleet", "peer", "time"},
                  /*null_is_empty=*/true);
    if (!top.ok()) return std::nullopt;
    if (c_.devices().empty()) {
      d_.Error(root.location, "the catalog defines no device classes");
      return std::nullopt;
    }
    DecisionState s;
    static const Node kEmpty;
    Device(Or(top.Get("device"), kEmpty), s);
    Network(Or(top.Get("network"), kEmpty), s.input.network);
    Request(Or(top.Get("request"), kEmpty), s.input.request);
    Fleet(Or(top.Get("fleet"), kEmpty), s.input.fleet);
    Peer(Or(top.Get("peer"), kEmpty), s.input.peer);
    MapReader t(Or(top.Get("time"), kEmpty), d_, "time", {"hour"}, true);
    if (t.ok()) s.input.time.hour = static_cast<int>(Integer(t, "hour", 12, 0, 23));
    if (d_.error_count() > errors) return std::nullopt;
    return s;
  }

 private:
  static const Node& Or(const Node* n, const Node& fallback) { return n ? *n : fallback; }

  double Integer(const MapReader& r, std::string_view key, double fallback, double lo, double hi) {
    const Node* v = r.Get(key);
    if (v == nullptr) return fallback;
    auto i = yaml::ReadInt(*v, d_, key);
    if (!i) return fallback;
    if (*i < lo || *i > hi) {
      d_.Error(v->location, "'" + std::string(key) + "' is " + std::to_string(*i) +
                                "; it must be between " + std::to_string(std::int64_t(lo)) +
                                " and " + std::to_string(std::int64_t(hi)));
      return fallback;
    }
    return static_cast<double>(*i);
  }

  template <typename E, std::size_t N>
  E Enum(const MapReader& r, std::string_view key, E fallback,
         const std::array<std::string_view, N>& names) {
    const Node* v = r.Get(key);
    if (v == nullptr) return fallback;
    auto s = yaml::ReadEnum(*v, d_, key, names);
    if (!s) return fallback;
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == *s) return static_cast<E>(i);
    }
    return fallback;
  }

  std::optional<DeviceClassIndex> Profile(const Node& v, std::string_view key) {
    auto s = yaml::ReadString(v, d_, key);
    if (!s) return std::nullopt;
    if (auto i = c_.FindDevice(*s)) return *i;
    const std::vector<std::string_view> names = c_.DeviceNames();
    d_.Error(v.location, "unknown device profile '" + *s + "' for '" + std::string(key) +
                             "'; expected " + JoinAlternatives(names) + DidYouMean(*s, names));
    return std::nullopt;
  }

  ModelSet Models(const MapReader& r, std::string_view key, ModelSet fallback) {
    const Node* v = r.Get(key);
    if (v == nullptr) return fallback;  // `models: []` is present: an empty set
    auto names = yaml::ReadStringList(*v, d_, key);
    if (!names) return fallback;
    ModelSet set;
    const std::vector<std::string_view> known = c_.ModelNames();
    for (std::size_t i = 0; i < names->size(); ++i) {
      const std::string& name = (*names)[i];
      if (auto m = c_.FindModel(name)) {
        set.Insert(*m);
      } else {
        d_.Error(v->items[i].location,
                 "unknown model '" + name + "' in '" + std::string(key) + "'" +
                     DidYouMean(name, known) +
                     (DidYouMean(name, known).empty() ? "; models: " + JoinAlternatives(known)
                                                      : std::string()));
      }
    }
    return set;
  }

  ModelSet Runs(DeviceClassIndex d) const {
    ModelSet set;
    for (const ModelRuntime& rt : c_.device(d).runtimes) set.Insert(rt.model);
    return set;
  }

  void Device(const Node& node, DecisionState& s) {
    MapReader r(node, d_, "device",
                {"id", "class", "profile", "battery_pct", "charging", "thermal", "free_mem_mb",
                 "models", "models_warm"},
                true);
    if (!r.ok()) return;
    DeviceFacts& dev = s.input.device;
    s.device_id = r.String("id", s.device_id);
    dev.profile = c_.FindDevice("smart-speaker").value_or(0);
    const Node* profile = r.Get("profile");
    const Node* cls = r.Get("class");
    if (profile != nullptr) {
      if (auto p = Profile(*profile, "profile")) dev.profile = *p;
    }
    if (cls != nullptr) {
      if (auto name = yaml::ReadString(*cls, d_, "class")) {
        std::optional<DeviceClassIndex> first;
        std::vector<std::string_view> classes;
        for (std::size_t i = 0; i < c_.devices().size(); ++i) {
          classes.push_back(c_.devices()[i].device_class);
          if (!first && c_.devices()[i].device_class == *name) {
            first = static_cast<DeviceClassIndex>(i);
          }
        }
        if (!first) {
          d_.Error(cls->location, "unknown device class '" + *name + "'; the catalog's classes: " +
                                      JoinAlternatives(classes) + DidYouMean(*name, classes));
        } else if (profile == nullptr) {
          dev.profile = *first;
        } else if (c_.device(dev.profile).device_class != *name) {
          d_.Error(cls->location, "class '" + *name + "' does not match profile '" +
                                      c_.device(dev.profile).name + "', whose class is '" +
                                      c_.device(dev.profile).device_class + "'; give one of them");
        }
      }
    }
    dev.battery_pct = r.DoubleIn("battery_pct", dev.battery_pct, 0, 100);
    dev.charging = r.Bool("charging", dev.charging);
    dev.thermal = Enum(r, "thermal", dev.thermal, kThermalNames);
    dev.free_mem_mb = r.DoubleIn("free_mem_mb", 0, 0, 1e9);
    dev.models = Models(r, "models", Runs(dev.profile));
    dev.models_warm = Models(r, "models_warm", ModelSet{});
  }

  void Network(const Node& node, NetworkFacts& net) {
    MapReader r(node, d_, "network", {"type", "rtt_ms", "metered"}, true);
    if (!r.ok()) return;
    net.type = Enum(r, "type", net.type, kNetworkTypeNames);
    net.rtt_ms = r.DoubleIn("rtt_ms", net.rtt_ms, 0, 600'000);
    net.metered = r.Bool("metered", net.metered);
  }

  void Request(const Node& node, RequestFacts& req) {
    MapReader r(node, d_, "request",
                {"tokens_in", "tokens_out", "difficulty", "privacy", "kind", "latency_budget_ms",
                 "max_cost_usd"},
                true);
    if (!r.ok()) return;
    req.tokens_in = static_cast<std::uint32_t>(Integer(r, "tokens_in", 200, 0, kMaxTokens));
    req.tokens_out = static_cast<std::uint32_t>(Integer(r, "tokens_out", 100, 0, kMaxTokens));
    req.difficulty = r.DoubleIn("difficulty", req.difficulty, 0, 1);
    req.privacy = Enum(r, "privacy", req.privacy, kPrivacyNames);
    req.kind = Enum(r, "kind", req.kind, kRequestKindNames);
    req.latency_budget_ms =
        static_cast<std::uint32_t>(Integer(r, "latency_budget_ms", 0, 0, 600'000));
    req.max_cost_usd = r.DoubleIn("max_cost_usd", 0, 0, 1e9);
  }

  void Fleet(const Node& node, FleetFacts& fleet) {
    MapReader r(node, d_, "fleet", {"cloud_healthy", "cloud_load", "budget_left_usd"}, true);
    if (!r.ok()) return;
    fleet.cloud_healthy = r.Bool("cloud_healthy", fleet.cloud_healthy);
    fleet.cloud_load = r.DoubleIn("cloud_load", fleet.cloud_load, 0, 1);
    fleet.budget_left_usd =
        r.DoubleIn("budget_left_usd", std::numeric_limits<double>::infinity(), 0, 1e12);
  }

  void Peer(const Node& node, PeerFacts& peer) {
    MapReader r(node, d_, "peer",
                {"phone_available", "phone_battery_pct", "phone_profile", "phone_thermal",
                 "phone_models", "phone_models_warm", "phone_rtt_ms"},
                true);
    if (!r.ok()) return;
    peer.phone_available = r.Bool("phone_available", false);
    peer.phone_battery_pct = r.DoubleIn("phone_battery_pct", 100, 0, 100);
    peer.phone_profile = 0;
    for (std::size_t i = 0; i < c_.devices().size(); ++i) {
      if (c_.devices()[i].accepts_offload) {
        peer.phone_profile = static_cast<DeviceClassIndex>(i);
        break;
      }
    }
    if (const Node* p = r.Get("phone_profile")) {
      if (auto i = Profile(*p, "phone_profile")) peer.phone_profile = *i;
    }
    peer.phone_thermal = Enum(r, "phone_thermal", peer.phone_thermal, kThermalNames);
    peer.phone_models = Models(r, "phone_models", Runs(peer.phone_profile));
    peer.phone_models_warm = Models(r, "phone_models_warm", ModelSet{});
    peer.phone_rtt_ms = r.DoubleIn("phone_rtt_ms", peer.phone_rtt_ms, 0, 600'000);
  }

  const Catalog& c_;
  Diagnostics& d_;
};

}  // namespace

std::optional<DecisionState> ReadState(const yaml::Node& node, const Catalog& catalog,
                                       Diagnostics& diagnostics) {
  return StateReader(catalog, diagnostics).Read(node);
}

std::optional<DecisionState> ParseState(std::string_view text, const Catalog& catalog,
                                        Diagnostics& diagnostics) {
  std::optional<yaml::Node> root = yaml::Parse(text, diagnostics);
  if (!root) return std::nullopt;
  return ReadState(*root, catalog, diagnostics);
}

Result<DecisionState> LoadStateFile(const std::string& path, const Catalog& catalog) {
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diagnostics(path);
  std::optional<DecisionState> state = ParseState(*text, catalog, diagnostics);
  if (!state) return diagnostics.ToStatus();
  return std::move(*state);
}

}  // namespace partita::policy
