#include "service/rest_tls.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace rollcall::service {
namespace {

constexpr unsigned int kMaxChain = 16;

absl::Mutex registered_mu(absl::kConstInit);
RestTlsKeyPair* registered ABSL_GUARDED_BY(registered_mu) = nullptr;

absl::StatusOr<std::string> ReadText(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  return text.str();
}

gnutls_datum_t Datum(const std::string& text) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned int>(text.size())};
}

}  // namespace

bool FileStamp::operator==(const FileStamp& other) const {
  return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec;
}

FileStamp FileStamp::Of(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return {};
  return {info.st_ino, info.st_size, info.st_mtim};
}

RestTlsKeyPair::Material::~Material() {
  for (gnutls_pcert_st& cert : chain) gnutls_pcert_deinit(&cert);
  if (key != nullptr) gnutls_privkey_deinit(key);
}

absl::StatusOr<std::unique_ptr<RestTlsKeyPair::Material>> RestTlsKeyPair::Read(
    const std::string& cert_file, const std::string& key_file) {
  absl::StatusOr<std::string> cert = ReadText(cert_file, "--tls_cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadText(key_file, "--tls_key_file");
  if (!key.ok()) return key.status();
  auto material = std::make_unique<Material>();
  material->chain.resize(kMaxChain);
  unsigned int count = kMaxChain;
  const gnutls_datum_t cert_datum = Datum(*cert);
  if (gnutls_pcert_list_import_x509_raw(material->chain.data(), &count, &cert_datum,
                                        GNUTLS_X509_FMT_PEM, 0) < 0 ||
      count == 0) {
    material->chain.clear();
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file: ", cert_file, " holds no PEM certificate chain"));
  }
  material->chain.resize(count);
  const gnutls_datum_t key_datum = Datum(*key);
  if (gnutls_privkey_init(&material->key) < 0 ||
      gnutls_privkey_import_x509_raw(material->key, &key_datum, GNUTLS_X509_FMT_PEM, nullptr, 0) <
          0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file: ", key_file, " holds no PEM private key"));
  }
  return material;
}

absl::StatusOr<std::unique_ptr<RestTlsKeyPair>> RestTlsKeyPair::Load(std::string cert_file,
                                                                     std::string key_file) {
  std::unique_ptr<RestTlsKeyPair> pair(
      new RestTlsKeyPair(std::move(cert_file), std::move(key_file)));
  absl::MutexLock lock(&pair->mu_);
  pair->cert_stamp_ = FileStamp::Of(pair->cert_file_);
  pair->key_stamp_ = FileStamp::Of(pair->key_file_);
  absl::StatusOr<std::unique_ptr<Material>> material = Read(pair->cert_file_, pair->key_file_);
  if (!material.ok()) return material.status();
  pair->loaded_.push_back(*std::move(material));
  return pair;
}

RestTlsKeyPair::~RestTlsKeyPair() {
  absl::MutexLock lock(&registered_mu);
  if (registered == this) registered = nullptr;
}

void RestTlsKeyPair::Register(RestTlsKeyPair* pair) {
  absl::MutexLock lock(&registered_mu);
  registered = pair;
}

RestTlsKeyPair::Material* RestTlsKeyPair::Current() {
  absl::MutexLock lock(&mu_);
  const FileStamp cert = FileStamp::Of(cert_file_);
  const FileStamp key = FileStamp::Of(key_file_);
  if (!(cert == cert_stamp_) || !(key == key_stamp_)) {
    cert_stamp_ = cert;
    key_stamp_ = key;
    absl::StatusOr<std::unique_ptr<Material>> material = Read(cert_file_, key_file_);
    if (material.ok()) {
      loaded_.push_back(*std::move(material));
      spdlog::info("REST port: TLS certificate reloaded from {}", cert_file_);
    } else {
      spdlog::warn("REST port: keeping the previous TLS certificate: {}",
                   material.status().ToString());
    }
  }
  return loaded_.back().get();
}

int RestTlsKeyPair::Retrieve(gnutls_session_t, const gnutls_datum_t*, int,
                             const gnutls_pk_algorithm_t*, int, gnutls_pcert_st** pcert,
                             unsigned int* pcert_length, gnutls_privkey_t* key) {
  absl::MutexLock lock(&registered_mu);
  if (registered == nullptr) return -1;
  Material* material = registered->Current();
  *pcert = material->chain.data();
  *pcert_length = static_cast<unsigned int>(material->chain.size());
  *key = material->key;
  return 0;
}

absl::StatusOr<gnutls_x509_trust_list_t> RestClientCa::Read(const std::string& pem,
                                                            const std::string& ca_file) {
  gnutls_x509_trust_list_t list = nullptr;
  if (gnutls_x509_trust_list_init(&list, 0) < 0) {
    return absl::InternalError("--tls_client_ca_file: cannot make a GnuTLS trust list");
  }
  const gnutls_datum_t datum = Datum(pem);
  if (gnutls_x509_trust_list_add_trust_mem(list, &datum, nullptr, GNUTLS_X509_FMT_PEM, 0, 0) <= 0) {
    gnutls_x509_trust_list_deinit(list, 1);
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_client_ca_file: ", ca_file, " holds no PEM certificate"));
  }
  return list;
}

absl::StatusOr<std::unique_ptr<RestClientCa>> RestClientCa::Load(std::string ca_file) {
  std::unique_ptr<RestClientCa> ca(new RestClientCa(std::move(ca_file)));
  absl::MutexLock lock(&ca->mu_);
  ca->stamp_ = FileStamp::Of(ca->ca_file_);
  absl::StatusOr<std::string> pem = ReadText(ca->ca_file_, "--tls_client_ca_file");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<gnutls_x509_trust_list_t> trust = Read(*pem, ca->ca_file_);
  if (!trust.ok()) return trust.status();
  ca->trust_ = *trust;
  ca->initial_pem_ = *std::move(pem);
  return ca;
}

RestClientCa::~RestClientCa() {
  absl::MutexLock lock(&mu_);
  if (trust_ != nullptr) gnutls_x509_trust_list_deinit(trust_, 1);
}

bool RestClientCa::Verifies(gnutls_session_t session) {
  unsigned int count = 0;
  const gnutls_datum_t* raw = gnutls_certificate_get_peers(session, &count);
  if (raw == nullptr || count == 0) return false;
  count = std::min(count, kMaxChain);
  std::vector<gnutls_x509_crt_t> chain;
  for (unsigned int i = 0; i < count; ++i) {
    gnutls_x509_crt_t cert = nullptr;
    if (gnutls_x509_crt_init(&cert) < 0) break;
    if (gnutls_x509_crt_import(cert, &raw[i], GNUTLS_X509_FMT_DER) < 0) {
      gnutls_x509_crt_deinit(cert);
      break;
    }
    chain.push_back(cert);
  }
  unsigned int verdict = GNUTLS_CERT_INVALID;
  if (chain.size() == count) {
    absl::MutexLock lock(&mu_);
    if (const FileStamp now = FileStamp::Of(ca_file_); !(now == stamp_)) {
      stamp_ = now;
      absl::StatusOr<std::string> pem = ReadText(ca_file_, "--tls_client_ca_file");
      absl::StatusOr<gnutls_x509_trust_list_t> trust =
          pem.ok() ? Read(*pem, ca_file_) : absl::StatusOr<gnutls_x509_trust_list_t>(pem.status());
      if (trust.ok()) {
        gnutls_x509_trust_list_deinit(trust_, 1);
        trust_ = *trust;
        spdlog::info("REST port: client CA reloaded from {}", ca_file_);
      } else {
        spdlog::warn("REST port: keeping the previous client CA: {}", trust.status().ToString());
      }
    }
    if (gnutls_x509_trust_list_verify_crt2(trust_, chain.data(), count, nullptr, 0, 0, &verdict,
                                           nullptr) < 0) {
      verdict = GNUTLS_CERT_INVALID;
    }
  }
  for (gnutls_x509_crt_t cert : chain) gnutls_x509_crt_deinit(cert);
  return verdict == 0;
}

}  // namespace rollcall::service
