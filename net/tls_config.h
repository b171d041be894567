// Reading the TLS files of a daemon config: either `pki_dir: DIR` (a directory made by
// `partita pki init`) or `tls: {ca, cert, key}`. Shared by the router and agent configs.
#pragma once

#include <functional>
#include <string>

#include "common/diagnostic.h"
#include "common/yaml_reader.h"
#include "net/tls.h"

namespace partita::net {

// `files_in_pki_dir` maps a PKI directory to this daemon's files (RouterTlsFiles, ...).
// Relative paths resolve against `base_dir`. Errors are located in `d`.
TlsFiles ReadTlsFiles(const yaml::MapReader& config, Diagnostics& d, const std::string& base_dir,
                      const std::function<TlsFiles(const std::string& pki_dir)>& files_in_pki_dir);

}  // namespace partita::net
