// `partita profiles list` and `partita profiles show NAME`: the device and model catalog.
#include <cstdio>

#include "common/did_you_mean.h"
#include "device_profiles/catalog_loader.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/text_table.h"

namespace partita::cli {

namespace {

struct ProfilesArgs {
  std::string catalog;
  std::string name;
};

std::string Mb(double mb) { return mb > 0 ? FormatNumber(mb, 0) : "-"; }

void PrintList(const Catalog& c) {
  std::printf("Device classes (catalog '%s'):\n", c.name().c_str());
  TextTable devices(
      {"name", "class", "ram_mb", "battery_wh", "idle_w", "active_w", "offload", "models"});
  for (const DeviceClass& d : c.devices()) {
    std::string models;
    for (const ModelRuntime& rt : d.runtimes) {
      if (!models.empty()) models += ", ";
      models += c.model(rt.model).name;
    }
    devices.AddRow({d.name, d.device_class, Mb(d.ram_mb),
                    d.OnMains() ? "mains" : FormatNumber(d.battery_wh, 1),
                    FormatNumber(d.idle_power_w, 2), FormatNumber(d.active_power_w, 2),
                    d.accepts_offload ? "yes" : "no", models.empty() ? "(none)" : models});
  }
  std::printf("%s\nModels:\n", devices.ToString().c_str());
  TextTable models({"name", "params_b", "active_b", "quant", "mmlu", "gsm8k", "$/1M in", "$/1M out",
                    "base_ms", "quality", "curve"});
  for (const ModelSpec& m : c.models()) {
    models.AddRow({m.name, m.params_total_b > 0 ? FormatNumber(m.params_total_b, 1) : "-",
                   m.params_active_b > 0 ? FormatNumber(m.params_active_b, 1) : "-", m.quantization,
                   FormatNumber(m.mmlu_pct, 1), FormatNumber(m.gsm8k_pct, 1),
                   FormatNumber(m.price_usd_per_1m_input_tokens, 3),
                   FormatNumber(m.price_usd_per_1m_output_tokens, 3),
                   FormatNumber(m.base_latency_ms, 0), FormatNumber(m.QualityScore(), 3),
                   m.quality_curve ? "measured" : "predicted"});
  }
  std::printf("%s\nCloud serves: ", models.ToString().c_str());
  for (std::size_t i = 0; i < c.cloud().runtimes.size(); ++i) {
    std::printf("%s%s", i ? ", " : "", c.model(c.cloud().runtimes[i].model).name.c_str());
  }
  std::printf("\n");
}

void PrintRuntimes(const Catalog& c, const std::vector<ModelRuntime>& runtimes) {
  TextTable t({"model", "prefill_tok/s", "decode_tok/s", "sustained", "cold_load_ms", "resident"});
  for (const ModelRuntime& rt : runtimes) {
    t.AddRow({c.model(rt.model).name, FormatNumber(rt.prefill_tokens_per_s, 1),
              FormatNumber(rt.decode_tokens_per_s, 1), FormatNumber(rt.sustained_factor, 2),
              FormatNumber(rt.cold_load_ms, 0), rt.resident ? "yes" : "no"});
  }
  std::printf("%s", t.ToString().c_str());
  for (const ModelRuntime& rt : runtimes) {
    std::printf("  source (%s): %s\n", c.model(rt.model).name.c_str(), rt.source.c_str());
  }
}

bool Show(const Catalog& c, const std::string& name) {
  if (auto d = c.FindDevice(name)) {
    const DeviceClass& dev = c.device(*d);
    std::printf("device class %s (%s): %s\n", dev.name.c_str(), dev.device_class.c_str(),
                dev.description.c_str());
    std::printf("  ram_mb           %s\n", FormatNumber(dev.ram_mb, 0).c_str());
    std::printf("  battery_wh       %s\n",
                dev.OnMains() ? "0 (mains)" : FormatNumber(dev.battery_wh, 2).c_str());
    std::printf("  idle_power_w     %s\n", FormatNumber(dev.idle_power_w, 2).c_str());
    std::printf("  active_power_w   %s\n", FormatNumber(dev.active_power_w, 2).c_str());
    std::printf("  radio_power_w    %s\n", FormatNumber(dev.radio_power_w, 2).c_str());
    std::printf("  accepts_offload  %s\n",
                dev.accepts_offload ? "yes (can be a phone tier)" : "no");
    std::printf("  source: %s\n\nruntimes:\n", dev.source.c_str());
    if (dev.runtimes.empty()) {
      std::printf("  (none: this device class always offloads)\n");
    } else {
      PrintRuntimes(c, dev.runtimes);
    }
    return true;
  }
  if (auto m = c.FindModel(name)) {
    const ModelSpec& model = c.model(*m);
    std::printf("model %s (%s): %s\n", model.name.c_str(), model.family.c_str(),
                model.description.c_str());
    std::printf("  params_total_b   %s\n", FormatNumber(model.params_total_b, 1).c_str());
    std::printf("  params_active_b  %s\n", FormatNumber(model.params_active_b, 1).c_str());
    std::printf("  quantization     %s\n", model.quantization.c_str());
    std::printf("  memory_mb        %s\n", Mb(model.memory_mb).c_str());
    std::printf("  mmlu_pct         %s\n", FormatNumber(model.mmlu_pct, 1).c_str());
    std::printf("  gsm8k_pct        %s\n", FormatNumber(model.gsm8k_pct, 1).c_str());
    std::printf("  quality score    %s   ((mmlu + gsm8k) / 200)\n",
                FormatNumber(model.QualityScore(), 3).c_str());
    if (model.quality_curve) {
      std::printf(
          "  quality curve    MEASURED: 1 / (1 + exp(-(%s + %s x difficulty))); at "
          "difficulty 0.2 / 0.5 / 0.8: %s / %s / %s\n                   source: %s\n",
          FormatNumber(model.quality_curve->intercept, 4).c_str(),
          FormatNumber(model.quality_curve->slope, 4).c_str(),
          FormatNumber(model.QualityAt(0.2), 3).c_str(),
          FormatNumber(model.QualityAt(0.5), 3).c_str(),
          FormatNumber(model.QualityAt(0.8), 3).c_str(), model.quality_curve->source.c_str());
    } else {
      std::printf(
          "  quality curve    PREDICTED from the quality score (no labeled data); at "
          "difficulty 0.2 / 0.5 / 0.8: %s / %s / %s\n",
          FormatNumber(model.QualityAt(0.2), 3).c_str(),
          FormatNumber(model.QualityAt(0.5), 3).c_str(),
          FormatNumber(model.QualityAt(0.8), 3).c_str());
    }
    std::printf("  price            $%s / $%s per 1M input / output tokens\n",
                FormatNumber(model.price_usd_per_1m_input_tokens, 4).c_str(),
                FormatNumber(model.price_usd_per_1m_output_tokens, 4).c_str());
    std::printf("  base_latency_ms  %s\n", FormatNumber(model.base_latency_ms, 0).c_str());
    std::printf("  source: %s\n\nruns on:\n", model.source.c_str());
    for (const DeviceClass& dev : c.devices()) {
      if (const ModelRuntime* rt = dev.RuntimeFor(*m)) {
        std::printf("  %-16s prefill %s tok/s, decode %s tok/s\n", dev.name.c_str(),
                    FormatNumber(rt->prefill_tokens_per_s, 1).c_str(),
                    FormatNumber(rt->decode_tokens_per_s, 1).c_str());
      }
    }
    if (const ModelRuntime* rt = c.cloud().RuntimeFor(*m)) {
      std::printf("  %-16s prefill %s tok/s, decode %s tok/s\n", "cloud",
                  FormatNumber(rt->prefill_tokens_per_s, 1).c_str(),
                  FormatNumber(rt->decode_tokens_per_s, 1).c_str());
    }
    return true;
  }
  return false;
}

}  // namespace

void AddProfilesCommands(CLI::App& app, int& exit_code) {
  CLI::App* profiles = app.add_subcommand("profiles", "The device and model catalog");
  profiles->require_subcommand(1);
  auto args = std::make_shared<ProfilesArgs>();
  profiles->add_option("--catalog", args->catalog,
                       "Catalog YAML file (default: the catalog built into partita)");

  CLI::App* list = profiles->add_subcommand("list", "List device classes and models");
  list->fallthrough();  // --catalog may follow the subcommand too
  list->callback([args, &exit_code] {
    Result<CatalogPtr> catalog = LoadCatalogOrDefault(args->catalog);
    if (!catalog.ok()) {
      PrintError(catalog.status().message());
      exit_code = 1;
      return;
    }
    PrintList(**catalog);
  });

  CLI::App* show = profiles->add_subcommand("show", "Show one device class or model, with sources");
  show->fallthrough();
  show->add_option("name", args->name, "Device class or model name")->required();
  show->callback([args, &exit_code] {
    Result<CatalogPtr> catalog = LoadCatalogOrDefault(args->catalog);
    if (!catalog.ok()) {
      PrintError(catalog.status().message());
      exit_code = 1;
      return;
    }
    if (!Show(**catalog, args->name)) {
      std::vector<std::string_view> names = (*catalog)->DeviceNames();
      for (std::string_view m : (*catalog)->ModelNames()) names.push_back(m);
      PrintError("no device class or model named '" + args->name +
                 "'; known: " + JoinAlternatives(names));
      exit_code = 1;
    }
  });
}

}  // namespace partita::cli
