#include "net/tls_config.h"

namespace partita::net {

TlsFiles ReadTlsFiles(const yaml::MapReader& config, Diagnostics& d, const std::string& base_dir,
                      const std::function<TlsFiles(const std::string& pki_dir)>& files_in_pki_dir) {
  TlsFiles files;
  const yaml::Node* tls = config.Get("tls");
  const yaml::Node* pki = config.Get("pki_dir");
  if (tls != nullptr && pki != nullptr) {
    d.Error(pki->location, "give either 'tls' or 'pki_dir', not both");
  } else if (pki != nullptr) {
    if (auto dir = yaml::ReadString(*pki, d, "pki_dir")) {
      files = files_in_pki_dir(yaml::ResolvePath(base_dir, *dir));
    }
  } else if (tls != nullptr) {
    yaml::MapReader t(*tls, d, "tls", {"ca", "cert", "key"});
    files.ca_file = yaml::ResolvePath(base_dir, t.RequireString("ca").value_or(""));
    files.cert_file = yaml::ResolvePath(base_dir, t.RequireString("cert").value_or(""));
    files.key_file = yaml::ResolvePath(base_dir, t.RequireString("key").value_or(""));
  } else {
    d.Error(config.node().location, "missing 'pki_dir' (or 'tls: {ca, cert, key}')");
  }
  return files;
}

}  // namespace partita::net
