#include "device_profiles/catalog.h"

namespace partita {

const ModelRuntime* DeviceClass::RuntimeFor(ModelIndex model) const {
  for (const ModelRuntime& r : runtimes) {
    if (r.model == model) return &r;
  }
  return nullptr;
}

const ModelRuntime* CloudSpec::RuntimeFor(ModelIndex model) const {
  for (const ModelRuntime& r : runtimes) {
    if (r.model == model) return &r;
  }
  return nullptr;
}

std::optional<ModelIndex> Catalog::FindModel(std::string_view name) const {
  for (std::size_t i = 0; i < models_.size(); ++i) {
    if (models_[i].name == name) return static_cast<ModelIndex>(i);
  }
  return std::nullopt;
}

std::optional<DeviceClassIndex> Catalog::FindDevice(std::string_view name) const {
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (devices_[i].name == name) return static_cast<DeviceClassIndex>(i);
  }
  return std::nullopt;
}

std::vector<std::string_view> Catalog::ModelNames() const {
  std::vector<std::string_view> out;
  for (const ModelSpec& m : models_) out.push_back(m.name);
  return out;
}

std::vector<std::string_view> Catalog::DeviceNames() const {
  std::vector<std::string_view> out;
  for (const DeviceClass& d : devices_) out.push_back(d.name);
  return out;
}

}  // namespace partita
