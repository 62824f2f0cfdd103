#include "service/rest_tls.h"

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

bool RestTlsKeyPair::Stamp::operator==(const Stamp& other) const {
  return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec;
}

RestTlsKeyPair::Stamp RestTlsKeyPair::StampOf(const std::string& path) {
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
  pair->cert_stamp_ = StampOf(pair->cert_file_);
  pair->key_stamp_ = StampOf(pair->key_file_);
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
  const Stamp cert = StampOf(cert_file_);
  const Stamp key = StampOf(key_file_);
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

}  // namespace rollcall::service
