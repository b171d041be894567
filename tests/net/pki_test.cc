#include "net/pki.h"

#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "tests/testing/temp_dir.h"

namespace partita::net {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f != nullptr);
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  REQUIRE(cert);
  return cert;
}

int Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

TEST_CASE("pki init writes a CA, router, gateway and device certificates with 0600 keys") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("pki");
  PkiInitOptions options;
  options.dir = dir;
  options.device_ids = {"speaker", "phone"};
  for (auto& id : NumberedDeviceIds(2)) options.device_ids.push_back(id);
  Result<PkiResult> result = InitPki(options);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(result->files_written.size() == 2 + 2 + 2 + 2 * 4);
  for (const std::string& f : result->files_written) {
    const bool key = f.ends_with(".key");
    CHECK_MESSAGE(Mode(f) == (key ? 0600 : 0644), f);
  }
  CHECK(std::filesystem::exists(dir + "/devices/device-0002.crt"));

  X509Ptr ca = ReadCert(dir + "/ca.crt");
  CHECK(X509_check_ca(ca.get()) != 0);

  X509Ptr router = ReadCert(dir + "/router.crt");
  Result<PeerIdentity> id = IdentityFromCertificate(router.get(), PeerRole::kServer);
  REQUIRE_MESSAGE(id.ok(), id.status().ToString());
  CHECK(id->kind == PeerKind::kRouter);
  CHECK(id->Uri() == "spiffe://partita/router/router");
  CHECK(X509_check_ip_asc(router.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(router.get(), "localhost", 0, 0, nullptr) == 1);

  X509Ptr phone = ReadCert(dir + "/devices/phone.crt");
  Result<PeerIdentity> pid = IdentityFromCertificate(phone.get(), PeerRole::kClient);
  REQUIRE(pid.ok());
  CHECK(pid->kind == PeerKind::kDevice);
  CHECK(pid->id == "phone");

  // Each leaf verifies against the CA.
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, phone.get(), nullptr);
  CHECK(X509_verify_cert(ctx) == 1);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
}

TEST_CASE("pki init refuses to overwrite a CA unless forced, and refuses bad ids") {
  testing::TempDir tmp;
  PkiInitOptions options;
  options.dir = tmp.File("pki");
  REQUIRE(InitPki(options).ok());
  Result<PkiResult> again = InitPki(options);
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  options.force = true;
  CHECK(InitPki(options).ok());
  options.device_ids = {"bad/id"};
  CHECK(InitPki(options).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("pki issue adds a device with the existing CA") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("pki");
  PkiInitOptions options;
  options.dir = dir;
  REQUIRE(InitPki(options).ok());
  Result<PkiResult> r = IssueCertificate(dir, PeerKind::kDevice, "car");
  REQUIRE(r.ok());
  X509Ptr car = ReadCert(dir + "/devices/car.crt");
  CHECK(IdentityFromCertificate(car.get(), PeerRole::kClient)->id == "car");
  CHECK(IssueCertificate(tmp.File("nowhere"), PeerKind::kDevice, "x").status().code() ==
        StatusCode::kNotFound);
}

}  // namespace
}  // namespace partita::net
