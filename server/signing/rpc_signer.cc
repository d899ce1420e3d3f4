#include "server/signing/rpc_signer.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "server/base/url_redaction.h"

// What the official SDKs send, and so what we send (checked against the installed sources of
// alibabacloud_tea_openapi 0.3.16 / alibabacloud_openapi_util 0.2.2 and aliyun-python-sdk-core
// 2.16.1, and pinned by tests/e2e/test_signer_differential.py):
//   - Both signatures use `POST /` with every API parameter in the query string and an empty body
//     (the IoT 2018-01-20 client puts JobId/IotInstanceId into `query`, and the old SDK's
//     CancelOTAStrategyByJobRequest uses add_query_param).
//   - v1 (tea_openapi's do_rpcrequest): the common parameters go into the query too, the Signature
//     is appended to it, and the headers are host, x-acs-version and x-acs-action. Format is "JSON"
//     as the documentation and aliyun-python-sdk-core spell it (tea_openapi sends "json").
//     aliyun-python-sdk-core also sends an empty `SignatureType=`; tea_openapi does not, nor do we.
//   - v3 (tea_openapi's do_request): no common parameters in the query; host, x-acs-action,
//     x-acs-version, x-acs-date, x-acs-signature-nonce and x-acs-content-sha256 headers, plus
//     x-acs-accesskey-id and x-acs-security-token with STS credentials. The SDK signs every header
//     it sends (user-agent and accept included); we sign exactly the headers the documentation
//     requires (host and x-acs-*) and send `accept` unsigned: the documented verification covers
//     exactly the headers that SignedHeaders names.
//   - The SDKs put values into the URL with Python's urlencode (space as '+'); we send the strict
//     RFC 3986 form (space as %20), which the server decodes to the same value.

namespace ota {
namespace {

using ParamView = std::pair<std::string_view, std::string_view>;

constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr std::string_view kAcs3Algorithm = "ACS3-HMAC-SHA256";

// RFC 3986 unreserved characters: the only bytes Alibaba's canonical form leaves as they are.
constexpr std::array<bool, 256> MakeUnreservedTable() {
  std::array<bool, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (char c : {'-', '_', '.', '~'}) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kUnreserved = MakeUnreservedTable();

// Debian's Abseil keeps its own string_view type (not std::string_view), so std::string_view
// arguments are bridged explicitly.
absl::string_view AsAbsl(std::string_view text) { return {text.data(), text.size()}; }
std::string_view AsStd(absl::string_view text) { return {text.data(), text.size()}; }

bool IsUnreserved(char c) { return kUnreserved[static_cast<unsigned char>(c)]; }

void AppendPercentEncoded(std::string& out, std::string_view text) {
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      const char encoded[3] = {'%', kHexUpper[byte >> 4], kHexUpper[byte & 0xF]};
      out.append(encoded, 3);
    }
  }
}

// Appends PercentEncode(PercentEncode(text)) in one pass: the v1 string-to-sign encodes the
// already-encoded canonical query again, which turns every "%XX" into "%25XX".
void AppendPercentEncodedTwice(std::string& out, std::string_view text) {
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      const char encoded[5] = {'%', '2', '5', kHexUpper[byte >> 4], kHexUpper[byte & 0xF]};
      out.append(encoded, 5);
    }
  }
}

std::size_t EncodedSizeEstimate(const std::vector<ParamView>& params) {
  std::size_t size = 0;
  for (const auto& [name, value] : params) size += name.size() + value.size() + 2;
  return size;
}

// "k1=v1&k2=v2" over `params`, which must already be sorted by name.
void AppendCanonicalQuery(std::string& out, const std::vector<ParamView>& params) {
  bool first = true;
  for (const auto& [name, value] : params) {
    if (!first) out.push_back('&');
    first = false;
    AppendPercentEncoded(out, name);
    out.push_back('=');
    AppendPercentEncoded(out, value);
  }
}

std::vector<ParamView> SortedViews(const ParamMap& params, std::string_view skip_name = {}) {
  std::vector<ParamView> views;
  views.reserve(params.size());
  for (const auto& [name, value] : params) {
    // A parameter without a name cannot be read back by the server (form decoders drop it), so
    // signing it would make every such request fail verification; it is not sent at all.
    if (name.empty() || (!skip_name.empty() && name == skip_name)) continue;
    views.emplace_back(name, value);
  }
  return views;  // std::map already iterates in byte order, which is the order Alibaba signs in
}

[[noreturn]] void CryptoUnavailable(const char* what) {
  // Without a working digest no request can be signed at all; this is a broken OpenSSL
  // installation, not a condition a caller could handle.
  std::fprintf(stderr, "ota rpc_signer: OpenSSL cannot provide %s\n", what);
  std::abort();
}

// --- OpenSSL plumbing. Algorithm objects are fetched once (they are immutable and shared safely);
// the contexts that carry per-call state are per thread, so concurrent signing never shares one and
// no call pays for allocating a context or looking an algorithm up by name.

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) CryptoUnavailable("HMAC");
  return mac;
}

MacCtxPtr NewHmacContext(const char* digest_name) {
  MacCtxPtr ctx(EVP_MAC_CTX_new(HmacAlgorithm()));
  if (ctx == nullptr) CryptoUnavailable("an HMAC context");
  // The digest is bound once here; each EVP_MAC_init later only swaps the key.
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) CryptoUnavailable(digest_name);
  return ctx;
}

// HMAC of `data` under `key` with the digest bound to `ctx`; returns the MAC length written.
std::size_t Hmac(EVP_MAC_CTX* ctx, std::string_view key, std::string_view data, unsigned char* out,
                 std::size_t out_capacity) {
  std::size_t out_length = 0;
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr) !=
          1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &out_length, out_capacity) != 1) {
    CryptoUnavailable("an HMAC result");
  }
  return out_length;
}

EVP_MAC_CTX* ThreadHmacSha1() {
  thread_local const MacCtxPtr ctx = NewHmacContext("SHA1");
  return ctx.get();
}

EVP_MAC_CTX* ThreadHmacSha256() {
  thread_local const MacCtxPtr ctx = NewHmacContext("SHA256");
  return ctx.get();
}

const std::string& EmptyBodySha256() {
  static const std::string* const hash = new std::string(Sha256Hex(""));
  return *hash;
}

// --- ACS3 core, shared by the public Acs3Sign and SignRpcCall. `headers` are lower-case, sorted by
// name, with values already trimmed (and duplicates merged).
Acs3Result Acs3SignSorted(std::string_view method, std::string_view path,
                          std::string_view canonical_query, const std::vector<ParamView>& headers,
                          std::string_view payload_hash, std::string_view access_key_id,
                          std::string_view access_key_secret) {
  Acs3Result result;
  std::size_t headers_size = 0;
  for (const auto& [name, value] : headers) headers_size += 2 * name.size() + value.size() + 3;
  result.signed_headers.reserve(headers_size);
  for (const auto& [name, value] : headers) {
    if (!result.signed_headers.empty()) result.signed_headers.push_back(';');
    result.signed_headers.append(name);
  }

  std::string& request = result.canonical_request;
  request.reserve(method.size() + path.size() + canonical_query.size() + headers_size +
                  result.signed_headers.size() + payload_hash.size() + 8);
  request.append(method).push_back('\n');
  request.append(path.empty() ? std::string_view("/") : path).push_back('\n');
  request.append(canonical_query).push_back('\n');
  for (const auto& [name, value] : headers) {
    request.append(name).push_back(':');
    request.append(value).push_back('\n');
  }
  request.push_back('\n');
  request.append(result.signed_headers).push_back('\n');
  request.append(payload_hash);

  result.hashed_canonical_request.reserve(64);
  AppendSha256Hex(result.hashed_canonical_request, request);
  result.string_to_sign.reserve(kAcs3Algorithm.size() + 1 + 64);
  result.string_to_sign.append(kAcs3Algorithm).push_back('\n');
  result.string_to_sign.append(result.hashed_canonical_request);

  unsigned char mac[EVP_MAX_MD_SIZE];
  const std::size_t mac_length =
      Hmac(ThreadHmacSha256(), access_key_secret, result.string_to_sign, mac, sizeof(mac));
  result.signature.reserve(2 * mac_length);
  AppendLowerHex(result.signature, mac, mac_length);

  result.authorization =
      absl::StrCat(AsAbsl(kAcs3Algorithm), " Credential=", AsAbsl(access_key_id),
                   ",SignedHeaders=", result.signed_headers, ",Signature=", result.signature);
  return result;
}

std::string V1SignatureOf(std::string_view secret, std::string_view string_to_sign) {
  std::string key;
  key.reserve(secret.size() + 1);
  key.append(secret).push_back('&');
  unsigned char mac[EVP_MAX_MD_SIZE];
  const std::size_t mac_length = Hmac(ThreadHmacSha1(), key, string_to_sign, mac, sizeof(mac));
  // Base64 of n bytes is 4*ceil(n/3) characters; EVP_EncodeBlock also writes a terminating NUL.
  std::string encoded(4 * ((mac_length + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), mac,
                                      static_cast<int>(mac_length));
  encoded.resize(static_cast<std::size_t>(written));
  return encoded;
}

// Builds "scheme://host/path?" so the caller can append the query.
std::string UrlPrefix(const Endpoint& endpoint, std::size_t query_size) {
  std::string url;
  url.reserve(endpoint.scheme.size() + 3 + endpoint.host.size() + endpoint.path.size() + 1 +
              query_size);
  url.append(endpoint.scheme).append("://").append(endpoint.host);
  url.append(endpoint.path.empty() ? std::string_view("/") : std::string_view(endpoint.path));
  url.push_back('?');
  return url;
}

HttpRequest SignV1(const RpcCall& call, const Endpoint& endpoint, const Credentials& credentials,
                   absl::Time now, std::string_view nonce) {
  const std::string timestamp = FormatAlibabaTimestamp(now);
  // Common parameters win over same-named entries in call.params: an API parameter map must not be
  // able to replace the action, the key or the signature settings.
  std::vector<ParamView> params = {
      {"AccessKeyId", credentials.access_key_id},
      {"Action", call.action},
      {"Format", "JSON"},
      {"SignatureMethod", "HMAC-SHA1"},
      {"SignatureNonce", nonce},
      {"SignatureVersion", "1.0"},
      {"Timestamp", timestamp},
      {"Version", call.version},
  };
  if (!credentials.security_token.empty()) {
    params.emplace_back("SecurityToken", credentials.security_token);
  }
  const std::size_t common_count = params.size();
  params.reserve(common_count + call.params.size());
  for (const auto& param : call.params) {
    const std::string& name = param.first;
    // SecurityToken is a common parameter even when these credentials carry none.
    const bool reserved =
        name.empty() || name == "Signature" || name == "SecurityToken" ||
        std::any_of(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(common_count),
                    [&name](const ParamView& common) { return common.first == name; });
    if (!reserved) params.emplace_back(name, param.second);
  }
  std::sort(params.begin(), params.end(),
            [](const ParamView& a, const ParamView& b) { return a.first < b.first; });

  const std::size_t estimate = EncodedSizeEstimate(params);
  HttpRequest request;
  request.method = "POST";
  request.url = UrlPrefix(endpoint, 3 * estimate + 48);
  const std::size_t query_start = request.url.size();
  AppendCanonicalQuery(request.url, params);

  std::string string_to_sign;
  string_to_sign.reserve(5 * estimate + 16);
  string_to_sign.append("POST&%2F&");
  // The URL's query is exactly the canonical query, so it is encoded once more in place.
  AppendPercentEncoded(string_to_sign, std::string_view(request.url).substr(query_start));

  const std::string signature = V1SignatureOf(credentials.access_key_secret, string_to_sign);
  request.url.append("&Signature=");
  AppendPercentEncoded(request.url, signature);

  request.headers = {{"host", endpoint.host},
                     {"accept", "application/json"},
                     {"x-acs-action", call.action},
                     {"x-acs-version", call.version}};
  return request;
}

HttpRequest SignV3(const RpcCall& call, const Endpoint& endpoint, const Credentials& credentials,
                   absl::Time now, std::string_view nonce) {
  const std::string date = FormatAlibabaTimestamp(now);
  const std::string& payload_hash = EmptyBodySha256();
  std::vector<ParamView> headers = {
      {"host", endpoint.host},
      {"x-acs-action", call.action},
      {"x-acs-content-sha256", payload_hash},
      {"x-acs-date", date},
      {"x-acs-signature-nonce", nonce},
      {"x-acs-version", call.version},
  };
  if (!credentials.security_token.empty()) {
    // tea_openapi names the key beside the token for STS credentials.
    headers.emplace_back("x-acs-accesskey-id", credentials.access_key_id);
    headers.emplace_back("x-acs-security-token", credentials.security_token);
    std::sort(headers.begin(), headers.end());
  }
  // Header values the signer puts in come from configuration and callers; the canonical form trims
  // them, so send them trimmed too (the server trims what it receives before verifying).
  for (auto& [name, value] : headers) value = AsStd(absl::StripAsciiWhitespace(AsAbsl(value)));

  const std::vector<ParamView> query = SortedViews(call.params);
  HttpRequest request;
  request.method = "POST";
  request.url = UrlPrefix(endpoint, 3 * EncodedSizeEstimate(query));
  const std::size_t query_start = request.url.size();
  AppendCanonicalQuery(request.url, query);
  if (request.url.size() == query_start) request.url.pop_back();  // no '?' without a query

  const std::string_view path = endpoint.path.empty() ? "/" : std::string_view(endpoint.path);
  const std::string_view canonical_query = request.url.size() > query_start
                                               ? std::string_view(request.url).substr(query_start)
                                               : std::string_view();
  Acs3Result signed_request =
      Acs3SignSorted("POST", path, canonical_query, headers, payload_hash,
                     credentials.access_key_id, credentials.access_key_secret);

  request.headers.reserve(headers.size() + 2);
  for (const auto& [name, value] : headers) request.headers.emplace_back(name, value);
  request.headers.emplace_back("accept", "application/json");
  request.headers.emplace_back("authorization", std::move(signed_request.authorization));
  return request;
}

// Host part of an endpoint: a DNS name or IPv4 address, or a bracketed IPv6 literal.
bool IsValidHostName(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    return std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
      return absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

}  // namespace

absl::StatusOr<SignatureVersion> ParseSignatureVersion(std::string_view text) {
  if (absl::EqualsIgnoreCase(AsAbsl(text), "v3") ||
      absl::EqualsIgnoreCase(AsAbsl(text), "ACS3-HMAC-SHA256")) {
    return SignatureVersion::kAcs3HmacSha256;
  }
  if (absl::EqualsIgnoreCase(AsAbsl(text), "v1") ||
      absl::EqualsIgnoreCase(AsAbsl(text), "HMAC-SHA1")) {
    return SignatureVersion::kV1HmacSha1;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown signature version \"", AsAbsl(text),
                   "\": use \"v3\" (ACS3-HMAC-SHA256, the default) or \"v1\" (HMAC-SHA1)"));
}

std::string_view SignatureVersionName(SignatureVersion version) {
  switch (version) {
    case SignatureVersion::kV1HmacSha1:
      return "v1";
    case SignatureVersion::kAcs3HmacSha256:
      return "v3";
  }
  return "unknown";
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view url) {
  const std::string shown = RedactedUrl(url);
  const auto invalid = [&shown](std::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("invalid endpoint \"", shown,
                                                   "\": ", AsAbsl(problem),
                                                   " (expected http(s)://host[:port][/path], e.g. "
                                                   "https://iot.cn-shanghai.aliyuncs.com/)"));
  };
  Endpoint endpoint;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return invalid("it has no scheme; start it with https://");
  endpoint.scheme = absl::AsciiStrToLower(AsAbsl(url.substr(0, scheme_end)));
  if (endpoint.scheme != "https" && endpoint.scheme != "http") {
    return invalid("the scheme must be https (or http for a local emulator)");
  }
  if (url.find('#') != std::string_view::npos) return invalid("remove the #fragment");
  if (url.find('?') != std::string_view::npos) {
    return invalid("remove the ?query; the signer builds the query string itself");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return invalid("remove the user:password@ part; credentials come from the environment");
  }
  if (authority.empty()) return invalid("the host is empty");

  // Split off the port: the last ':' that is not inside an IPv6 literal.
  std::string_view host = authority;
  std::string_view port;
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    int port_number = 0;
    if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(AsAbsl(port), &port_number) || port_number < 1 || port_number > 65535) {
      return invalid("the port must be a number from 1 to 65535");
    }
  }
  if (host.empty()) return invalid("the host is empty");
  if (!IsValidHostName(host)) {
    return invalid("the host may hold only letters, digits, '-' and '.' (or a [IPv6] literal)");
  }
  if (!std::all_of(path.begin(), path.end(), [](char c) { return IsUnreserved(c) || c == '/'; })) {
    return invalid("the path may hold only letters, digits, '/', '-', '_', '.' and '~'");
  }

  endpoint.host = absl::AsciiStrToLower(AsAbsl(host));
  // The default port is left out, as the Host header a client sends for it omits it too.
  const bool default_port =
      (endpoint.scheme == "https" && port == "443") || (endpoint.scheme == "http" && port == "80");
  if (!port.empty() && !default_port) absl::StrAppend(&endpoint.host, ":", AsAbsl(port));
  endpoint.path = std::string(path);
  return endpoint;
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  AppendPercentEncoded(out, text);
  return out;
}

std::string V1CanonicalQuery(const ParamMap& params) {
  const std::vector<ParamView> views = SortedViews(params, "Signature");
  std::string out;
  out.reserve(EncodedSizeEstimate(views) * 3 / 2);
  AppendCanonicalQuery(out, views);
  return out;
}

std::string V1StringToSign(std::string_view method, const ParamMap& params) {
  const std::vector<ParamView> views = SortedViews(params, "Signature");
  std::string out;
  out.reserve(method.size() + 5 + EncodedSizeEstimate(views) * 2);
  out.append(method).append("&%2F&");
  bool first = true;
  for (const auto& [name, value] : views) {
    if (!first) out.append("%26");
    first = false;
    AppendPercentEncodedTwice(out, name);
    out.append("%3D");
    AppendPercentEncodedTwice(out, value);
  }
  return out;
}

std::string V1Signature(std::string_view secret, std::string_view string_to_sign) {
  return V1SignatureOf(secret, string_to_sign);
}

std::string Acs3CanonicalQuery(const ParamMap& query) {
  const std::vector<ParamView> views = SortedViews(query);
  std::string out;
  out.reserve(EncodedSizeEstimate(views) * 3 / 2);
  AppendCanonicalQuery(out, views);
  return out;
}

Acs3Result Acs3Sign(const Acs3Input& input, std::string_view access_key_id,
                    std::string_view access_key_secret) {
  // Canonical headers: lower-case names, trimmed values, one line per name (the SDKs join repeated
  // names' values with ',' in sorted order), sorted by name.
  std::vector<std::pair<std::string, std::string>> merged;
  merged.reserve(input.headers.size());
  for (const auto& [name, value] : input.headers) {
    merged.emplace_back(absl::AsciiStrToLower(name),
                        std::string(absl::StripAsciiWhitespace(value)));
  }
  std::sort(merged.begin(), merged.end());
  std::vector<ParamView> headers;
  headers.reserve(merged.size());
  for (std::size_t i = 0; i < merged.size();) {
    std::size_t j = i + 1;
    while (j < merged.size() && merged[j].first == merged[i].first) {
      absl::StrAppend(&merged[i].second, ",", merged[j].second);
      ++j;
    }
    headers.emplace_back(merged[i].first, merged[i].second);
    i = j;
  }
  std::string payload_hash = Sha256Hex(input.body);
  const std::string canonical_query = Acs3CanonicalQuery(input.query);
  return Acs3SignSorted(input.method, input.path, canonical_query, headers, payload_hash,
                        access_key_id, access_key_secret);
}

HttpRequest SignRpcCall(SignatureVersion version, const RpcCall& call, const Endpoint& endpoint,
                        const Credentials& credentials, absl::Time now, std::string_view nonce) {
  switch (version) {
    case SignatureVersion::kV1HmacSha1:
      return SignV1(call, endpoint, credentials, now, nonce);
    case SignatureVersion::kAcs3HmacSha256:
      return SignV3(call, endpoint, credentials, now, nonce);
  }
  return SignV3(call, endpoint, credentials, now, nonce);
}

std::string NewNonce() {
  // Drawn from OpenSSL's CSPRNG a block at a time: one RAND_bytes call per nonce cost about 2 us
  // (its DRBG locking), 2.5% of the gateway's CPU per call in a profile. Each thread keeps its own
  // block, and every byte is used once, so nonces stay as unpredictable and unique as before.
  // (The gateway never forks, so no child can replay a parent's block.)
  constexpr std::size_t kNonceBytes = 16;
  constexpr std::size_t kBlockBytes = 64 * kNonceBytes;
  thread_local std::array<unsigned char, kBlockBytes> block;
  thread_local std::size_t used = kBlockBytes;
  if (used == kBlockBytes) {
    if (RAND_bytes(block.data(), static_cast<int>(block.size())) != 1) {
      CryptoUnavailable("random bytes for a nonce");
    }
    used = 0;
  }
  std::string nonce;
  nonce.reserve(2 * kNonceBytes);
  AppendLowerHex(nonce, block.data() + used, kNonceBytes);
  OPENSSL_cleanse(block.data() + used, kNonceBytes);  // a used nonce's bytes do not linger
  used += kNonceBytes;
  return nonce;
}

}  // namespace ota
