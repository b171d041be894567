#include "net/identity.h"

#include <openssl/x509v3.h>

#include <memory>

namespace partita::net {

namespace {
constexpr std::string_view kPrefix = "spiffe://partita/";

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
}  // namespace

std::string_view PeerKindName(PeerKind kind) {
  switch (kind) {
    case PeerKind::kDevice: return "device";
    case PeerKind::kRouter: return "router";
    case PeerKind::kGateway: return "gateway";
  }
  return "device";
}

std::string PeerIdentity::Uri() const {
  std::string uri(kPrefix);
  uri += PeerKindName(kind);
  uri += '/';
  uri += id;
  return uri;
}

bool IsValidIdentityName(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return id != "." && id != "..";
}

Result<PeerIdentity> ParseIdentityUri(std::string_view uri) {
  if (!uri.starts_with(kPrefix)) {
    return InvalidArgument("identity URI does not start with spiffe://partita/");
  }
  std::string_view rest = uri.substr(kPrefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return InvalidArgument("identity URI has no id");
  const std::string_view kind = rest.substr(0, slash);
  const std::string_view id = rest.substr(slash + 1);
  PeerIdentity identity;
  if (kind == "device") {
    identity.kind = PeerKind::kDevice;
  } else if (kind == "router") {
    identity.kind = PeerKind::kRouter;
  } else if (kind == "gateway") {
    identity.kind = PeerKind::kGateway;
  } else {
    return InvalidArgument("identity kind '" + std::string(kind) +
                           "' is not device, router or gateway");
  }
  if (!IsValidIdentityName(id)) {
    return InvalidArgument("identity id '" + std::string(id) + "' is not a valid name");
  }
  identity.id = std::string(id);
  return identity;
}

Result<PeerIdentity> IdentityFromCertificate(X509* leaf, PeerRole role) {
  if (leaf == nullptr) return PermissionDenied("peer presented no certificate");
  if (X509_check_ca(leaf) != 0) {
    return PermissionDenied("peer certificate is a CA certificate, not a leaf");
  }
  const uint32_t xku = X509_get_extended_key_usage(leaf);
  const uint32_t need = role == PeerRole::kClient ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) == 0 || (xku & need) == 0) {
    return PermissionDenied(std::string("peer certificate lacks the ") +
                            (role == PeerRole::kClient ? "clientAuth" : "serverAuth") +
                            " extended key usage");
  }
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  std::string uri;
  int uri_count = 0;
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_URI) continue;
      ++uri_count;
      const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
      uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                 static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  if (uri_count == 0) return PermissionDenied("peer certificate has no URI SAN identity");
  if (uri_count > 1) {
    return PermissionDenied("peer certificate has " + std::to_string(uri_count) +
                            " URI SANs; exactly one identity is allowed");
  }
  Result<PeerIdentity> identity = ParseIdentityUri(uri);
  if (!identity.ok()) return PermissionDenied(identity.status().message());
  // The household, from a Subject OU the CA wrote (at most one).
  const X509_NAME* subject = X509_get_subject_name(leaf);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, i)) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    const std::string_view ou(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                              static_cast<std::size_t>(ASN1_STRING_length(value)));
    if (!ou.starts_with(kHouseholdOuPrefix)) continue;
    const std::string_view household = ou.substr(kHouseholdOuPrefix.size());
    if (!identity->household.empty() || !IsValidIdentityName(household)) {
      return PermissionDenied("peer certificate has a bad or second household OU");
    }
    identity->household = std::string(household);
  }
  return identity;
}

Result<PeerIdentity> PeerIdentityOf(SSL* ssl, PeerRole peer_role) {
  if (ssl == nullptr) return Internal("no TLS session");
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return PermissionDenied(std::string("peer certificate did not verify: ") +
                            X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
  }
  X509* leaf = SSL_get0_peer_certificate(ssl);
  return IdentityFromCertificate(leaf, peer_role);
}

}  // namespace partita::net
