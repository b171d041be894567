// A small private PKI for one Partita deployment, made with the OpenSSL API.
//
// Layout of a PKI directory (keys are written mode 0600, certificates 0644):
//   ca.crt ca.key                      ECDSA P-256 CA, 10 years, pathlen 0
//   router.crt router.key              server+client EKU, SAN 127.0.0.1, localhost,
//   gateway.crt gateway.key              spiffe://partita/{router,gateway}/{router,gateway}
//   devices/<id>.crt devices/<id>.key  clientAuth+serverAuth EKU (phones accept offloads),
//                                        SAN spiffe://partita/device/<id> (+127.0.0.1, localhost),
//                                        and with a household, Subject OU partita-household:<h>
// Functions are blocking file I/O: call them from a CLI or a test, never from an event loop.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "net/identity.h"
#include "net/tls.h"

namespace partita::net {

struct PkiInitOptions {
  std::string dir;
  std::vector<std::string> device_ids;  // device certificates to issue
  int leaf_validity_days = 397;
  bool force = false;     // replace an existing CA (otherwise an existing CA is an error)
  std::string household;  // written into every device certificate; "" = none
};

struct PkiResult {
  std::vector<std::string> files_written;
};

// Creates the CA, the router and gateway certificates, and one certificate per device id.
Result<PkiResult> InitPki(const PkiInitOptions& options);

// Issues (or re-issues) a certificate signed by the CA in `dir`. `household` (devices only)
// puts the device in a household on the CA's authority; "" = none.
Result<PkiResult> IssueCertificate(const std::string& dir, PeerKind kind, const std::string& id,
                                   int validity_days = 397, const std::string& household = "");

// "device-0001" ... for `count` devices.
std::vector<std::string> NumberedDeviceIds(int count);

TlsFiles RouterTlsFiles(const std::string& dir);
TlsFiles GatewayTlsFiles(const std::string& dir);
TlsFiles DeviceTlsFiles(const std::string& dir, const std::string& device_id);

}  // namespace partita::net
