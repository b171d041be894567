// `partita report` as a user runs it: the real binary, real files, exit codes and messages.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/reports/fixture.h"
#include "tests/testing/temp_dir.h"

namespace partita::reports {
namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Run Partita(const std::string& args) {
  Run run;
  const std::string cmd = std::string(PARTITA_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("partita report writes the format its --out extension names") {
  testing::TempDir tmp;
  const std::string db = tmp.File("run.db");
  REQUIRE(fixture::WriteRuns(db, {fixture::Balanced(), fixture::BatterySaver()}).ok());

  Run html = Partita("report " + db + " --out " + tmp.File("report.html"));
  CHECK(html.exit_code == 0);
  CHECK(html.output.find("wrote " + tmp.File("report.html") +
                         " (html): 2 run(s), 10 requests per run") == 0);
  CHECK(html.output.find("battery-saver uses 78% less energy on requests") != std::string::npos);
  CHECK(html.output.find("open it in a browser: file://" + tmp.File("report.html")) !=
        std::string::npos);
  CHECK(Slurp(tmp.File("report.html")).rfind("<!DOCTYPE html>", 0) == 0);

  CHECK(Partita("report " + db + " --out " + tmp.File("r.json") + " -q").exit_code == 0);
  CHECK(Slurp(tmp.File("r.json")).rfind("{\"generator\":", 0) == 0);
  // --format wins over the extension.
  CHECK(Partita("report " + db + " --out " + tmp.File("r.txt") + " --format csv -q").exit_code ==
        0);
  CHECK(Slurp(tmp.File("r.txt")).rfind("run,figure,tier,hour,key,value\n", 0) == 0);
  // '-' writes Markdown to standard output.
  Run md = Partita("report " + db + " --out -");
  CHECK(md.exit_code == 0);
  CHECK(md.output.rfind("# Partita tradeoff report", 0) == 0);
}

TEST_CASE("partita report explains bad inputs and exits 1") {
  testing::TempDir tmp;
  const std::string db = tmp.File("run.db");
  REQUIRE(fixture::WriteRuns(db, {fixture::Balanced()}).ok());

  Run unknown = Partita("report " + db + " --out " + tmp.File("report.txt"));
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.output ==
        "partita: error: cannot tell the format from '" + tmp.File("report.txt") +
            "': end --out with .html, .md, .csv or .json, or give --format html|md|csv|json\n");

  Run missing = Partita("report " + tmp.File("missing.db") + " --out " + tmp.File("r.html"));
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.rfind("partita: error: '" + tmp.File("missing.db") + "' does not exist",
                             0) == 0);

  const std::string text = tmp.Write("notes.txt", "hello\n");
  Run not_db = Partita("report " + text + " --out " + tmp.File("r.html"));
  CHECK(not_db.exit_code == 1);
  CHECK(not_db.output.find("is not a Partita run database") != std::string::npos);
  CHECK_FALSE(std::ifstream(tmp.File("r.html")).good());

  Run clobber = Partita("report " + db + " --out " + db + " --format html");
  CHECK(clobber.exit_code == 1);
  CHECK(clobber.output == "partita: error: --out '" + db +
                              "' is one of the inputs; choose another file for the report\n");

  Run no_out = Partita("report " + db);
  CHECK(no_out.exit_code == 2);
  CHECK(no_out.output.find("--out is required") != std::string::npos);
}

}  // namespace
}  // namespace partita::reports
