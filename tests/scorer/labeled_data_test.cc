#include "scorer/labeled_data.h"

#include <doctest/doctest.h>

namespace partita::scorer {
namespace {

TEST_CASE("labeled CSV: columns by name, quoted prompts spanning lines, doubled quotes") {
  const char* text =
      "strong_correct,id,prompt,weak_correct,extra\r\n"
      "1,q1,\"What is 2+2?\nA. 3\nB. 4\",0,x\n"
      "0,q2,\"Say \"\"hi\"\", then, stop\",1,y\n";
  auto rows = ParseLabeledCsv(text, "t.csv");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].id == "q1");
  CHECK((*rows)[0].prompt == "What is 2+2?\nA. 3\nB. 4");
  CHECK(!(*rows)[0].weak_correct);
  CHECK((*rows)[0].strong_correct);
  CHECK((*rows)[1].prompt == "Say \"hi\", then, stop");
  CHECK((*rows)[1].line == 5);  // the first record spans lines 2-4
  CHECK((*rows)[1].subject.empty());
}

TEST_CASE("labeled CSV errors name FILE:LINE and the reason") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "t.csv:1: the file is empty"},
      {"id,prompt,weak_correct\nq,p,1\n", "t.csv:1: the header has no 'strong_correct' column"},
      {"id,prompt,weak_correct,strong_correct\nq,\"open,1,1\n", "t.csv:2: a quoted field is not"},
      {"id,prompt,weak_correct,strong_correct\nq,p,1,1\nr,p,2,1\n",
       "t.csv:3: 'weak_correct' is '2'; expected 0 or 1"},
      {"id,prompt,weak_correct,strong_correct\nq,p,1\n", "t.csv:2: the row has 3 fields"},
      {"id,prompt,weak_correct,strong_correct\nq,p\"x,1,1\n", "t.csv:2: a quote inside"},
      {"id,prompt,weak_correct,strong_correct\nq,\"p\"x,1,1\n", "t.csv:2: text after a closing"},
      {"id,prompt,weak_correct,strong_correct\n", "no labeled rows"},
      {"id,prompt,weak_correct,strong_correct\n,p,1,1\n", "t.csv:2: 'id' is empty"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto rows = ParseLabeledCsv(c.text, "t.csv");
    REQUIRE(!rows.ok());
    CHECK(rows.status().message().find(c.message) != std::string::npos);
  }
}

}  // namespace
}  // namespace partita::scorer
