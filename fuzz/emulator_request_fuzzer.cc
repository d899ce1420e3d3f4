// Fuzzes iot-emulator's reading and checking of incoming requests (emulator/incoming_request.h,
// emulator/request_authenticator.h). Callers' own integration tests point arbitrary clients at the
// emulator, so its parser meets untrusted input too. Two modes:
//   - raw: any method, request target, headers and body. Nothing may crash; a rejection names a
//     Code; no answer ever contains the key's secret.
//   - round trip: the gateway's signer (v1 or v3, with or without an STS token) signs a call with
//     fuzzed action, version and parameters; the request, as it would arrive, must be accepted
//     and decode to exactly those parameters. This pins signer and verifier to each other for
//     every byte a parameter may hold.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "emulator/incoming_request.h"
#include "emulator/nonce_registry.h"
#include "emulator/request_authenticator.h"
#include "fuzz/fuzz_check.h"
#include "server/base/clock.h"
#include "server/signing/rpc_signer.h"
#include "server/testing/fake_clock.h"

namespace {

using ::ota::testing::FakeClock;

constexpr char kKeyId[] = "FUZZKEYID0001";
constexpr char kSecret[] = "fuzz-secret-7c1e40b9d2";
constexpr char kToken[] = "fuzz-sts-token-5a9e";
constexpr char kStsKeyId[] = "FUZZSTSKEY0002";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::vector<ota::AccessKey> Keys() {
  return {
      {.id = kKeyId, .secret = kSecret, .account = "fuzz-account", .security_token = ""},
      {.id = kStsKeyId, .secret = kSecret, .account = "fuzz-account", .security_token = kToken}};
}

void CheckRaw(FuzzedDataProvider& provider) {
  std::string method = provider.ConsumeBool() ? "POST" : provider.ConsumeRandomLengthString(8);
  const std::string target = provider.ConsumeRandomLengthString(256);
  ota::HeaderList headers;
  const int header_count = provider.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < header_count; ++i) {
    std::string name = provider.ConsumeRandomLengthString(24);
    headers.emplace_back(std::move(name), provider.ConsumeRandomLengthString(96));
  }
  std::string body = provider.ConsumeRemainingBytesAsString();
  const bool input_has_secret = (target + body).find(kSecret) != std::string::npos;

  const ota::IncomingRequest request =
      ota::MakeIncomingRequest(std::move(method), target, headers, std::move(body));
  FakeClock clock(kNow);
  ota::NonceRegistry nonces(absl::Minutes(15), clock);
  const ota::RequestAuthenticator authenticator(Keys(), absl::Minutes(15), nonces, clock);
  const ota::Authentication identified = ota::RequestAuthenticator::Identify(request);
  const ota::Authentication result = authenticator.Authenticate(request);
  FUZZ_CHECK(result.action == identified.action);
  if (result.error.has_value()) {
    FUZZ_CHECK(!result.error->code.empty());
    FUZZ_CHECK(result.error->http_status >= 400 && result.error->http_status < 500);
    FUZZ_CHECK(result.account.empty());
    if (!input_has_secret) FUZZ_CHECK(result.error->message.find(kSecret) == std::string::npos);
  } else {
    FUZZ_CHECK(result.account == "fuzz-account");
  }
}

// "https://host/path?query" -> "/path?query", the request target a server sees.
std::string TargetOf(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t path_start = url.find('/', scheme_end + 3);
  return url.substr(path_start);
}

void CheckRoundTrip(FuzzedDataProvider& provider) {
  ota::RpcCall call;
  // Action and Version must be non-empty for either method to accept the call.
  call.action = "A" + provider.ConsumeRandomLengthString(24);
  call.version = "V" + provider.ConsumeRandomLengthString(12);
  const int count = provider.ConsumeIntegralInRange(0, 5);
  for (int i = 0; i < count; ++i) {
    std::string name = provider.ConsumeRandomLengthString(16);
    call.params.insert_or_assign(std::move(name), provider.ConsumeRandomLengthString(48));
  }
  const bool sts = provider.ConsumeBool();
  const ota::Credentials credentials{.access_key_id = sts ? kStsKeyId : kKeyId,
                                     .access_key_secret = kSecret,
                                     .security_token = sts ? kToken : "",
                                     .expiration = absl::InfiniteFuture()};
  const auto version = provider.ConsumeBool() ? ota::SignatureVersion::kV1HmacSha1
                                              : ota::SignatureVersion::kAcs3HmacSha256;
  const std::string nonce = "n" + provider.ConsumeRandomLengthString(32);
  const ota::Endpoint endpoint{.scheme = "http", .host = "127.0.0.1:18080", .path = "/"};

  const ota::HttpRequest signed_request =
      ota::SignRpcCall(version, call, endpoint, credentials, kNow, nonce);
  const ota::IncomingRequest request =
      ota::MakeIncomingRequest(signed_request.method, TargetOf(signed_request.url),
                               signed_request.headers, signed_request.body);
  FakeClock clock(kNow);
  ota::NonceRegistry nonces(absl::Minutes(15), clock);
  const ota::RequestAuthenticator authenticator(Keys(), absl::Minutes(15), nonces, clock);
  const ota::Authentication result = authenticator.Authenticate(request);
  if (result.error.has_value()) {
    // What the harness saw, to make a finding readable without a debugger.
    std::fprintf(stderr, "rejected: %s: %s\nurl: %s\n", result.error->code.c_str(),
                 result.error->message.c_str(), signed_request.url.c_str());
    for (const auto& [name, value] : signed_request.headers) {
      std::fprintf(stderr, "header %s: %s\n", name.c_str(), value.c_str());
    }
  }
  FUZZ_CHECK(!result.error.has_value());
  FUZZ_CHECK(result.access_key_id == credentials.access_key_id);
  for (const auto& [name, value] : call.params) {
    const bool common_v1 = version == ota::SignatureVersion::kV1HmacSha1 &&
                           (name == "AccessKeyId" || name == "Action" || name == "Format" ||
                            name == "SignatureMethod" || name == "SignatureNonce" ||
                            name == "SignatureVersion" || name == "Timestamp" ||
                            name == "Version" || name == "Signature" || name == "SecurityToken");
    if (common_v1 || name.empty()) continue;  // a nameless parameter is not sent
    const auto it = result.params.find(name);
    FUZZ_CHECK(it != result.params.end() && it->second == value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  if (provider.ConsumeBool()) {
    CheckRoundTrip(provider);
  } else {
    CheckRaw(provider);
  }
  return 0;
}
