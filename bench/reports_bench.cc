// How long `partita report` takes over a big run database: by default 5,000,000 requests (two
// policies of 2,500,000 over 100,000 devices, with hourly battery samples). The
// database is generated once through the request-log API (tests/reports/fixture.h) and cached
// in the build directory; each repetition then loads and aggregates it and renders every format.
//
//   reports_bench [--requests N] [--devices N] [--repeat R] [--threads T] [--db PATH]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench/flags.h"
#include "reports/format.h"
#include "reports/render.h"
#include "tests/reports/fixture.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU seconds used by this process so far (all threads): the machine is shared, so wall time
// alone can mislead.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace partita;
  std::uint64_t requests = 5'000'000;
  std::uint32_t devices = 100'000;
  int repeat = 3;
  int threads = 0;
  std::string db;
  bench::Flags(
      "usage: reports_bench [--requests N] [--devices N] [--repeat R] [--threads T] [--db PATH]")
      .Option("--requests", &requests)
      .Option("--devices", &devices)
      .Option("--repeat", &repeat)
      .Option("--threads", &threads)
      .Option("--db", &db)
      .Parse(argc, argv);
  if (db.empty()) {
    db = std::string(PARTITA_BINARY_DIR) + "/bench/reports-v2-" + std::to_string(requests) + "-" +
         std::to_string(devices) + ".db";
  }
  if (!std::filesystem::exists(db)) {
    std::printf("generating %s: %s requests, %s devices (once; cached)...\n", db.c_str(),
                reports::FormatCount(requests).c_str(), reports::FormatCount(devices).c_str());
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    reports::fixture::ScaleOptions options;
    options.requests_per_run = requests / 2;
    options.devices = devices;
    options.policies = 2;
    const std::string partial = db + ".partial";
    Status s = reports::fixture::WriteScaleFixture(partial, options);
    if (!s.ok()) {
      std::fprintf(stderr, "reports_bench: %s\n", s.message().c_str());
      return 1;
    }
    std::filesystem::rename(partial, db);
    std::printf("generated in %.1f s\n", Seconds(start));
  }
  std::printf("database %s: %.0f MB\n", db.c_str(),
              static_cast<double>(std::filesystem::file_size(db)) / 1e6);

  double best = 1e9;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    reports::BuildOptions options;
    options.partita_version = "bench";
    options.threads = threads;
    Result<reports::Report> report = reports::BuildReport({db}, options);
    if (!report.ok()) {
      std::fprintf(stderr, "reports_bench: %s\n", report.status().message().c_str());
      return 1;
    }
    const double load = Seconds(start);
    const auto render_start = std::chrono::steady_clock::now();
    std::size_t bytes = 0;
    for (reports::Format f : {reports::Format::kHtml, reports::Format::kMarkdown,
                              reports::Format::kCsv, reports::Format::kJson}) {
      bytes += reports::Render(*report, f).size();
    }
    const double render = Seconds(render_start);
    const double total = load + render;
    best = std::min(best, total);
    std::uint64_t rows = 0;
    for (const auto& in : report->inputs) rows += in.requests;
    std::printf(
        "run %d: %s requests in %zu run(s): load and aggregate %.2f s, render 4 formats "
        "%.3f s (%zu KB), total %.2f s wall, %.2f s CPU (%s requests/s)\n",
        r + 1, reports::FormatCount(rows).c_str(), report->runs.size(), load, render, bytes / 1024,
        total, CpuSeconds() - cpu_start,
        reports::FormatCount(static_cast<std::uint64_t>(static_cast<double>(rows) / total))
            .c_str());
  }
  std::printf("best: %.2f s for a report over %s requests (target: 5 s)\n", best,
              reports::FormatCount(requests).c_str());
  return 0;
}
