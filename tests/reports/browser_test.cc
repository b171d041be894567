// The HTML report in a real browser: headless Chromium loads it from a file (no network), the
// page's own check measures every chart (reports/render_html.cc records the sizes in the DOM),
// and the console must stay silent. A screenshot is kept in the build directory for people.
// Skipped, with a message, only when no chromium binary is installed.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/render.h"
#include "tests/reports/fixture.h"
#include "tests/testing/temp_dir.h"

namespace partita::reports {
namespace {

constexpr const char* kFlags =
    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
    " --disable-background-networking --disable-component-update --disable-sync"
    " --disable-extensions --disable-default-apps --mute-audio --hide-scrollbars"
    " --enable-logging=stderr --v=0";

std::string FindChromium() {
  for (const char* p :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs chromium with a fresh profile, bounded in time; returns its exit code.
int Chromium(const std::string& binary, const testing::TempDir& tmp, const std::string& profile,
             const std::string& args, const std::string& out, const std::string& log) {
  const std::string cmd = "HOME=" + tmp.path() + " timeout -k 5 120 " + binary + kFlags +
                          " --user-data-dir=" + tmp.File(profile) + " " + args + " > " + out +
                          " 2> " + log + " < /dev/null";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Attribute(const std::string& dom, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const std::size_t at = dom.find(key);
  if (at == std::string::npos) return "<absent>";
  const std::size_t start = at + key.size();
  return dom.substr(start, dom.find('"', start) - start);
}

struct ChartSize {
  std::string name;
  int width = 0, height = 0, elements = 0;
};

// "latency-cdf:523x382:19 cost-latency:..." as the page's check writes it.
std::vector<ChartSize> ParseSizes(const std::string& text) {
  std::vector<ChartSize> out;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    ChartSize c;
    const std::size_t colon = item.find(':'), x = item.find('x', colon), last = item.rfind(':');
    if (colon == std::string::npos || x == std::string::npos || last == colon) continue;
    c.name = item.substr(0, colon);
    c.width = std::atoi(item.substr(colon + 1, x - colon - 1).c_str());
    c.height = std::atoi(item.substr(x + 1, last - x - 1).c_str());
    c.elements = std::atoi(item.substr(last + 1).c_str());
    out.push_back(c);
  }
  return out;
}

TEST_CASE("The HTML report renders in headless Chromium: every chart has a size, no errors") {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    MESSAGE("SKIPPED: chromium is not installed; scripts/install-deps installs it");
    return;
  }
  testing::TempDir tmp;
  fixture::ScaleOptions options;
  options.requests_per_run = 8'000;
  options.devices = 600;
  options.policies = 3;
  const std::string db = tmp.File("city.db");
  REQUIRE(fixture::WriteScaleFixture(db, options).ok());
  Result<Report> report =
      BuildReport({db}, {"0.1.0", "partita report city.db --out report.html", 0});
  REQUIRE(report.ok());
  const std::string html = tmp.File("report.html");
  REQUIRE(WriteFile(html, RenderHtml(*report)).ok());
  const std::string url = "file://" + html;

  const int dumped =
      Chromium(chromium, tmp, "profile-dom", "--window-size=1280,900 --dump-dom " + url,
               tmp.File("dom.html"), tmp.File("dom.log"));
  const std::string dom = Slurp(tmp.File("dom.html"));
  const std::string dom_log = Slurp(tmp.File("dom.log"));
  INFO("chromium log:\n" << dom_log);
  REQUIRE(dumped == 0);
  const std::string expected = Attribute(dom, "data-charts-expected");
  CHECK(expected == "9");  // 2 CDFs, 2 scatter plots, tier mix, 3 tier-by-hour, battery
  CHECK(Attribute(dom, "data-charts-rendered") == expected);
  CHECK(Attribute(dom, "data-page-errors") == "<absent>");
  const std::string sizes = Attribute(dom, "data-chart-sizes");
  INFO("chart sizes: " << sizes);
  const std::vector<ChartSize> charts = ParseSizes(sizes);
  for (const ChartSize& c : charts) {
    CHECK_MESSAGE(c.width > 100, c.name);  // wide enough to read
    CHECK_MESSAGE(c.height > 50, c.name);
    CHECK_MESSAGE(c.elements > 3, c.name);  // something was drawn
  }
  CHECK(charts.size() == 9);
  CHECK(Attribute(dom, "data-tables-overflowing") == "");
  CHECK(dom_log.find(":CONSOLE(") == std::string::npos);

  const std::string png = tmp.File("report.png");
  const int shot = Chromium(chromium, tmp, "profile-shot",
                            "--window-size=1280,5600 --screenshot=" + png + " " + url,
                            tmp.File("shot.out"), tmp.File("shot.log"));
  const std::string shot_log = Slurp(tmp.File("shot.log"));
  INFO("chromium log:\n" << shot_log);
  REQUIRE(shot == 0);
  const std::string image = Slurp(png);
  REQUIRE(image.size() > 24);
  CHECK(image.compare(1, 3, "PNG") == 0);
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(image[at]) << 24) |
           (static_cast<unsigned char>(image[at + 1]) << 16) |
           (static_cast<unsigned char>(image[at + 2]) << 8) |
           static_cast<unsigned char>(image[at + 3]);
  };
  CHECK(be32(16) == 1280);
  CHECK(be32(20) == 5600);
  CHECK(image.size() > 100'000);  // a page of charts, not a blank canvas
  CHECK(shot_log.find(":CONSOLE(") == std::string::npos);
  std::error_code ec;
  const std::string kept = std::string(PARTITA_BINARY_DIR) + "/tests/reports/report-screenshot.png";
  std::filesystem::copy_file(png, kept, std::filesystem::copy_options::overwrite_existing, ec);
  std::filesystem::copy_file(html, std::string(PARTITA_BINARY_DIR) + "/tests/reports/report.html",
                             std::filesystem::copy_options::overwrite_existing, ec);
  MESSAGE("screenshot: " << kept);
}

TEST_CASE("Five runs fit a 1280 px window: no table needs a horizontal scrollbar") {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    MESSAGE("SKIPPED: chromium is not installed; scripts/install-deps installs it");
    return;
  }
  testing::TempDir tmp;
  fixture::ScaleOptions options;
  options.requests_per_run = 2'000;
  options.devices = 200;
  options.policies = 4;
  const std::string a = tmp.File("city.db"), b = tmp.File("more.db");
  REQUIRE(fixture::WriteScaleFixture(a, options).ok());
  options.policies = 1;
  REQUIRE(fixture::WriteScaleFixture(b, options).ok());
  // Five runs; the repeated label gets its file's name ("balanced (city.db)"), widening a column.
  Result<Report> report = BuildReport({a, b}, {"0.1.0", "partita report city.db more.db", 0});
  REQUIRE(report.ok());
  REQUIRE(report->runs.size() == 5);
  const std::string html = tmp.File("report.html");
  REQUIRE(WriteFile(html, RenderHtml(*report)).ok());
  const int dumped =
      Chromium(chromium, tmp, "profile-dom", "--window-size=1280,900 --dump-dom file://" + html,
               tmp.File("dom.html"), tmp.File("dom.log"));
  INFO("chromium log:\n" << Slurp(tmp.File("dom.log")));
  REQUIRE(dumped == 0);
  const std::string dom = Slurp(tmp.File("dom.html"));
  CHECK(Attribute(dom, "data-charts-rendered") == Attribute(dom, "data-charts-expected"));
  CHECK(Attribute(dom, "data-tables-overflowing") == "");
}

}  // namespace
}  // namespace partita::reports
