#include "net/pki.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace partita::net {

namespace {

namespace fs = std::filesystem;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string OpenSslError(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
  return std::string(what) + ": " + buf;
}

Result<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Internal(OpenSslError("EC key generation failed"));
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return Internal(OpenSslError(("bad extension " + value).c_str()));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return Internal(OpenSslError("cannot add extension"));
  return Status::Ok();
}

struct CertSpec {
  std::string common_name;
  std::string organizational_unit;  // "" = none
  int validity_days = 397;
  bool is_ca = false;
  std::string extended_key_usage;  // "serverAuth,clientAuth"
  std::string subject_alt_name;    // "URI:spiffe://...,IP:127.0.0.1"
};

Result<X509Ptr> MakeCertificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer_cert,
                                EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) return Internal(OpenSslError("X509_new"));
  X509_set_version(cert.get(), 2);  // v3

  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) {
    return Internal(OpenSslError("RAND_bytes"));
  }
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial_bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(serial_bn, nullptr);
  X509_set_serialNumber(cert.get(), serial);
  ASN1_INTEGER_free(serial);
  BN_free(serial_bn);

  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * spec.validity_days);
  X509_set_pubkey(cert.get(), subject_key);

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Partita"), -1, -1, 0);
  if (!spec.organizational_unit.empty()) {
    X509_NAME_add_entry_by_txt(
        name, "OU", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>(spec.organizational_unit.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* issuer = issuer_cert != nullptr ? issuer_cert : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  if (spec.is_ca) {
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature"));
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_ext_key_usage, spec.extended_key_usage));
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_subject_alt_name, spec.subject_alt_name));
  }
  PARTITA_RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash"));
  if (issuer_cert != nullptr) {
    PARTITA_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return Internal(OpenSslError("signing failed"));
  }
  return cert;
}

// Writes `data` to `path` with `mode`, replacing it atomically (write to a temp file, rename).
Status WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return IoError("cannot create '" + tmp + "': " + std::strerror(errno));
  ::fchmod(fd, mode);  // not subject to umask
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n <= 0) {
      ::close(fd);
      return IoError("cannot write '" + tmp + "': " + std::strerror(errno));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return IoError("cannot write '" + tmp + "': " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return IoError("cannot rename '" + tmp + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Status WriteKey(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal(OpenSslError("cannot encode private key"));
  }
  return WriteFileAtomic(path, BioContents(bio.get()), 0600);
}

Status WriteCert(const std::string& path, X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Internal(OpenSslError("cannot encode certificate"));
  }
  return WriteFileAtomic(path, BioContents(bio.get()), 0644);
}

Result<PkeyPtr> ReadKey(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return NotFound("cannot open '" + path + "'");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidArgument(OpenSslError(("cannot read key '" + path + "'").c_str()));
  return key;
}

Result<X509Ptr> ReadCert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return NotFound("cannot open '" + path + "'");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return InvalidArgument(OpenSslError(("cannot read '" + path + "'").c_str()));
  return cert;
}

std::string CertPath(const std::string& dir, PeerKind kind, const std::string& id) {
  if (kind == PeerKind::kDevice) return dir + "/devices/" + id + ".crt";
  return dir + "/" + std::string(PeerKindName(kind)) + ".crt";
}

std::string KeyPath(const std::string& dir, PeerKind kind, const std::string& id) {
  if (kind == PeerKind::kDevice) return dir + "/devices/" + id + ".key";
  return dir + "/" + std::string(PeerKindName(kind)) + ".key";
}

Status IssueWith(const std::string& dir, PeerKind kind, const std::string& id, int validity_days,
                 const std::string& household, X509* ca_cert, EVP_PKEY* ca_key, PkiResult& result) {
  if (!IsValidIdentityName(id)) {
    return InvalidArgument("'" + id + "' is not a valid identity (use letters, digits, . _ -)");
  }
  if (!household.empty() && (kind != PeerKind::kDevice || !IsValidIdentityName(household))) {
    return InvalidArgument(kind != PeerKind::kDevice
                               ? "only device certificates carry a household"
                               : "'" + household +
                                     "' is not a valid household name (letters, digits, . _ -)");
  }
  if (validity_days < 1) return InvalidArgument("a certificate must be valid for at least 1 day");
  Result<PkeyPtr> key = GenerateKey();
  if (!key.ok()) return key.status();
  PeerIdentity identity{kind, id};
  CertSpec spec;
  spec.common_name = std::string(PeerKindName(kind)) + " " + id;
  spec.validity_days = validity_days;
  if (!household.empty()) spec.organizational_unit = std::string(kHouseholdOuPrefix) + household;
  // Every identity both serves and connects: routers and gateways accept agents and call each
  // other; devices call the router and, as phones, accept offloads from household devices.
  spec.extended_key_usage = "serverAuth,clientAuth";
  spec.subject_alt_name = "URI:" + identity.Uri() + ",IP:127.0.0.1,IP:::1,DNS:localhost";
  Result<X509Ptr> cert = MakeCertificate(spec, key->get(), ca_cert, ca_key);
  if (!cert.ok()) return cert.status();
  const std::string key_path = KeyPath(dir, kind, id);
  const std::string cert_path = CertPath(dir, kind, id);
  PARTITA_RETURN_IF_ERROR(WriteKey(key_path, key->get()));
  PARTITA_RETURN_IF_ERROR(WriteCert(cert_path, cert->get()));
  result.files_written.push_back(cert_path);
  result.files_written.push_back(key_path);
  return Status::Ok();
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/devices", ec);
  if (ec) return IoError("cannot create '" + dir + "/devices': " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return Status::Ok();
}

}  // namespace

std::vector<std::string> NumberedDeviceIds(int count) {
  std::vector<std::string> ids;
  for (int i = 1; i <= count; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "device-%04d", i);
    ids.emplace_back(buf);
  }
  return ids;
}

Result<PkiResult> InitPki(const PkiInitOptions& options) {
  if (options.dir.empty()) return InvalidArgument("no PKI directory given");
  for (const std::string& id : options.device_ids) {
    if (!IsValidIdentityName(id)) {
      return InvalidArgument("'" + id + "' is not a valid device id (use letters, digits, . _ -)");
    }
  }
  const std::string ca_cert_path = options.dir + "/ca.crt";
  if (fs::exists(ca_cert_path) && !options.force) {
    return AlreadyExists("'" + ca_cert_path +
                         "' exists; use another directory, or --force to replace the CA "
                         "(every certificate signed by the old CA stops working)");
  }
  PARTITA_RETURN_IF_ERROR(MakeDirs(options.dir));
  PkiResult result;
  Result<PkeyPtr> ca_key = GenerateKey();
  if (!ca_key.ok()) return ca_key.status();
  CertSpec ca_spec;
  ca_spec.common_name = "Partita CA";
  ca_spec.validity_days = 3650;
  ca_spec.is_ca = true;
  Result<X509Ptr> ca_cert = MakeCertificate(ca_spec, ca_key->get(), nullptr, ca_key->get());
  if (!ca_cert.ok()) return ca_cert.status();
  PARTITA_RETURN_IF_ERROR(WriteKey(options.dir + "/ca.key", ca_key->get()));
  PARTITA_RETURN_IF_ERROR(WriteCert(ca_cert_path, ca_cert->get()));
  result.files_written.push_back(ca_cert_path);
  result.files_written.push_back(options.dir + "/ca.key");

  PARTITA_RETURN_IF_ERROR(IssueWith(options.dir, PeerKind::kRouter, "router",
                                    options.leaf_validity_days, "", ca_cert->get(), ca_key->get(),
                                    result));
  PARTITA_RETURN_IF_ERROR(IssueWith(options.dir, PeerKind::kGateway, "gateway",
                                    options.leaf_validity_days, "", ca_cert->get(), ca_key->get(),
                                    result));
  for (const std::string& id : options.device_ids) {
    PARTITA_RETURN_IF_ERROR(IssueWith(options.dir, PeerKind::kDevice, id,
                                      options.leaf_validity_days, options.household, ca_cert->get(),
                                      ca_key->get(), result));
  }
  return result;
}

Result<PkiResult> IssueCertificate(const std::string& dir, PeerKind kind, const std::string& id,
                                   int validity_days, const std::string& household) {
  Result<X509Ptr> ca_cert = ReadCert(dir + "/ca.crt");
  if (!ca_cert.ok()) {
    return ca_cert.status().WithContext("no CA in '" + dir + "' (run 'partita pki init' first)");
  }
  Result<PkeyPtr> ca_key = ReadKey(dir + "/ca.key");
  if (!ca_key.ok()) return ca_key.status();
  PARTITA_RETURN_IF_ERROR(MakeDirs(dir));
  PkiResult result;
  PARTITA_RETURN_IF_ERROR(
      IssueWith(dir, kind, id, validity_days, household, ca_cert->get(), ca_key->get(), result));
  return result;
}

TlsFiles RouterTlsFiles(const std::string& dir) {
  return {dir + "/ca.crt", dir + "/router.crt", dir + "/router.key"};
}

TlsFiles GatewayTlsFiles(const std::string& dir) {
  return {dir + "/ca.crt", dir + "/gateway.crt", dir + "/gateway.key"};
}

TlsFiles DeviceTlsFiles(const std::string& dir, const std::string& device_id) {
  return {dir + "/ca.crt", dir + "/devices/" + device_id + ".crt",
          dir + "/devices/" + device_id + ".key"};
}

}  // namespace partita::net
