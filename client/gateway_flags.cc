#include "client/gateway_flags.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, target, "",
          "ota-gateway address, HOST:PORT or a gRPC target URI. Default: $OTA_GATEWAY_TARGET.");
ABSL_FLAG(bool, tls, false, "Connect with TLS (default: plaintext).");
ABSL_FLAG(std::string, ca_file, "", "With --tls: PEM CA certificates (default: system roots).");
ABSL_FLAG(std::string, cert_file, "", "With --tls: PEM client certificate chain for mTLS.");
ABSL_FLAG(std::string, key_file, "", "With --tls: PEM client private key for mTLS.");
ABSL_FLAG(std::string, token_file, "",
          "File holding a bearer token, sent as 'authorization: Bearer <token>'. Default: the "
          "token in $OTA_TOKEN, if set.");

namespace ota::client {
namespace {

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open token file '", path, "'"));
  std::ostringstream contents;
  contents << in.rdbuf();
  // Token files usually end with a newline that is not part of the token.
  std::string token(absl::StripAsciiWhitespace(contents.str()));
  if (token.empty())
    return absl::InvalidArgumentError(absl::StrCat("token file '", path, "' is empty"));
  return token;
}

}  // namespace

std::vector<std::string_view> GatewayFlagsForHelp() {
  return {"target=HOST:PORT", "tls",           "ca-file=FILE",
          "cert-file=FILE",   "key-file=FILE", "token-file=FILE"};
}

std::string TargetFromFlags() {
  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any channel (thread) exists
    if (const char* env = std::getenv("OTA_GATEWAY_TARGET"); env != nullptr) target = env;
  }
  return target;
}

absl::StatusOr<OtaClient> ConnectFromFlags() {
  const std::string target = TargetFromFlags();
  if (target.empty())
    return absl::InvalidArgumentError("--target (or OTA_GATEWAY_TARGET) is required");
  ConnectOptions options{
      .use_tls = absl::GetFlag(FLAGS_tls),
      .ca_file = absl::GetFlag(FLAGS_ca_file),
      .cert_file = absl::GetFlag(FLAGS_cert_file),
      .key_file = absl::GetFlag(FLAGS_key_file),
  };
  if (const std::string token_file = absl::GetFlag(FLAGS_token_file); !token_file.empty()) {
    absl::StatusOr<std::string> token = ReadToken(token_file);
    if (!token.ok()) return token.status();
    options.bearer_token = *std::move(token);
  } else if (const char* env = std::getenv("OTA_TOKEN");  // NOLINT(concurrency-mt-unsafe): 1 thread
             env != nullptr) {
    options.bearer_token = std::string(absl::StripAsciiWhitespace(env));
  }
  return OtaClient::Connect(target, options);
}

}  // namespace ota::client
