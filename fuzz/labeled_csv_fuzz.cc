// Fuzzes the labeled-prompt CSV reader and the scorer behind it. Invariants: no crash; an error
// names the file and a line; every row read has a non-empty id; every prompt, read or the raw
// input itself (arbitrary bytes, invalid UTF-8 included), scores inside [0, 1].
#include <cstdint>
#include <string>
#include <string_view>

#include "scorer/labeled_data.h"
#include "scorer/model.h"

namespace {

const partita::scorer::DifficultyModel& Model() {
  static const auto* model = [] {
    std::vector<partita::scorer::LabeledPrompt> rows;
    for (int i = 0; i < 20; ++i) {
      rows.push_back(
          {std::to_string(i), "", "prompt " + std::to_string(i * 31), i % 2 == 0, true, 0});
    }
    return new partita::scorer::DifficultyModel(
        partita::scorer::DifficultyModel::Train(rows, {}, "fuzz"));
  }();
  return *model;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  partita::scorer::FeatureExtractor extractor;
  partita::scorer::Features features;
  const double raw = Model().Score(text, extractor, features);
  Check(raw >= 0 && raw <= 1);
  auto rows = partita::scorer::ParseLabeledCsv(text, "f.csv");
  if (!rows.ok()) {
    Check(rows.status().message().rfind("f.csv:", 0) == 0);
    return 0;
  }
  for (const auto& row : *rows) {
    Check(!row.id.empty() && row.line >= 2);
    const double s = Model().Score(row.prompt, extractor, features);
    Check(s >= 0 && s <= 1);
  }
  return 0;
}
