// TLS for rollcalld's ports: a certificate and key (PEM files) and, for mutual TLS, a CA whose
// client certificates are required. The files are re-read when they change (cert-manager
// rotates them in place), so a rotation needs no restart:
// - gRPC: grpc's FileWatcherCertificateProvider re-reads them every `reload_interval`;
// - HTTP (metrics): TlsFiles checks them at each new connection and reloads what changed.
// A rotation that leaves unreadable or mismatched files keeps serving the last good pair.
#ifndef ROLLCALL_SERVICE_TLS_H_
#define ROLLCALL_SERVICE_TLS_H_

#include <grpcpp/security/server_credentials.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_store_st X509_STORE;

namespace rollcall::service {

struct TlsOptions {
  std::string cert_file;       // --tls_cert_file (PEM, the chain: leaf first)
  std::string key_file;        // --tls_key_file (PEM)
  std::string client_ca_file;  // --tls_client_ca_file: set = clients must present a cert it signed
  absl::Duration reload_interval = absl::Minutes(1);  // gRPC's re-read period

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Checks the flags and that the files hold a usable key pair (and CA): start-up fails with the
// flag named rather than serving without TLS by mistake.
absl::Status ValidateTls(const TlsOptions& options);

// Insecure credentials when TLS is off, else TLS (mTLS when client_ca_file is set) from files
// re-read every reload_interval.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const TlsOptions& options);

// The HTTP side: owns the key pair and CA read from the files, re-reading them when their
// identity (inode, size, mtime) changes. Install() hooks an SSL_CTX so every handshake uses
// the current ones.
class TlsFiles {
 public:
  explicit TlsFiles(TlsOptions options);
  ~TlsFiles();
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  // Loads the files and configures `ctx` (TLS 1.2+, the certificate callback, client
  // verification when a CA is set). False when the files cannot be used.
  bool Install(SSL_CTX& ctx);

 private:
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec mtime{};
    bool operator==(const Stamp& other) const;
  };
  static Stamp StampOf(const std::string& path);
  // Reloads whatever changed; keeps the old material when the new files do not load.
  void Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The certificate callback: sets the current key pair (and CA store) on this connection.
  static int OnCertificate(SSL* ssl, void* self);

  const TlsOptions options_;
  absl::Mutex mu_;
  Stamp cert_stamp_ ABSL_GUARDED_BY(mu_);
  Stamp key_stamp_ ABSL_GUARDED_BY(mu_);
  Stamp ca_stamp_ ABSL_GUARDED_BY(mu_);
  X509* cert_ ABSL_GUARDED_BY(mu_) = nullptr;
  void* chain_ ABSL_GUARDED_BY(mu_) = nullptr;  // STACK_OF(X509)*: the intermediates
  EVP_PKEY* key_ ABSL_GUARDED_BY(mu_) = nullptr;
  X509_STORE* ca_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_TLS_H_
