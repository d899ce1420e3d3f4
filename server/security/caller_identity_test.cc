#include "server/security/caller_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ota {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// What gRPC 1.51 puts in the AuthContext of a TLS peer with a verified client certificate.
AuthProperties VerifiedPeer() {
  return {{"transport_security_type", "ssl"},
          {"x509_subject", "CN=rollout,O=Example"},
          {"x509_common_name", "rollout"},
          {"x509_subject_alternative_name", "spiffe://corp.example/rollout"},
          {"x509_subject_alternative_name", "rollout.corp.example"},
          {"peer_uri", "spiffe://corp.example/rollout"},
          {"peer_dns", "rollout.corp.example"},
          {"x509_pem_cert", "-----BEGIN CERTIFICATE-----..."},
          {"security_level", "TSI_PRIVACY_AND_INTEGRITY"}};
}

TEST(CertificateFromAuthPropertiesTest, ReadsTypedSansAndCommonName) {
  std::optional<PeerCertificate> cert = CertificateFromAuthProperties(true, VerifiedPeer());
  ASSERT_TRUE(cert.has_value());
  EXPECT_THAT(cert->uri_sans, ElementsAre("spiffe://corp.example/rollout"));
  EXPECT_THAT(cert->dns_sans, ElementsAre("rollout.corp.example"));
  EXPECT_EQ(cert->common_name, "rollout");
  EXPECT_EQ(cert->DisplayName(), "spiffe://corp.example/rollout");
}

TEST(CertificateFromAuthPropertiesTest, UnauthenticatedPeerHasNoCertificate) {
  EXPECT_FALSE(CertificateFromAuthProperties(false, VerifiedPeer()).has_value());
  // Server-only TLS: the peer is not authenticated and carries only transport properties.
  EXPECT_FALSE(CertificateFromAuthProperties(
                   false, {{"transport_security_type", "ssl"}, {"security_level", "x"}})
                   .has_value());
  EXPECT_FALSE(
      CertificateFromAuthProperties(true, {{"transport_security_type", "ssl"}}).has_value());
}

TEST(CertificateFromAuthPropertiesTest, UntypedSansAreSortedByScheme) {
  std::optional<PeerCertificate> cert =
      CertificateFromAuthProperties(true, {{"x509_subject_alternative_name", "svc.example"},
                                           {"x509_subject_alternative_name", "spiffe://x/y"},
                                           {"x509_common_name", "svc"}});
  ASSERT_TRUE(cert.has_value());
  EXPECT_THAT(cert->uri_sans, ElementsAre("spiffe://x/y"));
  EXPECT_THAT(cert->dns_sans, ElementsAre("svc.example"));
}

TEST(CertificateFromAuthPropertiesTest, CommonNameOnlyCertificate) {
  std::optional<PeerCertificate> cert = CertificateFromAuthProperties(
      true, {{"x509_subject", "CN=legacy"}, {"x509_common_name", "legacy"}});
  ASSERT_TRUE(cert.has_value());
  EXPECT_THAT(cert->uri_sans, IsEmpty());
  EXPECT_THAT(cert->dns_sans, IsEmpty());
  EXPECT_EQ(cert->DisplayName(), "legacy");
}

TEST(CertificateFromAuthPropertiesTest, DnsSanIsShownWhenThereIsNoUri) {
  std::optional<PeerCertificate> cert =
      CertificateFromAuthProperties(true, {{"peer_dns", "a.example"}, {"x509_common_name", "a"}});
  ASSERT_TRUE(cert.has_value());
  EXPECT_EQ(cert->DisplayName(), "a.example");
}

TEST(BearerTokenFromHeaderTest, AcceptsBearerSchemeOnly) {
  EXPECT_EQ(BearerTokenFromHeader("Bearer abc.def"), "abc.def");
  EXPECT_EQ(BearerTokenFromHeader("bearer abc"), "abc");
  EXPECT_EQ(BearerTokenFromHeader("BEARER  abc "), "abc");
  EXPECT_FALSE(BearerTokenFromHeader("Basic dXNlcjpwYXNz").has_value());
  EXPECT_FALSE(BearerTokenFromHeader("Bearer").has_value());
  EXPECT_FALSE(BearerTokenFromHeader("Bearer    ").has_value());
  EXPECT_FALSE(BearerTokenFromHeader("abc").has_value());
  EXPECT_FALSE(BearerTokenFromHeader("").has_value());
}

}  // namespace
}  // namespace ota
