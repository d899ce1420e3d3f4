#include "server/security/grpc_tls_credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

// A self-signed P-256 certificate valid from now + `from` to now + `until`, written as PEM files.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int): OpenSSL's type
  return std::string(data, static_cast<std::size_t>(size));
}

TestCert MakeCert(const std::string& cn, long from_seconds,  // NOLINT(google-runtime-int)
                  long until_seconds) {                      // NOLINT(google-runtime-int)
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), until_seconds);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {BioText(cert_bio.get()), BioText(key_bio.get())};
}

class CheckGrpcTlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/tls-files-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* name : {"/cert.pem", "/key.pem", "/ca.pem"}) {
      std::remove((dir_ + name).c_str());
    }
    rmdir(dir_.c_str());
  }
  GrpcTlsFiles Write(const TestCert& cert, const std::string& key_pem,
                     const std::string& ca_pem = "") {
    std::ofstream(dir_ + "/cert.pem") << cert.cert_pem;
    std::ofstream(dir_ + "/key.pem") << key_pem;
    GrpcTlsFiles files{
        .cert_file = dir_ + "/cert.pem", .key_file = dir_ + "/key.pem", .client_ca_file = ""};
    if (!ca_pem.empty()) {
      std::ofstream(dir_ + "/ca.pem") << ca_pem;
      files.client_ca_file = dir_ + "/ca.pem";
    }
    return files;
  }
  std::string dir_;
};

constexpr long kDay = 86400;  // NOLINT(google-runtime-int)

TEST_F(CheckGrpcTlsFilesTest, ValidPairIsSummarisedWithoutKeyMaterial) {
  const TestCert cert = MakeCert("gateway.test", -60, 30 * kDay);
  const TestCert ca = MakeCert("test-ca", -60, 365 * kDay);
  absl::StatusOr<std::string> summary =
      CheckGrpcTlsFiles(Write(cert, cert.key_pem, ca.cert_pem + ca.cert_pem), absl::Now());
  ASSERT_THAT(summary, IsOk());
  EXPECT_THAT(*summary, HasSubstr("/CN=gateway.test"));
  EXPECT_THAT(*summary, HasSubstr("days left"));
  EXPECT_THAT(*summary, HasSubstr("against 2 CA certificates"));
  EXPECT_THAT(*summary, ::testing::Not(HasSubstr("BEGIN")));
}

TEST_F(CheckGrpcTlsFilesTest, KeyOfAnotherCertificateIsRejected) {
  const TestCert cert = MakeCert("a", -60, kDay);
  const TestCert other = MakeCert("b", -60, kDay);
  absl::StatusOr<std::string> summary = CheckGrpcTlsFiles(Write(cert, other.key_pem), absl::Now());
  ASSERT_THAT(summary, Not(IsOk()));
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(summary.status().message(), HasSubstr("--tls-key-file"));
  EXPECT_THAT(summary.status().message(), HasSubstr("does not belong to the certificate"));
  EXPECT_THAT(summary.status().message(), ::testing::Not(HasSubstr("BEGIN")));
}

TEST_F(CheckGrpcTlsFilesTest, ExpiredAndNotYetValidCertificatesAreRejected) {
  const TestCert expired = MakeCert("old", -2 * kDay, -kDay);
  absl::StatusOr<std::string> summary =
      CheckGrpcTlsFiles(Write(expired, expired.key_pem), absl::Now());
  ASSERT_THAT(summary, Not(IsOk()));
  EXPECT_THAT(summary.status().message(), HasSubstr("expired at"));

  const TestCert future = MakeCert("future", kDay, 2 * kDay);
  summary = CheckGrpcTlsFiles(Write(future, future.key_pem), absl::Now());
  ASSERT_THAT(summary, Not(IsOk()));
  EXPECT_THAT(summary.status().message(), HasSubstr("not valid before"));
}

TEST_F(CheckGrpcTlsFilesTest, UnreadableOrEmptyFilesAreNamed) {
  const TestCert cert = MakeCert("a", -60, kDay);
  absl::StatusOr<std::string> summary = CheckGrpcTlsFiles(Write(cert, "garbage"), absl::Now());
  ASSERT_THAT(summary, Not(IsOk()));
  EXPECT_THAT(summary.status().message(), HasSubstr("no unencrypted PEM private key"));

  GrpcTlsFiles files = Write(cert, cert.key_pem, "not a certificate");
  summary = CheckGrpcTlsFiles(files, absl::Now());
  ASSERT_THAT(summary, Not(IsOk()));
  EXPECT_THAT(summary.status().message(), HasSubstr("--tls-client-ca-file"));

  files.cert_file = dir_ + "/missing.pem";
  summary = CheckGrpcTlsFiles(files, absl::Now());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(summary.status().message(), HasSubstr("missing.pem"));
}

}  // namespace
}  // namespace ota
