// Peer identities carried in certificates, and the checks that make a certificate acceptable.
//
// Every Partita certificate names exactly one identity as a URI SAN of the form
// spiffe://partita/<kind>/<id>, kind being device, router or gateway. The TLS layer accepts a
// peer only if its chain verifies against the Partita CA and its leaf certificate has exactly
// one such URI SAN, is not a CA, and carries the extended key usage its role needs (clientAuth
// for connecting peers, serverAuth for servers). Pure functions over OpenSSL objects; safe from
// any thread.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace partita::net {

enum class PeerKind { kDevice, kRouter, kGateway };

std::string_view PeerKindName(PeerKind kind);

struct PeerIdentity {
  PeerKind kind = PeerKind::kDevice;
  std::string id;  // [A-Za-z0-9._-]{1,64}
  // The household the CA put in the certificate (a Subject OU "partita-household:<name>",
  // see net/pki.h); "" = none. An authority for household membership, unlike what a device
  // says of itself.
  std::string household;

  std::string Uri() const;  // spiffe://partita/<kind>/<id>
  bool operator==(const PeerIdentity&) const = default;
};

// The Subject OU prefix that carries a device's household in its certificate.
inline constexpr std::string_view kHouseholdOuPrefix = "partita-household:";

// Parses "spiffe://partita/<kind>/<id>".
Result<PeerIdentity> ParseIdentityUri(std::string_view uri);

// Whether `id` is a valid identity name (also used for device ids in configs).
bool IsValidIdentityName(std::string_view id);
// What a valid name is, for error messages: "a device id ([A-Za-z0-9._-], 1 to 64)".
inline constexpr std::string_view kDeviceIdRule = "a device id ([A-Za-z0-9._-], 1 to 64)";

// Which end of a connection the certificate belongs to; decides the EKU it must carry.
enum class PeerRole { kClient, kServer };

// Checks a leaf certificate: one partita URI SAN, not a CA, EKU for `role`.
Result<PeerIdentity> IdentityFromCertificate(X509* leaf, PeerRole role);

// The verified identity of the peer of an established TLS connection.
Result<PeerIdentity> PeerIdentityOf(SSL* ssl, PeerRole peer_role);

}  // namespace partita::net
