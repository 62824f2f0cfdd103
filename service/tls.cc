#include "service/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

// A PEM file's certificates: the first, and the rest (intermediates) as a new stack.
bool ReadCertificates(const std::string& path, X509** leaf, STACK_OF(X509) * *chain) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return false;
  *leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  *chain = sk_X509_new_null();
  while (X509* next = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    sk_X509_push(*chain, next);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  if (*leaf != nullptr) return true;
  sk_X509_pop_free(*chain, X509_free);
  *chain = nullptr;
  return false;
}

EVP_PKEY* ReadKey(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

X509_STORE* ReadCaStore(const std::string& path) {
  X509_STORE* store = X509_STORE_new();
  if (store != nullptr && X509_STORE_load_file(store, path.c_str()) == 1) return store;
  X509_STORE_free(store);
  return nullptr;
}

std::string OpenSslError() {
  char buffer[256] = "unknown error";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, buffer, sizeof(buffer));
  }
  ERR_clear_error();
  return buffer;
}

}  // namespace

absl::Status ValidateTls(const TlsOptions& options) {
  if (!options.enabled()) {
    if (!options.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file: needs --tls_cert_file and --tls_key_file (mTLS is on top of TLS)");
    }
    return absl::OkStatus();
  }
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file: give both (PEM files) or neither");
  }
  if (options.reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls_reload_interval: must be at least 1s");
  }
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr;
  if (!ReadCertificates(options.cert_file, &leaf, &chain)) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_cert_file: ", options.cert_file,
                                                   " holds no PEM certificate (", OpenSslError(),
                                                   ")"));
  }
  EVP_PKEY* key = ReadKey(options.key_file);
  absl::Status status;
  if (key == nullptr) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "--tls_key_file: ", options.key_file, " holds no PEM private key (", OpenSslError(), ")"));
  } else if (X509_check_private_key(leaf, key) != 1) {
    status = absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file: ", options.key_file,
                     " is not the key of the certificate in --tls_cert_file"));
    ERR_clear_error();
  }
  EVP_PKEY_free(key);
  X509_free(leaf);
  sk_X509_pop_free(chain, X509_free);
  if (!status.ok()) return status;
  if (!options.client_ca_file.empty()) {
    X509_STORE* ca = ReadCaStore(options.client_ca_file);
    if (ca == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_client_ca_file: ", options.client_ca_file,
                       " holds no PEM certificate (", OpenSslError(), ")"));
    }
    X509_STORE_free(ca);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  const bool mutual = !options.client_ca_file.empty();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file,
      static_cast<unsigned int>(absl::ToInt64Seconds(options.reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (mutual) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

bool TlsFiles::Stamp::operator==(const Stamp& other) const {
  return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec;
}

TlsFiles::Stamp TlsFiles::StampOf(const std::string& path) {
  Stamp stamp;
  struct stat info {};
  if (path.empty() || stat(path.c_str(), &info) != 0) return stamp;  // follows symlinks
  stamp.inode = info.st_ino;
  stamp.size = info.st_size;
  stamp.mtime = info.st_mtim;
  return stamp;
}

TlsFiles::TlsFiles(TlsOptions options) : options_(std::move(options)) {}

TlsFiles::~TlsFiles() {
  absl::MutexLock lock(&mu_);
  X509_free(cert_);
  sk_X509_pop_free(static_cast<STACK_OF(X509)*>(chain_), X509_free);
  EVP_PKEY_free(key_);
  X509_STORE_free(ca_);
}

void TlsFiles::Refresh() {
  const Stamp cert_stamp = StampOf(options_.cert_file);
  const Stamp key_stamp = StampOf(options_.key_file);
  if (!(cert_stamp == cert_stamp_) || !(key_stamp == key_stamp_)) {
    cert_stamp_ = cert_stamp;
    key_stamp_ = key_stamp;
    X509* leaf = nullptr;
    STACK_OF(X509)* chain = nullptr;
    EVP_PKEY* key = nullptr;
    if (ReadCertificates(options_.cert_file, &leaf, &chain) &&
        (key = ReadKey(options_.key_file)) != nullptr && X509_check_private_key(leaf, key) == 1) {
      std::swap(cert_, leaf);
      std::swap(key_, key);
      STACK_OF(X509)* old_chain = static_cast<STACK_OF(X509)*>(chain_);
      chain_ = chain;
      chain = old_chain;
      spdlog::info("metrics TLS: loaded the certificate and key from {} and {}", options_.cert_file,
                   options_.key_file);
    } else {
      spdlog::warn(
          "metrics TLS: {} / {} do not hold a matching certificate and key ({}); "
          "keeping the previous pair",
          options_.cert_file, options_.key_file, OpenSslError());
    }
    X509_free(leaf);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
  }
  if (options_.client_ca_file.empty()) return;
  const Stamp ca_stamp = StampOf(options_.client_ca_file);
  if (ca_stamp == ca_stamp_) return;
  ca_stamp_ = ca_stamp;
  if (X509_STORE* ca = ReadCaStore(options_.client_ca_file)) {
    X509_STORE_free(ca_);
    ca_ = ca;
  } else {
    spdlog::warn("metrics TLS: {} holds no CA certificate ({}); keeping the previous one",
                 options_.client_ca_file, OpenSslError());
  }
}

int TlsFiles::OnCertificate(SSL* ssl, void* self) {
  auto* files = static_cast<TlsFiles*>(self);
  absl::MutexLock lock(&files->mu_);
  files->Refresh();
  if (files->cert_ == nullptr || files->key_ == nullptr) return 0;
  if (SSL_use_certificate(ssl, files->cert_) != 1 || SSL_use_PrivateKey(ssl, files->key_) != 1 ||
      SSL_set1_chain(ssl, static_cast<STACK_OF(X509)*>(files->chain_)) != 1) {
    return 0;
  }
  if (files->ca_ != nullptr) {
    SSL_set1_verify_cert_store(ssl, files->ca_);
    SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return 1;
}

bool TlsFiles::Install(SSL_CTX& ctx) {
  {
    absl::MutexLock lock(&mu_);
    Refresh();
    if (cert_ == nullptr || key_ == nullptr) return false;
    if (!options_.client_ca_file.empty() && ca_ == nullptr) return false;
  }
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_cert_cb(&ctx, &TlsFiles::OnCertificate, this);
  if (!options_.client_ca_file.empty()) {
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return true;
}

}  // namespace rollcall::service
