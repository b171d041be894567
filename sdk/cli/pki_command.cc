// `partita pki init` and `partita pki issue`: the deployment's private PKI.
#include <cstdio>
#include <filesystem>

#include "net/pki.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

namespace {

struct PkiInitArgs {
  std::string dir;
  int devices = 0;
  std::vector<std::string> device_ids;
  bool force = false;
  int days = 397;
  std::string household;
};

struct PkiIssueArgs {
  std::string dir;
  std::string kind = "device";
  std::string id;
  bool force = false;
  int days = 397;
  std::string household;
};

void PrintWritten(const net::PkiResult& result) {
  for (const std::string& f : result.files_written) std::printf("  wrote %s\n", f.c_str());
}

}  // namespace

void AddPkiCommands(CLI::App& app, int& exit_code) {
  CLI::App* pki = app.add_subcommand("pki", "Create and extend the deployment's private PKI");
  pki->require_subcommand(1);

  auto init_args = std::make_shared<PkiInitArgs>();
  CLI::App* init = pki->add_subcommand(
      "init",
      "Create a CA (ECDSA P-256), router and gateway certificates, and device certificates. "
      "Keys are written mode 0600.");
  init->add_option("--dir", init_args->dir, "Directory to create the PKI in")->required();
  init->add_option("--devices", init_args->devices,
                   "Number of numbered device certificates (device-0001, ...)")
      ->check(CLI::Range(0, 100000));
  init->add_option("--device", init_args->device_ids,
                   "A named device certificate (repeatable), e.g. --device speaker");
  init->add_flag("--force", init_args->force,
                 "Replace an existing CA (certificates it signed stop working)");
  init->add_option("--days", init_args->days,
                   "Validity of the router, gateway and device certificates, in days")
      ->check(CLI::Range(1, 3650))
      ->default_val(397);
  init->add_option("--household", init_args->household,
                   "Put every device certificate in this household (the router and phones then "
                   "trust it; see docs/security.md)");
  init->callback([init_args, &exit_code] {
    net::PkiInitOptions options;
    options.dir = init_args->dir;
    options.device_ids = init_args->device_ids;
    for (std::string& id : net::NumberedDeviceIds(init_args->devices)) {
      options.device_ids.push_back(std::move(id));
    }
    options.force = init_args->force;
    options.leaf_validity_days = init_args->days;
    options.household = init_args->household;
    Result<net::PkiResult> result = net::InitPki(options);
    if (!result.ok()) {
      PrintError(result.status().message());
      exit_code = 1;
      return;
    }
    std::printf("PKI created in %s: CA, router, gateway and %zu device certificate(s)\n",
                options.dir.c_str(), options.device_ids.size());
    PrintWritten(*result);
  });

  auto issue_args = std::make_shared<PkiIssueArgs>();
  CLI::App* issue = pki->add_subcommand(
      "issue", "Issue (or re-issue) one certificate with the CA of an existing PKI directory");
  issue->add_option("--dir", issue_args->dir, "PKI directory made by 'pki init'")->required();
  issue->add_option("--kind", issue_args->kind, "device, router or gateway")
      ->check(CLI::IsMember({"device", "router", "gateway"}))
      ->default_val("device");
  issue->add_option("--id", issue_args->id, "Identity name, e.g. kitchen-speaker")->required();
  issue->add_flag("--force", issue_args->force,
                  "Replace an existing certificate and key for this identity (or, for a router or "
                  "gateway, the deployment's one)");
  issue
      ->add_option("--days", issue_args->days,
                   "Validity in days; short-lived device certificates are renewed by issuing "
                   "again with --force, and daemons reload them without a restart")
      ->check(CLI::Range(1, 3650))
      ->default_val(397);
  issue->add_option("--household", issue_args->household,
                    "Device certificates: the household the device belongs to, on the CA's "
                    "authority");
  issue->callback([issue_args, &exit_code] {
    const net::PeerKind kind = issue_args->kind == "router"    ? net::PeerKind::kRouter
                               : issue_args->kind == "gateway" ? net::PeerKind::kGateway
                                                               : net::PeerKind::kDevice;
    const net::TlsFiles files =
        kind == net::PeerKind::kRouter    ? net::RouterTlsFiles(issue_args->dir)
        : kind == net::PeerKind::kGateway ? net::GatewayTlsFiles(issue_args->dir)
                                          : net::DeviceTlsFiles(issue_args->dir, issue_args->id);
    std::error_code ec;
    if (!issue_args->force && std::filesystem::exists(files.cert_file, ec)) {
      PrintError("'" + files.cert_file + "' already exists; pass --force to replace it");
      exit_code = 1;
      return;
    }
    Result<net::PkiResult> result = net::IssueCertificate(issue_args->dir, kind, issue_args->id,
                                                          issue_args->days, issue_args->household);
    if (!result.ok()) {
      PrintError(result.status().message());
      exit_code = 1;
      return;
    }
    std::printf(
        "issued spiffe://partita/%s/%s, valid %d days%s\n", issue_args->kind.c_str(),
        issue_args->id.c_str(), issue_args->days,
        issue_args->household.empty() ? "" : (", household " + issue_args->household).c_str());
    PrintWritten(*result);
  });
}

}  // namespace partita::cli
