// `partita scorer train|eval|threshold`: the difficulty scorer (scorer/, docs/routing.md).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "common/json_writer.h"
#include "edge_agent/request_features.h"
#include "scorer/evaluation.h"
#include "scorer/model.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

namespace {

using scorer::DifficultyModel;
using scorer::LabeledPrompt;

struct ScorerArgs {
  std::string data;
  std::string out;
  std::string model;
  std::string scores_out;
  std::string curve;
  std::uint64_t seed = 1;
  scorer::TrainOptions train;
  int folds = 0;
  int bins = 10;
  double strong_share = -1;
  bool json = false;
};

std::string SubjectOf(const LabeledPrompt& row) {
  if (!row.subject.empty()) return row.subject;
  // "mmlu-<subject>-<n>": the id without its last part.
  const std::size_t dash = row.id.rfind('-');
  return dash == std::string::npos ? row.id : row.id.substr(0, dash);
}

std::string Pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
  return buf;
}

void PrintEvaluation(const std::string& title, const scorer::RoutingEvaluation& e) {
  std::printf(
      "%s: %zu rows; weak %s correct, strong %s; AUC %.3f (weak answers wrong)\n"
      "  strong share for 95%% of the strong model's accuracy: %s (random %s, oracle %s)\n",
      title.c_str(), e.rows, Pct(e.weak_accuracy).c_str(), Pct(e.strong_accuracy).c_str(), e.auc,
      Pct(e.share_for_95).c_str(), Pct(e.random_share_for_95).c_str(),
      Pct(e.oracle_share_for_95).c_str());
}

void WriteEvaluationJson(JsonWriter& j, const scorer::RoutingEvaluation& e) {
  j.BeginObject()
      .IntMember("rows", static_cast<std::int64_t>(e.rows))
      .Member("weak_accuracy", e.weak_accuracy)
      .Member("strong_accuracy", e.strong_accuracy)
      .Member("auc", e.auc)
      .Member("strong_share_for_95", e.share_for_95)
      .Member("random_strong_share_for_95", e.random_share_for_95)
      .Member("oracle_strong_share_for_95", e.oracle_share_for_95)
      .EndObject();
}

// The scores of `rows` by `m`, or by the agent's keyword heuristic when `m` is null.
std::vector<double> ScoreAll(const DifficultyModel* m, const std::vector<LabeledPrompt>& rows) {
  std::vector<double> scores;
  scores.reserve(rows.size());
  scorer::FeatureExtractor extractor;
  scorer::Features features;
  for (const LabeledPrompt& r : rows) {
    scores.push_back(m != nullptr ? m->Score(r.prompt, extractor, features)
                                  : agent::ComputeRequestFeatures(r.prompt, {}).difficulty);
  }
  return scores;
}

Result<DifficultyModel> ModelFor(const ScorerArgs& a) {
  if (a.model.empty()) return DifficultyModel::Shipped();
  return DifficultyModel::Load(a.model);
}

// The labeled rows of --data (and, when asked, its SHA-256) and the model of --model (or the
// shipped one); errors printed.
bool LoadRowsAndModel(const ScorerArgs& a, std::vector<LabeledPrompt>& rows,
                      std::optional<DifficultyModel>& model, std::string* data_sha256 = nullptr) {
  Result<std::vector<LabeledPrompt>> read = scorer::LoadLabeledCsv(a.data, data_sha256);
  if (!read.ok()) {
    PrintError(read.status().message());
    return false;
  }
  rows = std::move(*read);
  if (a.folds > 0 || a.model == "keywords") return true;
  Result<DifficultyModel> m = ModelFor(a);
  if (!m.ok()) {
    PrintError(m.status().message());
    return false;
  }
  model = std::move(*m);
  return true;
}

int Train(const ScorerArgs& a) {
  std::string sha;
  Result<std::vector<LabeledPrompt>> rows = scorer::LoadLabeledCsv(a.data, &sha);
  if (!rows.ok()) {
    PrintError(rows.status().message());
    return 1;
  }
  std::fprintf(stderr, "partita scorer: training on %zu rows of %s (seed %llu)\n", rows->size(),
               a.data.c_str(), static_cast<unsigned long long>(a.seed));
  scorer::TrainOptions options = a.train;
  options.seed = a.seed;
  const std::string name = a.data.substr(a.data.find_last_of('/') + 1);
  const DifficultyModel m =
      DifficultyModel::Train(*rows, options,
                             name + " (sha256 " + sha + "), " + std::to_string(rows->size()) +
                                 " rows, seed " + std::to_string(a.seed));
  if (Status s = m.Save(a.out); !s.ok()) {
    PrintError(s.message());
    return 1;
  }
  std::printf("partita scorer: wrote %s\n", a.out.c_str());
  return 0;
}

// Whole subjects held out in each of `folds` folds: subjects, largest first, each to the fold
// with the fewest rows so far (deterministic: ties by name).
int CrossValidate(const ScorerArgs& a, const std::vector<LabeledPrompt>& rows) {
  std::map<std::string, std::size_t> sizes;
  for (const LabeledPrompt& r : rows) ++sizes[SubjectOf(r)];
  if (sizes.size() < static_cast<std::size_t>(a.folds)) {
    PrintError("--folds " + std::to_string(a.folds) + " needs at least as many subjects; " +
               a.data + " has " + std::to_string(sizes.size()));
    return 1;
  }
  std::vector<std::pair<std::string, std::size_t>> subjects(sizes.begin(), sizes.end());
  std::stable_sort(subjects.begin(), subjects.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  std::vector<std::size_t> fold_rows(a.folds, 0);
  std::map<std::string, int> fold_of;
  for (const auto& [subject, n] : subjects) {
    const int f =
        static_cast<int>(std::min_element(fold_rows.begin(), fold_rows.end()) - fold_rows.begin());
    fold_of[subject] = f;
    fold_rows[f] += n;
  }
  std::vector<double> pooled(rows.size());
  JsonWriter j;
  j.BeginObject().Key("folds").BeginArray();
  for (int f = 0; f < a.folds; ++f) {
    std::vector<LabeledPrompt> train, test;
    std::vector<std::size_t> test_index;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (fold_of[SubjectOf(rows[i])] == f) {
        test.push_back(rows[i]);
        test_index.push_back(i);
      } else {
        train.push_back(rows[i]);
      }
    }
    scorer::TrainOptions options = a.train;
    options.seed = a.seed;
    const DifficultyModel m = DifficultyModel::Train(train, options, "fold");
    std::vector<double> scores = ScoreAll(&m, test);
    for (std::size_t k = 0; k < test.size(); ++k) pooled[test_index[k]] = scores[k];
    const scorer::RoutingEvaluation e = scorer::EvaluateRouting(test, scores);
    std::set<std::string> held;
    for (const auto& [subject, fold] : fold_of) {
      if (fold == f) held.insert(subject);
    }
    if (a.json) {
      WriteEvaluationJson(j, e);
    } else {
      PrintEvaluation("fold " + std::to_string(f + 1) + " of " + std::to_string(a.folds) + " (" +
                          std::to_string(held.size()) + " subjects held out)",
                      e);
    }
  }
  j.EndArray().Key("pooled");
  const scorer::RoutingEvaluation all = scorer::EvaluateRouting(rows, pooled);
  if (a.json) {
    WriteEvaluationJson(j, all);
    j.EndObject();
    std::printf("%s\n", j.text().c_str());
  } else {
    PrintEvaluation("all folds, each row scored by the model that did not see its subject", all);
  }
  return 0;
}

int Eval(const ScorerArgs& a) {
  std::vector<LabeledPrompt> rows;
  std::optional<DifficultyModel> m;
  if (!LoadRowsAndModel(a, rows, m)) return 1;
  if (a.folds > 0) return CrossValidate(a, rows);
  std::vector<double> scores = ScoreAll(m ? &*m : nullptr, rows);
  const scorer::RoutingEvaluation e = scorer::EvaluateRouting(rows, scores);
  if (!a.scores_out.empty()) {
    std::ofstream out(a.scores_out);
    for (std::size_t i = 0; i < rows.size(); ++i) out << rows[i].id << '\t' << scores[i] << '\n';
    if (!out) {
      PrintError("cannot write --scores-out '" + a.scores_out + "'");
      return 1;
    }
  }
  if (!a.curve.empty()) {
    std::ofstream out(a.curve);
    out << "strong_share,accuracy\n";
    for (const scorer::CurvePoint& p : e.curve) out << p.strong_share << ',' << p.accuracy << '\n';
    if (!out) {
      PrintError("cannot write --curve '" + a.curve + "'");
      return 1;
    }
  }
  if (a.json) {
    JsonWriter j;
    WriteEvaluationJson(j, e);
    std::printf("%s\n", j.text().c_str());
  } else {
    PrintEvaluation(
        a.data + " scored by " +
            (!m                ? std::string("the keyword heuristic")
             : a.model.empty() ? "the shipped model (trained on " + m->trained_on() + ")"
                               : a.model + " (trained on " + m->trained_on() + ")"),
        e);
  }
  return 0;
}

int Threshold(const ScorerArgs& a) {
  std::vector<LabeledPrompt> rows;
  std::optional<DifficultyModel> m;
  if (!LoadRowsAndModel(a, rows, m)) return 1;
  const double t = scorer::ThresholdForShare(ScoreAll(m ? &*m : nullptr, rows), a.strong_share);
  std::printf("%.6f\n", t);
  std::fprintf(stderr,
               "partita scorer: request.difficulty >= %.6f sends %s of these prompts to the "
               "strong model\n",
               t, Pct(a.strong_share).c_str());
  return 0;
}

int Calibrate(const ScorerArgs& a) {
  std::vector<LabeledPrompt> rows;
  std::optional<DifficultyModel> m;
  std::string sha;
  if (!LoadRowsAndModel(a, rows, m, &sha)) return 1;
  const std::vector<double> scores = ScoreAll(m ? &*m : nullptr, rows);
  const std::string name = a.data.substr(a.data.find_last_of('/') + 1);
  const std::string scorer_name = !m                ? "the keyword heuristic"
                                  : a.model.empty() ? "the shipped scorer"
                                                    : "the scorer " + a.model;
  if (m && m->trained_on().find(sha) != std::string::npos) {
    std::fprintf(stderr,
                 "partita scorer: warning: the model was trained on this file, so these scores "
                 "are in-sample and the curves steeper than on new prompts; calibrate on "
                 "prompts the model has not seen\n");
  }
  for (const bool weak : {true, false}) {
    const char* column = weak ? "weak_correct" : "strong_correct";
    std::vector<bool> correct;
    for (const LabeledPrompt& r : rows) correct.push_back(weak ? r.weak_correct : r.strong_correct);
    const scorer::QualityFit fit = scorer::FitQualityCurve(scores, correct, a.bins);
    std::printf(
        "%s: %zu rows, %s correct; fitted P(correct) = 1 / (1 + exp(-(%.4f %c %.4f x "
        "difficulty)))\n  %-13s %6s %9s %7s\n",
        column, fit.rows, Pct(fit.accuracy).c_str(), fit.intercept, fit.slope < 0 ? '-' : '+',
        std::abs(fit.slope), "difficulty", "rows", "observed", "fitted");
    for (const scorer::QualityFit::Bin& b : fit.bins) {
      std::printf("  %5.3f-%5.3f %7zu %9s %7s\n", b.score_lo, b.score_hi, b.rows,
                  Pct(b.observed).c_str(), Pct(b.fitted).c_str());
    }
    std::printf(
        "  in the catalog, on the model that stands for %s (docs/catalog.md):\n"
        "    quality_curve: {intercept: %.4f, slope: %.4f, source: \"partita scorer calibrate: "
        "%s of %s (sha256 %s), difficulty by %s\"}\n\n",
        column, fit.intercept, fit.slope, column, name.c_str(), sha.substr(0, 16).c_str(),
        scorer_name.c_str());
  }
  return 0;
}

}  // namespace

void AddScorerCommands(CLI::App& app, int& exit_code) {
  const char* kModelHelp =
      "Model file (default: the shipped model); `keywords` scores with the agent's heuristic";
  const CLI::Validator kModelCheck(
      [](const std::string& v) { return v == "keywords" ? std::string() : CLI::ExistingFile(v); },
      "FILE|keywords");
  CLI::App* group = app.add_subcommand(
      "scorer", "The difficulty scorer: train, evaluate, calibrate (docs/routing.md)");
  group->require_subcommand(1);
  auto args = std::make_shared<ScorerArgs>();

  CLI::App* train = group->add_subcommand("train", "Train a scorer model on labeled prompts");
  train->add_option("--data", args->data, "Labeled CSV (id, prompt, weak_correct, strong_correct)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--out", args->out, "The model file to write")->required();
  train->add_option("--seed", args->seed, "Training seed (same seed, same model)");
  train->callback([args, &exit_code] { exit_code = Train(*args); });

  CLI::App* eval = group->add_subcommand(
      "eval", "How well a model's scores route labeled prompts (AUC, strong share for 95%)");
  eval->add_option("--data", args->data, "Labeled CSV")->required()->check(CLI::ExistingFile);
  eval->add_option("--model", args->model, kModelHelp)->check(kModelCheck);
  eval->add_option("--folds", args->folds,
                   "Cross-validate instead: train and evaluate K times, whole subjects held out")
      ->check(CLI::Range(2, 100));
  eval->add_option("--seed", args->seed, "Training seed for --folds");
  eval->add_option("--scores-out", args->scores_out, "Write id<TAB>score per row");
  eval->add_option("--curve", args->curve, "Write the curve: strong_share,accuracy (CSV)");
  eval->add_flag("--json", args->json, "Print JSON");
  eval->callback([args, &exit_code] { exit_code = Eval(*args); });

  for (CLI::App* cmd : {train, eval}) {
    cmd->add_option("--epochs", args->train.epochs, "Passes over the data")
        ->check(CLI::Range(1, 100));
    cmd->add_option("--l2", args->train.l2, "L2 regularisation per example")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--learning-rate", args->train.learning_rate, "AdaGrad base rate")
        ->check(CLI::Range(1e-6, 10.0));
  }

  CLI::App* calibrate = group->add_subcommand(
      "calibrate",
      "Fit quality-against-difficulty curves for the weak and strong labels (for the catalog)");
  calibrate->add_option("--data", args->data, "Labeled CSV")->required()->check(CLI::ExistingFile);
  calibrate->add_option("--model", args->model, kModelHelp)->check(kModelCheck);
  calibrate->add_option("--bins", args->bins, "Equal-count bins of difficulty to show the fit in")
      ->check(CLI::Range(1, 100));
  calibrate->callback([args, &exit_code] { exit_code = Calibrate(*args); });

  CLI::App* threshold = group->add_subcommand(
      "threshold", "The difficulty threshold that sends a given share to the strong model");
  threshold->add_option("--data", args->data, "Labeled CSV")->required()->check(CLI::ExistingFile);
  threshold->add_option("--model", args->model, kModelHelp)->check(kModelCheck);
  threshold->add_option("--strong-share", args->strong_share, "Share in [0, 1]")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  threshold->callback([args, &exit_code] { exit_code = Threshold(*args); });
}

}  // namespace partita::cli
