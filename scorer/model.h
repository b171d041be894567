// The difficulty scorer: logistic regression over the hashed features of features.h, predicting
// the probability that a mid-size ("weak") model answers a prompt wrong. Train() is
// deterministic for a seed; a trained model is immutable and Score() is safe from any thread
// (each thread passes its own extractor and features, so scoring does not allocate once warm).
//
// The model file: a text header, then the weights as little-endian float32.
//   partita-scorer 1
//   features 17
//   checksum <16 hex digits: FNV-1a 64 of the weight bytes>
//   trained <free text: what it was trained on>
//   <blank line>
//   <4 << features bytes>
// A file of another version, a different size or a checksum that does not match is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scorer/features.h"
#include "scorer/labeled_data.h"

namespace partita::scorer {

inline constexpr int kModelFormatVersion = 1;

struct TrainOptions {
  std::uint64_t seed = 1;
  int epochs = 8;
  double learning_rate = 0.01;  // AdaGrad's base rate
  double l2 = 1e-6;             // per example and weight touched
};

class DifficultyModel {
 public:
  // Trains on "weak answers wrong" (the label the scorer predicts). `trained_on` is recorded.
  static DifficultyModel Train(const std::vector<LabeledPrompt>& rows, const TrainOptions& options,
                               std::string trained_on);

  // Difficulty in [0, 1]: the predicted probability that the weak model answers wrong.
  double Score(std::string_view prompt, FeatureExtractor& extractor, Features& features) const;
  // The same, with its own buffers (allocates; for one-off use).
  double Score(std::string_view prompt) const;

  std::string Serialize() const;
  // `file` names the source in messages.
  static Result<DifficultyModel> Parse(std::string_view bytes, std::string_view file);
  static Result<DifficultyModel> Load(const std::string& path);
  // The model shipped in the binary (scorer/models/default.scorer; docs/routing.md says how it
  // was trained). Parsed once; an error only if the build embedded a bad file.
  static const Result<DifficultyModel>& Shipped();
  Status Save(const std::string& path) const;

  const std::string& trained_on() const { return trained_on_; }

 private:
  double Logit(const Features& f) const;

  std::vector<float> weights_ = std::vector<float>(kFeatureCount, 0.f);  // slot 0..: dense
  float bias_ = 0;
  std::string trained_on_;
};

}  // namespace partita::scorer
