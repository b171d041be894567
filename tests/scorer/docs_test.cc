// docs/routing.md's worked example is real: its labeled CSV loads, with the rows and labels the
// page shows, and the shipped model the page describes is the one linked in.
#include <doctest/doctest.h>

#include "scorer/labeled_data.h"
#include "scorer/model.h"
#include "tests/testing/temp_dir.h"

namespace partita::scorer {
namespace {

std::string FirstBlockAfter(const std::string& doc, const std::string& heading,
                            const std::string& fence) {
  std::size_t at = doc.find(heading);
  REQUIRE(at != std::string::npos);
  at = doc.find(fence, at);
  REQUIRE(at != std::string::npos);
  const std::size_t body = doc.find('\n', at) + 1;
  return doc.substr(body, doc.find("```", body) - body);
}

TEST_CASE("the labeled CSV in docs/routing.md loads as the page describes") {
  const std::string doc = testing::ReadSourceFile("docs/routing.md");
  auto rows = ParseLabeledCsv(FirstBlockAfter(doc, "### Worked example", "```csv"), "labeled.csv");
  REQUIRE_MESSAGE(rows.ok(), rows.status().message());
  REQUIRE(rows->size() == 4);
  CHECK((*rows)[0].id == "calc-1");
  CHECK((*rows)[0].subject == "calculus");
  CHECK((*rows)[0].prompt.find("\nD. 0\nAnswer:") != std::string::npos);
  CHECK((*rows)[1].prompt == "Say \"good morning\" to my sister, warmly.");
  CHECK((*rows)[3].prompt == "早上好！今天天气怎么样？");
  CHECK(!(*rows)[2].weak_correct);
  CHECK(!(*rows)[2].strong_correct);
}

TEST_CASE("the shipped model loads, says what it was trained on, and scores by the text") {
  const Result<DifficultyModel>& m = DifficultyModel::Shipped();
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  const std::string doc = testing::ReadSourceFile("docs/routing.md");
  // The page names the data's checksum; the model's header carries the same.
  const std::size_t at = m->trained_on().find("sha256 ");
  REQUIRE(at != std::string::npos);
  CHECK(doc.find(m->trained_on().substr(at + 7, 64)) != std::string::npos);
  const double a = m->Score("Compute the integral of x^2 * sin(x) from 0 to pi.");
  const double b = m->Score("Say good morning to my sister.");
  CHECK(a != b);
  CHECK(m->Score("请计算这个积分") != m->Score("你好"));
}

}  // namespace
}  // namespace partita::scorer
