// TLS 1.3 contexts with mutual authentication, the only TLS Partita speaks.
//
// Both ends require TLS 1.3, AEAD cipher suites, X25519 or P-256 key exchange, no 0-RTT early
// data, and a peer certificate that chains to the Partita CA. Certificate verification also runs
// the identity checks of identity.h, so a certificate without exactly one partita URI SAN, a CA
// used as a leaf, a wrong EKU or a peer of an unexpected kind fails the handshake itself.
// A context may be shared by all threads. Its own certificate and key are the only thing that
// changes: ReloadChangedCertificates() re-reads them when their files change (rotation without a
// restart); each new handshake takes the pair current then.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/identity.h"

namespace partita::net {

// PEM files of one identity and the CA that signs every Partita certificate.
struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// Server side: requires a client certificate of one of `client_kinds`.
Result<TlsContextPtr> MakeServerTlsContext(const TlsFiles& files,
                                           std::vector<PeerKind> client_kinds);
// Client side: requires a server certificate of one of `server_kinds`.
Result<TlsContextPtr> MakeClientTlsContext(const TlsFiles& files,
                                           std::vector<PeerKind> server_kinds);

// Re-reads the certificate and key of every live context whose files changed since they were
// loaded: new handshakes present the new pair, connections already open keep theirs. A pair that
// does not load, does not match, or names another identity is refused and logged (once per
// change), and the previous pair stays. Returns how many contexts took a new pair. Daemons call
// it every second (sdk/cli/daemon.h); any thread.
int ReloadChangedCertificates();

// Why a handshake failed, coarse enough to be a metrics label.
enum class HandshakeFailure {
  kNoCertificate,         // the client sent no certificate
  kUntrustedCertificate,  // the chain does not verify against the Partita CA (or expired)
  kBadIdentity,           // verified chain, but the leaf fails the identity checks
  kProtocolVersion,       // not TLS 1.3 (e.g. a TLS 1.2-only client)
  kTimeout,               // the handshake did not finish before its deadline
  kNotTls,                // the peer did not speak TLS at all
  kTooManyConnections,    // its identity already holds the most connections the listener allows
  kOther,
  kCount,  // the number of reasons (sizes per-reason counters), not a reason
};
inline constexpr std::size_t kHandshakeFailureCount =
    static_cast<std::size_t>(HandshakeFailure::kCount);

const char* HandshakeFailureLabel(HandshakeFailure reason);  // "no_certificate", ...

// Classifies a failed handshake from its error and the SSL object it ran on.
HandshakeFailure ClassifyHandshakeFailure(const boost::system::error_code& ec, SSL* ssl);

// A one-line description of a failed handshake for logs, including the identity check that
// failed when there was one ("peer certificate has 2 URI SANs; exactly one identity is allowed").
std::string DescribeHandshakeFailure(const boost::system::error_code& ec, SSL* ssl);

}  // namespace partita::net
