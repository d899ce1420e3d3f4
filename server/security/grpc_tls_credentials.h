// TLS for ota-gateway's gRPC port: server credentials that re-read the certificate, key and client
// CA from disk, and a check of those files that start-up and SIGHUP run.
//
// gRPC 1.51's FileWatcherCertificateProvider re-reads the files every --tls-reload-interval and
// applies a changed set to new handshakes only; established connections and calls in progress are
// not touched. 1.51 offers no way to force a re-read now, so SIGHUP cannot apply a change sooner:
// it checks the files on disk (PEM parses, key matches certificate, dates valid) and logs what the
// watcher will pick up, or why it would fail.
// Replace certificate and key atomically (e.g. swap a symlinked directory): the watcher reads the
// two files one after the other.
//
//   ota::GrpcTlsFiles files{.cert_file = "tls.crt", .key_file = "tls.key", .client_ca_file =
//   "ca.crt"}; absl::StatusOr<std::string> summary = ota::CheckGrpcTlsFiles(files, absl::Now());
//   builder.AddListeningPort(addr, ota::MakeGrpcTlsServerCredentials(files, absl::Seconds(10)));
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct GrpcTlsFiles {
  std::string cert_file;       // PEM certificate chain, leaf first
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // PEM CA bundle; non-empty: mutual TLS, client certificate required
};

// Checks the files as the TLS stack will read them: the certificate and key parse and belong
// together, the leaf is valid at `now`, and the client CA file (if any) holds at least one
// certificate. Returns a one-line summary (subject, expiry, client CA count) for the logs, or
// FAILED_PRECONDITION / NOT_FOUND saying which file is wrong and why. Never prints key material.
[[nodiscard]] absl::StatusOr<std::string> CheckGrpcTlsFiles(const GrpcTlsFiles& files,
                                                            absl::Time now);

// TLS server credentials re-reading `files` every `reload_interval` (rounded up to whole seconds).
// With a client CA, clients must present a certificate it verifies.
[[nodiscard]] std::shared_ptr<grpc::ServerCredentials> MakeGrpcTlsServerCredentials(
    const GrpcTlsFiles& files, absl::Duration reload_interval);

}  // namespace ota
