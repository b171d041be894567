#include "scorer/model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/hash.h"

namespace partita::scorer {

namespace {

static_assert(std::endian::native == std::endian::little, "the model file is little-endian");

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string Hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

double DifficultyModel::Logit(const Features& f) const {
  double z = bias_;
  for (std::uint32_t i = 0; i < kDenseFeatures; ++i) z += weights_[i] * f.dense[i];
  double hashed = 0;
  for (std::uint32_t slot : f.hashed) hashed += weights_[slot];
  return z + hashed * f.hashed_value;
}

double DifficultyModel::Score(std::string_view prompt, FeatureExtractor& extractor,
                              Features& features) const {
  extractor.Extract(prompt, features);
  return Sigmoid(Logit(features));
}

double DifficultyModel::Score(std::string_view prompt) const {
  FeatureExtractor extractor;
  Features features;
  return Score(prompt, extractor, features);
}

DifficultyModel DifficultyModel::Train(const std::vector<LabeledPrompt>& rows,
                                       const TrainOptions& options, std::string trained_on) {
  DifficultyModel m;
  m.trained_on_ = std::move(trained_on);
  std::vector<Features> examples(rows.size());
  FeatureExtractor extractor;
  std::size_t positives = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    extractor.Extract(rows[i].prompt, examples[i]);
    positives += rows[i].weak_correct ? 0 : 1;
  }
  if (rows.empty()) return m;
  // Start from the base rate, so an empty prompt scores the training set's share of misses.
  const double base = std::clamp(static_cast<double>(positives) / rows.size(), 1e-3, 1 - 1e-3);
  m.bias_ = static_cast<float>(std::log(base / (1 - base)));

  std::vector<double> w(kFeatureCount, 0.0), g2(kFeatureCount, 1e-8);
  double bias = m.bias_, bias_g2 = 1e-8;
  std::vector<std::size_t> order(rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(options.seed);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    // Fisher-Yates with the engine's raw output: the same order on every platform.
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (std::size_t k : order) {
      const Features& f = examples[k];
      double z = bias;
      for (std::uint32_t i = 0; i < kDenseFeatures; ++i) z += w[i] * f.dense[i];
      for (std::uint32_t slot : f.hashed) z += w[slot] * f.hashed_value;
      const double y = rows[k].weak_correct ? 0.0 : 1.0;
      const double err = Sigmoid(z) - y;
      const auto step = [&](std::uint32_t i, double x) {
        const double g = err * x + options.l2 * w[i];
        g2[i] += g * g;
        w[i] -= options.learning_rate * g / std::sqrt(g2[i]);
      };
      for (std::uint32_t i = 0; i < kDenseFeatures; ++i) step(i, f.dense[i]);
      for (std::uint32_t slot : f.hashed) step(slot, f.hashed_value);
      bias_g2 += err * err;
      bias -= options.learning_rate * err / std::sqrt(bias_g2);
    }
  }
  for (std::size_t i = 0; i < w.size(); ++i) m.weights_[i] = static_cast<float>(w[i]);
  m.bias_ = static_cast<float>(bias);
  return m;
}

std::string DifficultyModel::Serialize() const {
  // The bias travels as slot kFeatureCount's worth: appended after the weights.
  std::string body(reinterpret_cast<const char*>(weights_.data()), weights_.size() * sizeof(float));
  body.append(reinterpret_cast<const char*>(&bias_), sizeof bias_);
  std::string trained = trained_on_;
  std::replace(trained.begin(), trained.end(), '\n', ' ');
  return "partita-scorer " + std::to_string(kModelFormatVersion) + "\nfeatures " +
         std::to_string(kFeatureBits) + "\nchecksum " + Hex16(Fnv1a64(body)) + "\ntrained " +
         trained + "\n\n" + body;
}

Result<DifficultyModel> DifficultyModel::Parse(std::string_view bytes, std::string_view file) {
  const std::string where = std::string(file) + ": ";
  const std::size_t end = bytes.find("\n\n");
  if (bytes.substr(0, 15) != "partita-scorer " || end == std::string_view::npos) {
    return InvalidArgument(where + "not a Partita scorer model (it must start 'partita-scorer')");
  }
  std::istringstream header(std::string(bytes.substr(0, end)));
  std::string line, key;
  int version = -1, bits = -1;
  std::string checksum;
  DifficultyModel m;
  while (std::getline(header, line)) {
    const std::size_t space = line.find(' ');
    key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "partita-scorer") version = std::atoi(value.c_str());
    if (key == "features") bits = std::atoi(value.c_str());
    if (key == "checksum") checksum = value;
    if (key == "trained") m.trained_on_ = value;
  }
  if (version != kModelFormatVersion) {
    return InvalidArgument(where + "model format version " + std::to_string(version) +
                           "; this partita reads version " + std::to_string(kModelFormatVersion) +
                           " (retrain it with `partita scorer train`)");
  }
  if (bits != kFeatureBits) {
    return InvalidArgument(where + "model has 2^" + std::to_string(bits) +
                           " features; this partita uses 2^" + std::to_string(kFeatureBits));
  }
  const std::string_view body = bytes.substr(end + 2);
  const std::size_t expected = (kFeatureCount + 1) * sizeof(float);
  if (body.size() != expected) {
    return InvalidArgument(where + "the weights are " + std::to_string(body.size()) +
                           " bytes; expected " + std::to_string(expected) + " (truncated?)");
  }
  if (checksum != Hex16(Fnv1a64(body))) {
    return InvalidArgument(where + "checksum mismatch (the file is corrupt): header says " +
                           checksum + ", the weights hash to " + Hex16(Fnv1a64(body)));
  }
  std::memcpy(m.weights_.data(), body.data(), kFeatureCount * sizeof(float));
  std::memcpy(&m.bias_, body.data() + kFeatureCount * sizeof(float), sizeof(float));
  for (float v : m.weights_) {
    if (!std::isfinite(v)) return InvalidArgument(where + "a weight is not a finite number");
  }
  if (!std::isfinite(m.bias_)) return InvalidArgument(where + "the bias is not a finite number");
  return m;
}

Result<DifficultyModel> DifficultyModel::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read scorer model '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return Parse(bytes.str(), path);
}

Status DifficultyModel::Save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const std::string bytes = Serialize();
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return InvalidArgument("cannot write scorer model '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return InvalidArgument("cannot move the model into place at '" + path + "'");
  }
  return Status::Ok();
}

}  // namespace partita::scorer
