#include "scorer/model.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "scorer/evaluation.h"

namespace partita::scorer {
namespace {

// A small labeled set the tests generate: arithmetic with large numbers is what the "weak" model
// gets wrong, greetings it gets right.
std::vector<LabeledPrompt> Synthetic(int n) {
  std::vector<LabeledPrompt> rows;
  for (int i = 0; i < n; ++i) {
    LabeledPrompt r;
    r.id = "s" + std::to_string(i);
    const bool hard = i % 2 == 0;
    r.prompt = hard ? "Compute " + std::to_string(1000 + i * 37) + " * " +
                          std::to_string(2000 + i * 53) + " - " + std::to_string(i * 11) + " = ?"
                    : "Say hello to my friend number " + std::to_string(i) + ", nicely.";
    r.weak_correct = !hard;
    r.strong_correct = true;
    rows.push_back(r);
  }
  return rows;
}

TEST_CASE("training is deterministic for a seed, and learns the synthetic split") {
  const auto rows = Synthetic(200);
  const DifficultyModel a = DifficultyModel::Train(rows, {.seed = 7}, "synthetic");
  const DifficultyModel b = DifficultyModel::Train(rows, {.seed = 7}, "synthetic");
  const DifficultyModel c = DifficultyModel::Train(rows, {.seed = 8}, "synthetic");
  CHECK(a.Serialize() == b.Serialize());
  CHECK(a.Serialize() != c.Serialize());
  std::vector<double> scores;
  for (const LabeledPrompt& r : rows) scores.push_back(a.Score(r.prompt));
  CHECK(EvaluateRouting(rows, scores).auc > 0.95);
  CHECK(a.Score("Compute 123456 * 654321 - 99 = ?") > a.Score("Say hello to my friend Ann."));
}

TEST_CASE("scores are defined for an empty prompt, a 1 MB prompt and invalid UTF-8") {
  const DifficultyModel m = DifficultyModel::Train(Synthetic(50), {}, "synthetic");
  for (const std::string& prompt :
       {std::string(), std::string(1 << 20, 'x'), std::string("\xff\xfe\xc3(\xe2\x82", 6),
        std::string("\0\0\0", 3)}) {
    const double s = m.Score(prompt);
    CHECK(s >= 0);
    CHECK(s <= 1);
  }
}

TEST_CASE("a Chinese prompt gets a score that depends on its text") {
  std::vector<LabeledPrompt> rows;
  for (int i = 0; i < 100; ++i) {
    LabeledPrompt r;
    r.id = std::to_string(i);
    const bool hard = i % 2 == 0;
    r.prompt = hard ? "请证明这个定理并计算积分的值 " + std::to_string(i)
                    : "你好，今天天气怎么样 " + std::to_string(i);
    r.weak_correct = !hard;
    r.strong_correct = true;
    rows.push_back(r);
  }
  const DifficultyModel m = DifficultyModel::Train(rows, {}, "chinese");
  CHECK(m.Score("请证明这个定理并计算积分") > m.Score("你好，今天天气怎么样") + 0.2);
}

TEST_CASE("the model file round-trips and refuses corrupt, truncated and other-version files") {
  const DifficultyModel m = DifficultyModel::Train(Synthetic(50), {.seed = 3}, "synthetic 50");
  const std::string bytes = m.Serialize();
  CHECK(bytes.size() < 1024 * 1024);
  auto back = DifficultyModel::Parse(bytes, "m.scorer");
  REQUIRE(back.ok());
  CHECK(back->Serialize() == bytes);
  CHECK(back->trained_on() == "synthetic 50");

  std::string corrupt = bytes;
  corrupt[corrupt.size() - 100] ^= 0x40;
  auto c = DifficultyModel::Parse(corrupt, "m.scorer");
  REQUIRE(!c.ok());
  CHECK(c.status().message().find("m.scorer: checksum mismatch") != std::string::npos);

  auto t = DifficultyModel::Parse(bytes.substr(0, bytes.size() - 10), "m.scorer");
  REQUIRE(!t.ok());
  CHECK(t.status().message().find("truncated") != std::string::npos);

  std::string v2 = bytes;
  v2.replace(0, 16, "partita-scorer 2");
  auto v = DifficultyModel::Parse(v2, "m.scorer");
  REQUIRE(!v.ok());
  CHECK(v.status().message().find("model format version 2") != std::string::npos);

  auto junk = DifficultyModel::Parse("hello", "m.scorer");
  REQUIRE(!junk.ok());
  CHECK(junk.status().message().find("not a Partita scorer model") != std::string::npos);
}

}  // namespace
}  // namespace partita::scorer
