// `partita report`: tradeoff reports from run databases and router decision logs.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "reports/format.h"
#include "reports/render.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string out;
  std::string format;
  int threads = 0;
  bool quiet = false;
};

std::string Quote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t'\"\\$`") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int RunReport(const ReportArgs& args) {
  std::optional<reports::Format> format;
  if (!args.format.empty()) {
    format = reports::ParseFormat(args.format);
  } else if (args.out == "-") {
    format = reports::Format::kMarkdown;
  } else {
    format = reports::FormatFromPath(args.out);
    if (!format) {
      PrintError("cannot tell the format from '" + args.out +
                 "': end --out with .html, .md, .csv or .json, or give --format "
                 "html|md|csv|json");
      return 1;
    }
  }
  for (const std::string& in : args.inputs) {
    std::error_code ec;
    if (args.out != "-" && std::filesystem::equivalent(in, args.out, ec)) {
      PrintError("--out '" + args.out +
                 "' is one of the inputs; choose another file for the report");
      return 1;
    }
  }
  std::string command = "partita report";
  for (const std::string& in : args.inputs) command += " " + Quote(in);
  command += " --out " + Quote(args.out);
  if (!args.format.empty()) command += " --format " + args.format;

  reports::BuildOptions options;
  options.partita_version = PARTITA_VERSION;
  options.command = command;
  options.threads = args.threads;
  const auto start = std::chrono::steady_clock::now();
  Result<reports::Report> report = reports::BuildReport(args.inputs, options);
  if (!report.ok()) {
    PrintError(report.status().message());
    return 1;
  }
  Status written = reports::WriteFile(args.out, reports::Render(*report, *format));
  if (!written.ok()) {
    PrintError(written.message());
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.quiet || args.out == "-") return 0;
  std::vector<std::uint64_t> requests;
  for (const reports::RunFigures& r : report->runs) requests.push_back(r.requests);
  std::printf("wrote %s (%s): %zu run(s), %s, in %.1f s\n", args.out.c_str(),
              std::string(reports::FormatName(*format)).c_str(), report->runs.size(),
              reports::RequestsPerRun(requests).c_str(), secs);
  for (const reports::Finding& f : report->findings) {
    if (f.kind == reports::Finding::Kind::kData) continue;
    std::printf("  - %s\n", f.text.c_str());
  }
  if (*format == reports::Format::kHtml) {
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(args.out, ec);
    std::printf("open it in a browser: file://%s\n", (ec ? args.out : abs.string()).c_str());
  }
  return 0;
}

}  // namespace

void AddReportCommands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report",
      "Compare every run in simulation databases and router decision logs: latency, cost, "
      "energy, battery and quality, with findings in plain language");
  report->add_option("runs", args->inputs, "Run databases (partita sim --out) or decision logs")
      ->required()
      ->expected(1, -1);
  report
      ->add_option("--out", args->out,
                   "File to write (its extension picks the format); '-' writes Markdown to "
                   "standard output")
      ->required();
  report
      ->add_option("--format", args->format,
                   "html (one self-contained page), md, csv (one figure per row) or json")
      ->check(CLI::IsMember({"html", "md", "markdown", "csv", "json"}));
  report->add_option("--threads", args->threads, "Scan threads per file (default: automatic)")
      ->check(CLI::Range(0, 64));
  report->add_flag("--quiet,-q", args->quiet, "Print nothing on success");
  report->callback([args, &exit_code] { exit_code = RunReport(*args); });
}

}  // namespace partita::cli
