#include "net/identity.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace partita::net {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// A self-signed certificate with the given extensions, for exercising the identity checks.
X509Ptr MakeCert(const std::vector<std::pair<int, std::string>>& extensions) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  for (const auto& [nid, value] : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key, EVP_sha256());
  EVP_PKEY_free(key);
  return cert;
}

TEST_CASE("Identity URIs parse strictly") {
  auto ok = ParseIdentityUri("spiffe://partita/device/kitchen-speaker");
  REQUIRE(ok.ok());
  CHECK(ok->kind == PeerKind::kDevice);
  CHECK(ok->id == "kitchen-speaker");
  CHECK_FALSE(ParseIdentityUri("spiffe://other/device/x").ok());
  CHECK_FALSE(ParseIdentityUri("spiffe://partita/printer/x").ok());
  CHECK_FALSE(ParseIdentityUri("spiffe://partita/device/").ok());
  CHECK_FALSE(ParseIdentityUri("spiffe://partita/device/a/b").ok());
  CHECK_FALSE(ParseIdentityUri("spiffe://partita/device/..").ok());
}

TEST_CASE("A leaf with one partita URI SAN and the right EKU is accepted") {
  X509Ptr cert = MakeCert({{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_ext_key_usage, "clientAuth"},
                           {NID_subject_alt_name, "URI:spiffe://partita/device/car,IP:127.0.0.1"}});
  auto id = IdentityFromCertificate(cert.get(), PeerRole::kClient);
  REQUIRE_MESSAGE(id.ok(), id.status().ToString());
  CHECK(id->id == "car");
}

TEST_CASE("Certificates without exactly one URI SAN are refused") {
  X509Ptr none =
      MakeCert({{NID_ext_key_usage, "clientAuth"}, {NID_subject_alt_name, "DNS:localhost"}});
  CHECK(IdentityFromCertificate(none.get(), PeerRole::kClient).status().message() ==
        "peer certificate has no URI SAN identity");
  X509Ptr two = MakeCert(
      {{NID_ext_key_usage, "clientAuth"},
       {NID_subject_alt_name, "URI:spiffe://partita/device/a,URI:spiffe://partita/device/b"}});
  CHECK(IdentityFromCertificate(two.get(), PeerRole::kClient).status().message() ==
        "peer certificate has 2 URI SANs; exactly one identity is allowed");
}

TEST_CASE("A CA certificate used as a leaf, or a wrong EKU, is refused") {
  X509Ptr ca = MakeCert({{NID_basic_constraints, "critical,CA:TRUE"},
                         {NID_ext_key_usage, "clientAuth"},
                         {NID_subject_alt_name, "URI:spiffe://partita/device/x"}});
  CHECK(IdentityFromCertificate(ca.get(), PeerRole::kClient).status().code() ==
        StatusCode::kPermissionDenied);
  X509Ptr server_only = MakeCert(
      {{NID_ext_key_usage, "serverAuth"}, {NID_subject_alt_name, "URI:spiffe://partita/device/x"}});
  CHECK(IdentityFromCertificate(server_only.get(), PeerRole::kClient).status().message() ==
        "peer certificate lacks the clientAuth extended key usage");
  X509Ptr no_eku = MakeCert({{NID_subject_alt_name, "URI:spiffe://partita/device/x"}});
  CHECK_FALSE(IdentityFromCertificate(no_eku.get(), PeerRole::kServer).ok());
}

}  // namespace
}  // namespace partita::net
