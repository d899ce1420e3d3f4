// Caller identity: what a caller presented to prove who it is, read from one gRPC call.
//
// Two kinds of proof count: a client certificate that the TLS handshake verified against
// --tls-client-ca-file (mTLS), and a bearer token in the `authorization: Bearer <token>` metadata.
// Deciding whether that proof belongs to a known caller is the allow-list's job
// (caller_allowlist.h); this file only extracts it.
//
//   ota::PresentedCredentials presented = ota::PresentedCredentialsOf(*context);
//   if (presented.certificate) { /* presented.certificate->uri_sans ... */ }
//
// The extraction works on plain (name, value) auth properties so tests can feed it fake ones.
#pragma once

#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace ota {

// The names a verified client certificate carries. Per RFC 6125 practice, the SANs identify the
// peer when it has any; the subject CN counts only for certificates without URI/DNS SANs.
struct PeerCertificate {
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string common_name;

  // The name to show in logs: the first URI SAN, else the first DNS SAN, else the CN.
  [[nodiscard]] std::string DisplayName() const;
};

struct PresentedCredentials {
  std::optional<PeerCertificate> certificate;  // set only for a certificate the handshake verified
  std::optional<std::string> bearer_token;     // never logged
  // An `authorization` header that is not "Bearer <token>": reported, not silently ignored.
  bool malformed_authorization = false;
};

using AuthProperties = std::vector<std::pair<std::string, std::string>>;

// The verified client certificate described by gRPC auth-context properties (peer_uri, peer_dns,
// x509_subject_alternative_name, x509_common_name), or nullopt when the peer is not authenticated
// by a certificate.
[[nodiscard]] std::optional<PeerCertificate> CertificateFromAuthProperties(
    bool peer_authenticated, const AuthProperties& properties);

// The token of an `authorization` metadata value "Bearer <token>" (scheme case-insensitive), or
// nullopt if the value has another form.
[[nodiscard]] std::optional<std::string> BearerTokenFromHeader(absl::string_view authorization);

// Everything the caller of `context` presented.
[[nodiscard]] PresentedCredentials PresentedCredentialsOf(const grpc::ServerContextBase& context);

}  // namespace ota
