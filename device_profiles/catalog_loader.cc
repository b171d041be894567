#include "device_profiles/catalog_loader.h"

#include <cstdio>
#include <cstdlib>

#include "common/did_you_mean.h"
#include "common/hash.h"
#include "common/yaml_reader.h"
#include "common/yaml_tree.h"

namespace partita {

extern const char kDefaultCatalogYaml[];  // generated from catalog.yaml (see CMakeLists.txt)

class CatalogBuilder {
 public:
  explicit CatalogBuilder(Diagnostics& d) : d_(d) {}

  CatalogPtr Build(std::string_view text) {
    std::optional<yaml::Node> root = yaml::Parse(text, d_);
    if (!root) return nullptr;
    auto catalog = std::make_shared<Catalog>();
    catalog->source_file_ = d_.file();
    catalog->content_hash_ = Sha256Hex(text);
    ReadRoot(*root, *catalog);
    if (d_.has_errors()) return nullptr;
    return catalog;
  }

 private:
  void ReadRoot(const yaml::Node& root, Catalog& c) {
    yaml::MapReader top(root, d_, "the catalog",
                        {"apiVersion", "kind", "metadata", "models", "devices", "cloud"});
    if (!top.ok()) return;
    top.RequireHeader("Catalog");
    if (const yaml::Node* meta = top.Get("metadata")) {
      yaml::MapReader m(*meta, d_, "metadata", {"name", "description"});
      c.name_ = m.String("name", "");
    }
    if (const yaml::Node* models = top.Require("models")) ReadModels(*models, c);
    if (const yaml::Node* devices = top.Require("devices")) ReadDevices(*devices, c);
    if (const yaml::Node* cloud = top.Require("cloud")) ReadCloud(*cloud, c);
  }

  static bool ValidName(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (char ch : s) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                      ch == '.' || ch == '_';
      if (!ok) return false;
    }
    return true;
  }

  std::optional<std::string> ReadName(const yaml::MapReader& r, std::string_view what) {
    const yaml::Node* n = r.Require("name");
    if (n == nullptr) return std::nullopt;
    std::optional<std::string> name = yaml::ReadString(*n, d_, "name");
    if (name && !ValidName(*name)) {
      d_.Error(n->location, std::string(what) + " name '" + *name +
                                "' must be lower-case letters, digits, '-', '.' or '_'");
      return std::nullopt;
    }
    return name;
  }

  // ReadName, and an error (then nullopt) when an earlier entry has the name (`taken`).
  template <typename Taken>
  std::optional<std::string> ReadUniqueName(const yaml::MapReader& r, const yaml::Node& item,
                                            std::string_view what, Taken taken) {
    std::optional<std::string> name = ReadName(r, what);
    if (name && taken(*name)) {
      d_.Error(item.location, std::string(what) + " '" + *name + "' is defined twice");
      return std::nullopt;
    }
    return name;
  }

  void ReadModels(const yaml::Node& list, Catalog& c) {
    if (!list.IsSequence()) {
      d_.Error(list.location, "expected a list of models, got " + std::string(list.KindName()));
      return;
    }
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(
          item, d_, "a model",
          {"name", "family", "description", "params_total_b", "params_active_b", "quantization",
           "memory_mb", "mmlu_pct", "gsm8k_pct", "price_usd_per_1m_input_tokens",
           "price_usd_per_1m_output_tokens", "base_latency_ms", "quality_curve", "source"});
      if (!r.ok()) continue;
      ModelSpec m;
      m.location = item.location;
      auto name = ReadUniqueName(r, item, "model",
                                 [&](const std::string& n) { return c.FindModel(n).has_value(); });
      if (!name) continue;
      m.name = *name;
      m.family = r.String("family", "");
      m.description = r.String("description", "");
      m.quantization = r.RequireString("quantization").value_or("");
      m.params_total_b = r.RequireDoubleIn("params_total_b", 0, 1e5).value_or(0);
      m.params_active_b = r.RequireDoubleIn("params_active_b", 0, 1e5).value_or(0);
      if (m.params_active_b > m.params_total_b) {
        d_.Error(item.location,
                 "model '" + m.name + "': params_active_b is larger than params_total_b");
      }
      m.memory_mb = r.RequireDoubleIn("memory_mb", 0, 1e7).value_or(0);
      m.mmlu_pct = r.RequireDoubleIn("mmlu_pct", 0, 100).value_or(0);
      m.gsm8k_pct = r.RequireDoubleIn("gsm8k_pct", 0, 100).value_or(0);
      m.price_usd_per_1m_input_tokens =
          r.RequireDoubleIn("price_usd_per_1m_input_tokens", 0, 1e4).value_or(0);
      m.price_usd_per_1m_output_tokens =
          r.RequireDoubleIn("price_usd_per_1m_output_tokens", 0, 1e4).value_or(0);
      m.base_latency_ms = r.RequireDoubleIn("base_latency_ms", 0, 600'000).value_or(0);
      m.source = RequireSource(r, "model '" + m.name + "'");
      if (const yaml::Node* q = r.Get("quality_curve")) {
        yaml::MapReader qr(*q, d_, "quality_curve", {"intercept", "slope", "source"});
        if (qr.ok()) {
          QualityCurve curve;
          curve.intercept = qr.RequireDoubleIn("intercept", -50, 50).value_or(0);
          curve.slope = qr.RequireDoubleIn("slope", -50, 50).value_or(0);
          curve.source = RequireSource(qr, "model '" + m.name + "': quality_curve");
          m.quality_curve = std::move(curve);
        }
      }
      if (c.models_.size() >= 60000) {
        d_.Error(item.location, "too many models");
        return;
      }
      c.models_.push_back(std::move(m));
    }
  }

  std::string RequireSource(const yaml::MapReader& r, const std::string& what) {
    const yaml::Node* n = r.Get("source");
    if (n == nullptr) {
      d_.Error(r.node().location, what + " has no 'source:' saying where its figures come from");
      return "";
    }
    std::string s = yaml::ReadString(*n, d_, "source").value_or("");
    if (s.empty() && n->IsScalar()) d_.Error(n->location, what + " has an empty 'source:'");
    return s;
  }

  void ReadRuntimes(const yaml::Node& list, const Catalog& c, const std::string& owner,
                    std::vector<ModelRuntime>& out) {
    if (!list.IsSequence()) {
      d_.Error(list.location, "expected a list of runtimes for " + owner + ", got " +
                                  std::string(list.KindName()));
      return;
    }
    const std::vector<std::string_view> model_names = c.ModelNames();
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(item, d_, "a runtime of " + owner,
                        {"model", "prefill_tokens_per_s", "decode_tokens_per_s", "sustained_factor",
                         "cold_load_ms", "resident", "source"});
      if (!r.ok()) continue;
      ModelRuntime rt;
      rt.location = item.location;
      const yaml::Node* model_node = r.Require("model");
      if (model_node == nullptr) continue;
      std::optional<std::string> model = yaml::ReadString(*model_node, d_, "model");
      if (!model) continue;
      std::optional<ModelIndex> index = c.FindModel(*model);
      if (!index) {
        d_.Error(model_node->location,
                 "unknown model '" + *model + "' in " + owner + DidYouMean(*model, model_names));
        continue;
      }
      for (const ModelRuntime& existing : out) {
        if (existing.model == *index) {
          d_.Error(model_node->location, "model '" + *model + "' listed twice for " + owner);
        }
      }
      rt.model = *index;
      rt.prefill_tokens_per_s = r.RequireDoubleIn("prefill_tokens_per_s", 1e-3, 1e7).value_or(1);
      rt.decode_tokens_per_s = r.RequireDoubleIn("decode_tokens_per_s", 1e-3, 1e6).value_or(1);
      rt.sustained_factor = r.DoubleIn("sustained_factor", 1.0, 0.01, 1.0);
      rt.cold_load_ms = r.DoubleIn("cold_load_ms", 0, 0, 3'600'000);
      rt.resident = r.Bool("resident", false);
      rt.source = RequireSource(r, "runtime '" + *model + "' of " + owner);
      out.push_back(std::move(rt));
    }
  }

  void ReadDevices(const yaml::Node& list, Catalog& c) {
    if (!list.IsSequence()) {
      d_.Error(list.location,
               "expected a list of device classes, got " + std::string(list.KindName()));
      return;
    }
    for (const yaml::Node& item : list.items) {
      yaml::MapReader r(
          item, d_, "a device class",
          {"name", "class", "description", "ram_mb", "battery_wh", "idle_power_w", "active_power_w",
           "radio_power_w", "accepts_offload", "runtimes", "source"});
      if (!r.ok()) continue;
      DeviceClass dev;
      dev.location = item.location;
      auto name = ReadUniqueName(r, item, "device class",
                                 [&](const std::string& n) { return c.FindDevice(n).has_value(); });
      if (!name) continue;
      dev.name = *name;
      const std::string owner = "device class '" + dev.name + "'";
      dev.device_class = r.RequireString("class").value_or("");
      dev.description = r.String("description", "");
      const std::optional<double> ram = r.RequireDoubleIn("ram_mb", 1, 1e7);
      dev.ram_mb = ram.value_or(0);
      dev.battery_wh = r.RequireDoubleIn("battery_wh", 0, 1e5).value_or(0);
      dev.idle_power_w = r.RequireDoubleIn("idle_power_w", 0, 1e4).value_or(0);
      dev.active_power_w = r.RequireDoubleIn("active_power_w", 0, 1e4).value_or(0);
      dev.radio_power_w = r.RequireDoubleIn("radio_power_w", 0, 1e4).value_or(0);
      if (dev.active_power_w < dev.idle_power_w) {
        d_.Error(item.location, owner + ": active_power_w is lower than idle_power_w");
      }
      dev.accepts_offload = r.Bool("accepts_offload", false);
      if (const yaml::Node* rts = r.Require("runtimes")) {
        ReadRuntimes(*rts, c, owner, dev.runtimes);
      }
      for (const ModelRuntime& rt : dev.runtimes) {
        const ModelSpec& m = c.models_[rt.model];
        if (ram && m.memory_mb > dev.ram_mb) {
          d_.Error(rt.location, "model '" + m.name + "' needs " +
                                    std::to_string(static_cast<long>(m.memory_mb)) + " MB but " +
                                    owner + " has " +
                                    std::to_string(static_cast<long>(dev.ram_mb)) + " MB");
        }
      }
      dev.source = RequireSource(r, owner);
      if (c.devices_.size() >= 60000) {
        d_.Error(item.location, "too many device classes");
        return;
      }
      c.devices_.push_back(std::move(dev));
    }
  }

  void ReadCloud(const yaml::Node& node, Catalog& c) {
    yaml::MapReader r(node, d_, "cloud", {"queue_reference_ms", "runtimes", "source"});
    if (!r.ok()) return;
    c.cloud_.queue_reference_ms = r.RequireDoubleIn("queue_reference_ms", 0, 600'000).value_or(0);
    if (const yaml::Node* rts = r.Require("runtimes")) {
      ReadRuntimes(*rts, c, "cloud", c.cloud_.runtimes);
    }
    c.cloud_.source = RequireSource(r, "cloud");
  }

  Diagnostics& d_;
};

CatalogPtr ParseCatalog(std::string_view yaml_text, Diagnostics& diagnostics) {
  return CatalogBuilder(diagnostics).Build(yaml_text);
}

Result<CatalogPtr> LoadCatalogFile(const std::string& path) {
  Diagnostics diagnostics(path);
  Result<std::string> text = yaml::ReadTextFile(path);
  if (!text.ok()) return text.status();
  CatalogPtr catalog = ParseCatalog(*text, diagnostics);
  if (!catalog) return diagnostics.ToStatus();
  return catalog;
}

std::string_view DefaultCatalogYaml() { return kDefaultCatalogYaml; }

CatalogPtr DefaultCatalog() {
  static const CatalogPtr catalog = [] {
    Diagnostics diagnostics("device_profiles/catalog.yaml");
    CatalogPtr c = ParseCatalog(kDefaultCatalogYaml, diagnostics);
    if (!c) {
      // The shipped catalog is tested; failing here is a build defect.
      std::fputs(diagnostics.ToString().c_str(), stderr);
      std::abort();
    }
    return c;
  }();
  return catalog;
}

Result<CatalogPtr> LoadCatalogOrDefault(const std::string& path) {
  if (path.empty()) return DefaultCatalog();
  return LoadCatalogFile(path);
}

}  // namespace partita
