#include "server/security/grpc_tls_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/base/alibaba_time.h"

namespace ota {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct InfoStackFree {
  void operator()(STACK_OF(X509_INFO) * infos) const {
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
  }
};

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string OneLineSubject(X509* cert) {
  char buffer[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buffer, sizeof(buffer));
  return buffer;
}

absl::Time AsnTime(const ASN1_TIME* time) {
  struct tm parts = {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return absl::InfinitePast();
  return absl::FromTM(parts, absl::UTCTimeZone());
}

absl::Status FileError(absl::string_view flag, const std::string& path, absl::string_view problem) {
  ERR_clear_error();  // the details are in `problem`; don't leave them for the next TLS user
  return absl::FailedPreconditionError(absl::StrCat("--", flag, " ", path, ": ", problem));
}

}  // namespace

absl::StatusOr<std::string> CheckGrpcTlsFiles(const GrpcTlsFiles& files, absl::Time now) {
  absl::StatusOr<std::string> cert_pem = ReadFile(files.cert_file, "tls-cert-file");
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile(files.key_file, "tls-key-file");
  if (!key_pem.ok()) return key_pem.status();

  auto cert_bio = MemoryBio(*cert_pem);
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return FileError("tls-cert-file", files.cert_file, "no PEM certificate");
  auto key_bio = MemoryBio(*key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return FileError("tls-key-file", files.key_file,
                     "no unencrypted PEM private key (encrypted keys are not supported)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return FileError("tls-key-file", files.key_file,
                     absl::StrCat("does not belong to the certificate in ", files.cert_file));
  }
  const absl::Time not_before = AsnTime(X509_get0_notBefore(cert.get()));
  const absl::Time not_after = AsnTime(X509_get0_notAfter(cert.get()));
  const std::string expiry = FormatAlibabaTimestamp(not_after);
  if (now < not_before) {
    return FileError("tls-cert-file", files.cert_file,
                     absl::StrCat("not valid before ", FormatAlibabaTimestamp(not_before)));
  }
  if (now > not_after) {
    return FileError("tls-cert-file", files.cert_file, absl::StrCat("expired at ", expiry));
  }
  std::string summary = absl::StrCat(
      "certificate ", OneLineSubject(cert.get()), " valid until ", expiry, " (",
      static_cast<int64_t>(std::floor(absl::ToDoubleHours(not_after - now) / 24)), " days left)");

  if (!files.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadFile(files.client_ca_file, "tls-client-ca-file");
    if (!ca_pem.ok()) return ca_pem.status();
    auto ca_bio = MemoryBio(*ca_pem);
    std::unique_ptr<STACK_OF(X509_INFO), InfoStackFree> infos(
        PEM_X509_INFO_read_bio(ca_bio.get(), nullptr, nullptr, nullptr));
    int count = 0;
    if (infos != nullptr) {
      for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
        if (sk_X509_INFO_value(infos.get(), i)->x509 != nullptr) ++count;
      }
    }
    if (count == 0) {
      return FileError("tls-client-ca-file", files.client_ca_file, "no PEM certificate");
    }
    absl::StrAppend(&summary, "; client certificates verified against ", count, " CA certificate",
                    count == 1 ? "" : "s");
  }
  return summary;
}

std::shared_ptr<grpc::ServerCredentials> MakeGrpcTlsServerCredentials(
    const GrpcTlsFiles& files, absl::Duration reload_interval) {
  const auto seconds = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(reload_interval, absl::Seconds(1)))));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.client_ca_file, seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace ota
