#include "server/security/caller_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace ota {

std::string PeerCertificate::DisplayName() const {
  if (!uri_sans.empty()) return uri_sans.front();
  if (!dns_sans.empty()) return dns_sans.front();
  return common_name;
}

std::optional<PeerCertificate> CertificateFromAuthProperties(bool peer_authenticated,
                                                             const AuthProperties& properties) {
  if (!peer_authenticated) return std::nullopt;
  PeerCertificate certificate;
  std::vector<std::string> any_sans;
  bool has_certificate = false;
  for (const auto& [name, value] : properties) {
    if (name == GRPC_PEER_URI_PROPERTY_NAME) {
      certificate.uri_sans.push_back(value);
    } else if (name == GRPC_PEER_DNS_PROPERTY_NAME) {
      certificate.dns_sans.push_back(value);
    } else if (name == GRPC_X509_SAN_PROPERTY_NAME) {
      any_sans.push_back(value);
    } else if (name == GRPC_X509_CN_PROPERTY_NAME) {
      certificate.common_name = value;
    } else if (name == GRPC_X509_PEM_CERT_PROPERTY_NAME ||
               name == GRPC_X509_SUBJECT_PROPERTY_NAME) {
      has_certificate = true;
    }
  }
  // Builds that do not split SANs by type (peer_uri / peer_dns) still list them all under
  // x509_subject_alternative_name; tell URIs from DNS names by their scheme.
  if (certificate.uri_sans.empty() && certificate.dns_sans.empty()) {
    for (std::string& san : any_sans) {
      (absl::StrContains(san, "://") ? certificate.uri_sans : certificate.dns_sans)
          .push_back(std::move(san));
    }
  }
  has_certificate = has_certificate || !certificate.common_name.empty() ||
                    !certificate.uri_sans.empty() || !certificate.dns_sans.empty();
  if (!has_certificate) return std::nullopt;
  return certificate;
}

std::optional<std::string> BearerTokenFromHeader(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

PresentedCredentials PresentedCredentialsOf(const grpc::ServerContextBase& context) {
  PresentedCredentials presented;
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context(); auth != nullptr) {
    AuthProperties properties;
    for (const grpc::AuthProperty& property : *auth) {
      const absl::string_view name(property.first.data(), property.first.size());
      // The PEM (about a kilobyte) only tells that a certificate is there: don't copy it.
      const bool presence_only =
          name == GRPC_X509_PEM_CERT_PROPERTY_NAME || name == GRPC_X509_SUBJECT_PROPERTY_NAME;
      properties.emplace_back(std::string(name),
                              presence_only
                                  ? std::string()
                                  : std::string(property.second.data(), property.second.size()));
    }
    presented.certificate = CertificateFromAuthProperties(auth->IsPeerAuthenticated(), properties);
  }
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    presented.bearer_token =
        BearerTokenFromHeader(absl::string_view(it->second.data(), it->second.size()));
    presented.malformed_authorization = !presented.bearer_token.has_value();
  }
  return presented;
}

}  // namespace ota
