// `partita demo`: the end-to-end tour. Until the router, agents and gateway land, it shows
// what exists: a fresh PKI and the device catalog. It says so plainly.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "device_profiles/catalog_loader.h"
#include "net/pki.h"
#include "sdk/cli/commands.h"

namespace partita::cli {

void AddDemoCommands(CLI::App& app, int& exit_code) {
  CLI::App* demo = app.add_subcommand("demo", "A tour of Partita on loopback");
  demo->callback([&exit_code] {
    char templ[] = "/tmp/partita-demo-XXXXXX";
    if (mkdtemp(templ) == nullptr) {
      PrintError("cannot create a temporary directory");
      exit_code = 1;
      return;
    }
    const std::string dir = templ;
    std::printf("Partita demo (foundation stage)\n\n");
    std::printf("1. A fresh PKI for this demo in %s/pki\n", dir.c_str());
    net::PkiInitOptions options;
    options.dir = dir + "/pki";
    options.device_ids = {"speaker", "phone", "car"};
    Result<net::PkiResult> pki = net::InitPki(options);
    if (!pki.ok()) {
      PrintError(pki.status().message());
      exit_code = 1;
      return;
    }
    std::printf("   CA, router, gateway and 3 device certificates (ECDSA P-256, keys 0600)\n\n");
    CatalogPtr catalog = DefaultCatalog();
    std::printf("2. The device catalog: %zu device classes, %zu models (partita profiles list)\n",
                catalog->devices().size(), catalog->models().size());
    std::printf(
        "\nThe router, the agents, the gateway and the fleet simulator are not built yet; this\n"
        "demo grows with them. Run `make test` to exercise what exists.\n");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
}

}  // namespace partita::cli
