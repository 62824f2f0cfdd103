// RestTlsKeyPair: the REST port's certificate and key (libmicrohttpd speaks TLS through GnuTLS,
// so service/tls.h's OpenSSL TlsFiles cannot serve it), re-read when the files change, as on the
// gRPC and metrics ports: every TLS handshake checks the files' identity (inode, size, mtime)
// and loads a changed pair; a pair that does not load keeps the last good one serving.
//
// GnuTLS's certificate callback carries no pointer of ours, so the pair serving handshakes is
// registered process-wide: one REST port with TLS per process (rollcalld has one).
#ifndef ROLLCALL_SERVICE_REST_TLS_H_
#define ROLLCALL_SERVICE_REST_TLS_H_

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rollcall::service {

class RestTlsKeyPair {
 public:
  // Loads the pair; an error names the flag of the file that does not load.
  static absl::StatusOr<std::unique_ptr<RestTlsKeyPair>> Load(std::string cert_file,
                                                              std::string key_file);
  ~RestTlsKeyPair();
  RestTlsKeyPair(const RestTlsKeyPair&) = delete;
  RestTlsKeyPair& operator=(const RestTlsKeyPair&) = delete;

  // Makes this pair the one Retrieve serves (nullptr: none).
  static void Register(RestTlsKeyPair* pair);
  // GnuTLS's certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK).
  static int Retrieve(gnutls_session_t session, const gnutls_datum_t* req_ca_rdn, int nreqs,
                      const gnutls_pk_algorithm_t* pk_algos, int pk_algos_length,
                      gnutls_pcert_st** pcert, unsigned int* pcert_length, gnutls_privkey_t* key);

 private:
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec mtime{};
    bool operator==(const Stamp& other) const;
  };
  // One loaded pair. Never freed while the RestTlsKeyPair lives: a handshake that took it may
  // still be using it after a reload.
  struct Material {
    std::vector<gnutls_pcert_st> chain;
    gnutls_privkey_t key = nullptr;
    ~Material();
  };

  RestTlsKeyPair(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}
  static Stamp StampOf(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Material>> Read(const std::string& cert_file,
                                                        const std::string& key_file);
  // The current material, reloaded first if the files changed.
  Material* Current() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string cert_file_;
  const std::string key_file_;
  absl::Mutex mu_;
  Stamp cert_stamp_ ABSL_GUARDED_BY(mu_);
  Stamp key_stamp_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Material>> loaded_ ABSL_GUARDED_BY(mu_);  // back(): current
};

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_REST_TLS_H_
