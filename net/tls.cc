#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <mutex>

#include "common/file_stamp.h"
#include "common/log.h"

namespace partita::net {

namespace asio = boost::asio;

namespace {

constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256";

// Per-SSL slot holding the identity-check message of a failed verification, for logs.
void FreeIdentityError(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int IdentityErrorIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeIdentityError);
  return index;
}

void SetIdentityError(SSL* ssl, std::string message) {
  if (ssl == nullptr) return;
  auto* existing = static_cast<std::string*>(SSL_get_ex_data(ssl, IdentityErrorIndex()));
  if (existing != nullptr) {
    *existing = std::move(message);
  } else {
    SSL_set_ex_data(ssl, IdentityErrorIndex(), new std::string(std::move(message)));
  }
}

const std::string* GetIdentityError(SSL* ssl) {
  if (ssl == nullptr) return nullptr;
  return static_cast<const std::string*>(SSL_get_ex_data(ssl, IdentityErrorIndex()));
}

Status CheckKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound("private key '" + path + "' not found");
  if ((st.st_mode & 077) != 0) {
    LogWarn("tls",
            "private key '" + path + "' is readable by group or others; run chmod 600 on it");
  }
  return Status::Ok();
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// A context's own certificate chain and key, swapped whole when their files change. The
// context's certificate callback hands the current pair to every new handshake.
class Credentials {
 public:
  explicit Credentials(TlsFiles files) : files_(std::move(files)) {}
  ~Credentials() { Free(); }

  // Loads the pair; on error the current one (if any) stays.
  Status Load() {
    const std::string stamp = Stamp();
    Result<Pair> pair = ReadPair();
    if (!pair.ok()) return pair.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (pair_.leaf != nullptr) {
      Result<PeerIdentity> old_id = IdentityFromCertificate(pair_.leaf, PeerRole::kServer);
      Result<PeerIdentity> new_id = IdentityFromCertificate(pair->leaf, PeerRole::kServer);
      if (old_id.ok() && new_id.ok() && old_id->Uri() != new_id->Uri()) {
        Pair(*pair).Free();
        return InvalidArgument("the new certificate '" + files_.cert_file + "' is for " +
                               new_id->Uri() + ", not " + old_id->Uri());
      }
    }
    pair_.Free();
    pair_ = *pair;
    stamp_ = stamp;
    return Status::Ok();
  }

  // The files changed since the last load (or the last failed attempt).
  bool Changed() {
    const std::string stamp = Stamp();
    std::lock_guard<std::mutex> lock(mu_);
    return stamp != stamp_ && stamp != failed_stamp_;
  }
  void Failed() {
    const std::string stamp = Stamp();
    std::lock_guard<std::mutex> lock(mu_);
    failed_stamp_ = stamp;
  }

  // OpenSSL's certificate callback: the current pair for this handshake.
  static int Apply(SSL* ssl, void* arg) {
    auto* self = static_cast<Credentials*>(arg);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->pair_.leaf == nullptr) return 0;
    return SSL_use_cert_and_key(ssl, self->pair_.leaf, self->pair_.key, self->pair_.chain, 1);
  }

  const TlsFiles& files() const { return files_; }

 private:
  struct Pair {
    X509* leaf = nullptr;
    EVP_PKEY* key = nullptr;
    STACK_OF(X509) * chain = nullptr;
    void Free() {
      X509_free(leaf);
      EVP_PKEY_free(key);
      sk_X509_pop_free(chain, X509_free);
      leaf = nullptr;
      key = nullptr;
      chain = nullptr;
    }
  };

  std::string Stamp() const {
    return FileStamp(files_.cert_file) + "|" + FileStamp(files_.key_file);
  }

  Result<Pair> ReadPair() const {
    Pair p;
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_file(files_.cert_file.c_str(), "r"),
                                                       BIO_free);
    if (!cert_bio) return InvalidArgument("cannot read certificate '" + files_.cert_file + "'");
    p.leaf = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
    if (p.leaf == nullptr) {
      return InvalidArgument("cannot load certificate '" + files_.cert_file +
                             "': " + OpenSslError());
    }
    p.chain = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(p.chain, extra);
    }
    ERR_clear_error();  // the end of the file
    std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_file(files_.key_file.c_str(), "r"),
                                                      BIO_free);
    if (key_bio) p.key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
    if (p.key == nullptr) {
      p.Free();
      return InvalidArgument("cannot load private key '" + files_.key_file +
                             "': " + OpenSslError());
    }
    if (X509_check_private_key(p.leaf, p.key) != 1) {
      p.Free();
      ERR_clear_error();
      return InvalidArgument("private key '" + files_.key_file + "' does not match certificate '" +
                             files_.cert_file + "'");
    }
    return p;
  }

  void Free() {
    std::lock_guard<std::mutex> lock(mu_);
    pair_.Free();
  }

  const TlsFiles files_;
  std::mutex mu_;
  Pair pair_;                 // guarded by mu_
  std::string stamp_;         // guarded by mu_: the files' stamp when pair_ was loaded
  std::string failed_stamp_;  // guarded by mu_: a stamp that did not load (said once)
};

// Every context's credentials, for ReloadChangedCertificates().
struct CredentialsRegistry {
  std::mutex mu;
  std::vector<std::weak_ptr<Credentials>> all;  // guarded by mu
};

CredentialsRegistry& Registry() {
  static CredentialsRegistry* registry = new CredentialsRegistry();  // never destroyed
  return *registry;
}

// The context owns its credentials through this ex_data slot.
void FreeCredentials(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::shared_ptr<Credentials>*>(ptr);
}

int CredentialsIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeCredentials);
  return index;
}

Result<TlsContextPtr> MakeContext(const TlsFiles& files, PeerRole peer_role,
                                  std::vector<PeerKind> peer_kinds) {
  const bool server = peer_role == PeerRole::kClient;
  auto ctx = std::make_shared<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                         : asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Internal("cannot restrict TLS to 1.3: " + OpenSslError());
  }
  if (SSL_CTX_set_ciphersuites(native, kCipherSuites) != 1) {
    return Internal("cannot set TLS 1.3 cipher suites: " + OpenSslError());
  }
  if (SSL_CTX_set1_groups_list(native, kGroups) != 1) {
    return Internal("cannot set key exchange groups: " + OpenSslError());
  }
  SSL_CTX_set_max_early_data(native, 0);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);

  if (SSL_CTX_load_verify_locations(native, files.ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument("cannot load CA certificate '" + files.ca_file + "': " + OpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(native, files.cert_file.c_str()) != 1) {
    return InvalidArgument("cannot load certificate '" + files.cert_file + "': " + OpenSslError());
  }
  PARTITA_RETURN_IF_ERROR(CheckKeyFile(files.key_file));
  if (SSL_CTX_use_PrivateKey_file(native, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("cannot load private key '" + files.key_file + "': " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgument("private key '" + files.key_file + "' does not match certificate '" +
                           files.cert_file + "'");
  }
  // The pair each handshake presents comes from the credentials, which a rotation replaces.
  auto credentials = std::make_shared<Credentials>(files);
  PARTITA_RETURN_IF_ERROR(credentials->Load());
  SSL_CTX_set_ex_data(native, CredentialsIndex(), new std::shared_ptr<Credentials>(credentials));
  SSL_CTX_set_cert_cb(native, &Credentials::Apply, credentials.get());
  {
    CredentialsRegistry& r = Registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::erase_if(r.all, [](const std::weak_ptr<Credentials>& w) { return w.expired(); });
    r.all.push_back(credentials);
  }
  // Chain verification checks the peer's purpose (EKU) too.
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(native);
  X509_VERIFY_PARAM_set_purpose(param, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);

  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  ctx->set_verify_callback([peer_role, peer_kinds = std::move(peer_kinds)](
                               bool preverified, asio::ssl::verify_context& vctx) {
    X509_STORE_CTX* store = vctx.native_handle();
    SSL* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!preverified) {
      const int err = X509_STORE_CTX_get_error(store);
      SetIdentityError(ssl, std::string("certificate chain did not verify: ") +
                                X509_verify_cert_error_string(err));
      return false;
    }
    if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
    X509* leaf = X509_STORE_CTX_get_current_cert(store);
    Result<PeerIdentity> identity = IdentityFromCertificate(leaf, peer_role);
    if (!identity.ok()) {
      SetIdentityError(ssl, identity.status().message());
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return false;
    }
    for (PeerKind k : peer_kinds) {
      if (k == identity->kind) return true;
    }
    SetIdentityError(ssl, "peer identity " + identity->Uri() + " is not of an accepted kind");
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return false;
  });
  return ctx;
}

}  // namespace

int ReloadChangedCertificates() {
  std::vector<std::shared_ptr<Credentials>> live;
  {
    CredentialsRegistry& r = Registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const std::weak_ptr<Credentials>& w : r.all) {
      if (std::shared_ptr<Credentials> c = w.lock()) live.push_back(std::move(c));
    }
  }
  int reloaded = 0;
  for (const std::shared_ptr<Credentials>& c : live) {
    if (!c->Changed()) continue;
    if (Status s = c->Load(); s.ok()) {
      ++reloaded;
      LogInfo("tls", "certificate '" + c->files().cert_file +
                         "' changed: new connections present the new one");
    } else {
      c->Failed();
      LogError("tls", "certificate '" + c->files().cert_file +
                          "' changed but is refused, the previous one stays: " + s.message());
    }
  }
  return reloaded;
}

Result<TlsContextPtr> MakeServerTlsContext(const TlsFiles& files,
                                           std::vector<PeerKind> client_kinds) {
  return MakeContext(files, PeerRole::kClient, std::move(client_kinds));
}

Result<TlsContextPtr> MakeClientTlsContext(const TlsFiles& files,
                                           std::vector<PeerKind> server_kinds) {
  return MakeContext(files, PeerRole::kServer, std::move(server_kinds));
}

const char* HandshakeFailureLabel(HandshakeFailure reason) {
  switch (reason) {
    case HandshakeFailure::kNoCertificate: return "no_certificate";
    case HandshakeFailure::kUntrustedCertificate: return "untrusted_certificate";
    case HandshakeFailure::kBadIdentity: return "bad_identity";
    case HandshakeFailure::kProtocolVersion: return "protocol_version";
    case HandshakeFailure::kTimeout: return "handshake_timeout";
    case HandshakeFailure::kNotTls: return "not_tls";
    case HandshakeFailure::kTooManyConnections: return "too_many_connections";
    case HandshakeFailure::kOther:
    case HandshakeFailure::kCount: return "other";
  }
  return "other";
}

HandshakeFailure ClassifyHandshakeFailure(const boost::system::error_code& ec, SSL* ssl) {
  if (ec == asio::error::operation_aborted || ec == asio::error::timed_out ||
      ec.message().find("timeout") != std::string::npos) {
    return HandshakeFailure::kTimeout;
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    switch (reason) {
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: return HandshakeFailure::kNoCertificate;
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return reason == SSL_R_WRONG_VERSION_NUMBER ? HandshakeFailure::kNotTls
                                                    : HandshakeFailure::kProtocolVersion;
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH: return HandshakeFailure::kNotTls;
      case SSL_R_CERTIFICATE_VERIFY_FAILED: {
        const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
        return verify == X509_V_ERR_APPLICATION_VERIFICATION
                   ? HandshakeFailure::kBadIdentity
                   : HandshakeFailure::kUntrustedCertificate;
      }
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA: return HandshakeFailure::kUntrustedCertificate;
      default: break;
    }
  }
  return HandshakeFailure::kOther;
}

std::string DescribeHandshakeFailure(const boost::system::error_code& ec, SSL* ssl) {
  std::string out = HandshakeFailureLabel(ClassifyHandshakeFailure(ec, ssl));
  out += ": ";
  if (const std::string* detail = GetIdentityError(ssl); detail != nullptr && !detail->empty()) {
    out += *detail;
  } else {
    out += ec.message();
  }
  return out;
}

}  // namespace partita::net
