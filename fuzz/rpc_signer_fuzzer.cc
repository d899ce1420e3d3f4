// Fuzzes the signer's canonical forms (server/rpc_signer.h): percent-encoding, the v1 and v3
// canonical queries, v3 canonical headers, whole v1/v3 signed requests over fuzzed parameters and
// credentials, and ParseEndpoint. Parameters come from callers and configuration, so every byte is
// possible. Invariants:
//   - PercentEncode leaves only unreserved characters and upper-case %XX, and decodes back;
//   - canonical queries are sorted by name and decode back to exactly the parameters given;
//   - the v1 string-to-sign is "POST&%2F&" + PercentEncode(canonical query) (its one-pass
//     double encoding agrees with the two-pass definition);
//   - v3 signing is deterministic, its pieces are consistent (hash, string-to-sign, sorted
//     lower-case SignedHeaders) and the signature is 64 hex digits;
//   - a signed request's URL carries every API parameter, and never the AccessKey secret;
//   - an endpoint that parses re-parses to itself; an endpoint's userinfo or query never shows
//     in the error message.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/signing/rpc_signer.h"

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is not canonical
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Strict inverse of PercentEncode: nullopt for anything PercentEncode cannot have produced.
std::optional<std::string> StrictDecode(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (IsUnreserved(c)) {
      out.push_back(c);
      continue;
    }
    if (c != '%' || i + 2 >= encoded.size()) return std::nullopt;
    const int high = HexValue(encoded[i + 1]);
    const int low = HexValue(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    const char decoded = static_cast<char>(high * 16 + low);
    if (IsUnreserved(decoded)) return std::nullopt;  // would have been left as it is
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

// Splits a canonical query back into decoded (name, value) pairs, in order.
std::optional<std::vector<std::pair<std::string, std::string>>> DecodeQuery(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (query.empty()) return pairs;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::string_view part = query.substr(start, end - start);
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    std::optional<std::string> name = StrictDecode(part.substr(0, equals));
    std::optional<std::string> value = StrictDecode(part.substr(equals + 1));
    if (!name || !value) return std::nullopt;
    pairs.emplace_back(std::move(*name), std::move(*value));
    if (end == query.size()) break;
    start = end + 1;
  }
  return pairs;
}

// The canonical query must list `expected` (minus `skip`) sorted by name, each value intact.
void CheckCanonicalQuery(std::string_view query, const ota::ParamMap& expected,
                         std::string_view skip = {}) {
  const auto decoded = DecodeQuery(query);
  FUZZ_CHECK(decoded.has_value());
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const auto& [name, value] : expected) {
    // A nameless parameter cannot be read back, so it is never sent (and never signed).
    if (!name.empty() && (skip.empty() || name != skip)) wanted.emplace_back(name, value);
  }
  FUZZ_CHECK(*decoded == wanted);  // std::map order is byte order: sorted and complete
}

ota::ParamMap ConsumeParams(FuzzedDataProvider& provider, int max_count) {
  ota::ParamMap params;
  const int count = provider.ConsumeIntegralInRange(0, max_count);
  for (int i = 0; i < count; ++i) {
    std::string name = provider.ConsumeRandomLengthString(24);
    params.insert_or_assign(std::move(name), provider.ConsumeRandomLengthString(48));
  }
  return params;
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void CheckPercentEncode(const std::string& text) {
  const std::string encoded = ota::PercentEncode(text);
  const std::optional<std::string> decoded = StrictDecode(encoded);
  FUZZ_CHECK(decoded.has_value() && *decoded == text);
}

void CheckV1(const ota::ParamMap& params) {
  const std::string query = ota::V1CanonicalQuery(params);
  CheckCanonicalQuery(query, params, "Signature");
  const std::string to_sign = ota::V1StringToSign("POST", params);
  FUZZ_CHECK(to_sign == "POST&%2F&" + ota::PercentEncode(query));
}

void CheckAcs3(const ota::ParamMap& query, const ota::ParamMap& headers, const std::string& body,
               const std::string& key_id, const std::string& secret) {
  const std::string canonical_query = ota::Acs3CanonicalQuery(query);
  CheckCanonicalQuery(canonical_query, query);

  const ota::Acs3Input input{
      .method = "POST", .path = "/", .query = query, .headers = headers, .body = body};
  const ota::Acs3Result result = ota::Acs3Sign(input, key_id, secret);
  const ota::Acs3Result again = ota::Acs3Sign(input, key_id, secret);
  FUZZ_CHECK(result.authorization == again.authorization);
  FUZZ_CHECK(result.canonical_request.rfind("POST\n/\n" + canonical_query + "\n", 0) == 0);
  FUZZ_CHECK(result.canonical_request.size() >= 64 &&
             result.canonical_request.substr(result.canonical_request.size() - 64) ==
                 ota::Sha256Hex(body));
  FUZZ_CHECK(result.hashed_canonical_request == ota::Sha256Hex(result.canonical_request));
  FUZZ_CHECK(result.string_to_sign == "ACS3-HMAC-SHA256\n" + result.hashed_canonical_request);
  FUZZ_CHECK(result.signature.size() == 64 && IsLowerHex(result.signature));

  // SignedHeaders: every given name lower-cased, once, sorted.
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string expected_signed;
  for (const std::string& name : names) {
    if (!expected_signed.empty()) expected_signed.push_back(';');
    expected_signed += name;
  }
  FUZZ_CHECK(result.signed_headers == expected_signed);
}

// The query part of a URL the signer built (empty when it has none).
std::string_view QueryOf(const std::string& url) {
  const std::size_t question = url.find('?');
  return question == std::string::npos ? std::string_view()
                                       : std::string_view(url).substr(question + 1);
}

void CheckSignedRequest(ota::SignatureVersion version, const ota::RpcCall& call,
                        const ota::Credentials& credentials, std::string_view nonce,
                        absl::Time now) {
  const ota::Endpoint endpoint{
      .scheme = "https", .host = "iot.cn-shanghai.aliyuncs.com", .path = "/"};
  const ota::HttpRequest request =
      ota::SignRpcCall(version, call, endpoint, credentials, now, nonce);
  FUZZ_CHECK(request.method == "POST" && request.body.empty());
  FUZZ_CHECK(request.url.rfind("https://iot.cn-shanghai.aliyuncs.com/", 0) == 0);
  const auto decoded = DecodeQuery(QueryOf(request.url));
  FUZZ_CHECK(decoded.has_value());
  ota::ParamMap sent;
  for (const auto& [name, value] : *decoded) {
    FUZZ_CHECK(sent.emplace(name, value).second);  // no parameter twice
  }
  if (version == ota::SignatureVersion::kAcs3HmacSha256) {
    ota::ParamMap named = call.params;
    named.erase("");
    FUZZ_CHECK(sent == named);
  } else {
    // v1: the API's own parameters are all there unless they collide with a common one.
    FUZZ_CHECK(sent.count("Signature") == 1);
    FUZZ_CHECK(sent.count("") == 0);
    FUZZ_CHECK(sent.count("SecurityToken") == (credentials.security_token.empty() ? 0U : 1U));
    for (const auto& [name, value] : call.params) {
      const bool common = name == "AccessKeyId" || name == "Action" || name == "Format" ||
                          name == "SignatureMethod" || name == "SignatureNonce" ||
                          name == "SignatureVersion" || name == "Timestamp" || name == "Version" ||
                          name == "Signature" || name == "SecurityToken";
      if (name.empty() || common) continue;  // checked above, or never sent
      const auto it = sent.find(name);
      FUZZ_CHECK(it != sent.end() && it->second == value);
    }
    FUZZ_CHECK(sent.at("Action") == call.action && sent.at("SignatureNonce") == nonce);
    ota::ParamMap unsigned_params = sent;
    unsigned_params.erase("Signature");
    FUZZ_CHECK(sent.at("Signature") ==
               ota::V1Signature(credentials.access_key_secret,
                                ota::V1StringToSign("POST", unsigned_params)));
  }
  // The secret (made unguessable by the harness) is never sent.
  FUZZ_CHECK(request.url.find(credentials.access_key_secret) == std::string::npos);
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(value.find(credentials.access_key_secret) == std::string::npos);
  }
}

// A marker the fuzzer places somewhere in an endpoint URL; wherever it lands inside the userinfo,
// query or fragment, the error message must not show it.
constexpr std::string_view kMarker = "Zq7MarkerPw";

bool MarkerIsPrivate(std::string_view url) {
  const std::size_t marker = url.find(kMarker);
  if (marker == std::string_view::npos) return false;
  const std::size_t fragment_or_query = url.find_first_of("?#");
  if (fragment_or_query != std::string_view::npos && marker > fragment_or_query) return true;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || marker < scheme_end + 3) return false;
  // RFC 3986: the authority ends at the first '/', '?' or '#'; userinfo is before its last '@'.
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const std::size_t at = authority.rfind('@');
  return at != std::string_view::npos && marker + kMarker.size() <= authority_start + at;
}

void CheckEndpoint(const std::string& url) {
  const absl::StatusOr<ota::Endpoint> endpoint = ota::ParseEndpoint(url);
  if (!endpoint.ok()) {
    FUZZ_CHECK(endpoint.status().code() == absl::StatusCode::kInvalidArgument);
    if (MarkerIsPrivate(url)) {
      FUZZ_CHECK(endpoint.status().message().find(std::string(kMarker)) == std::string::npos);
    }
    return;
  }
  FUZZ_CHECK(endpoint->scheme == "https" || endpoint->scheme == "http");
  FUZZ_CHECK(!endpoint->host.empty() && !endpoint->path.empty() && endpoint->path[0] == '/');
  for (char c : endpoint->host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  const absl::StatusOr<ota::Endpoint> again =
      ota::ParseEndpoint(endpoint->scheme + "://" + endpoint->host + endpoint->path);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->scheme == endpoint->scheme && again->host == endpoint->host &&
             again->path == endpoint->path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  switch (provider.ConsumeIntegralInRange(0, 4)) {
    case 0:
      CheckPercentEncode(provider.ConsumeRemainingBytesAsString());
      break;
    case 1:
      CheckV1(ConsumeParams(provider, 8));
      break;
    case 2: {
      const ota::ParamMap query = ConsumeParams(provider, 6);
      const ota::ParamMap headers = ConsumeParams(provider, 6);
      const std::string key_id = provider.ConsumeRandomLengthString(24);
      const std::string secret = provider.ConsumeRandomLengthString(40);
      CheckAcs3(query, headers, provider.ConsumeRemainingBytesAsString(), key_id, secret);
      break;
    }
    case 3: {
      ota::RpcCall call;
      call.action = provider.ConsumeRandomLengthString(32);
      call.version = provider.ConsumeRandomLengthString(16);
      call.params = ConsumeParams(provider, 6);
      ota::Credentials credentials;
      credentials.access_key_id = provider.ConsumeRandomLengthString(24);
      // A secret no parameter can contain by chance: a fixed unguessable prefix.
      credentials.access_key_secret = "sEcReT-9f2c1d-" + provider.ConsumeRandomLengthString(16);
      if (provider.ConsumeBool())
        credentials.security_token = provider.ConsumeRandomLengthString(40);
      const std::string nonce = provider.ConsumeRandomLengthString(32);
      const absl::Time now =
          absl::FromUnixSeconds(provider.ConsumeIntegralInRange<std::int64_t>(0, 4102444800));
      const auto version = provider.ConsumeBool() ? ota::SignatureVersion::kV1HmacSha1
                                                  : ota::SignatureVersion::kAcs3HmacSha256;
      // Inputs that carry the secret's prefix themselves are not a leak the signer could avoid.
      const std::string everything = call.action + call.version + credentials.access_key_id +
                                     credentials.security_token + nonce;
      bool contains_secret = everything.find("sEcReT-9f2c1d-") != std::string::npos;
      for (const auto& [name, value] : call.params) {
        contains_secret |= (name + value).find("sEcReT-9f2c1d-") != std::string::npos;
      }
      if (!contains_secret) CheckSignedRequest(version, call, credentials, nonce, now);
      break;
    }
    case 4: {
      // Either fully fuzzed, or a fuzzed URL with the private marker spliced in.
      std::string url = provider.ConsumeRandomLengthString(64);
      if (provider.ConsumeBool()) {
        url.insert(provider.ConsumeIntegralInRange<std::size_t>(0, url.size()), kMarker);
      }
      url += provider.ConsumeRemainingBytesAsString();
      CheckEndpoint(url);
      break;
    }
  }
  return 0;
}
