#include "server/signing/rpc_signer.h"

#include <cctype>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Json = nlohmann::json;

Credentials TestCredentials() {
  return {.access_key_id = "testid", .access_key_secret = "testsecret", .security_token = ""};
}
Credentials StsCredentials() {
  return {.access_key_id = "STS.testid",
          .access_key_secret = "testsecret",
          .security_token = "token/with+odd=chars"};
}
// 2016-02-23T12:46:24Z, the timestamp of the published v1 example.
constexpr absl::Time kNow = absl::FromUnixSeconds(1456231584);
constexpr std::string_view kNonce = "3ee8c1b883d344afa94f4e0ad82fd6cf";

// --- Helpers that read a signed request back the way a server would.

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Every (name, value) pair in the URL's query, decoded, in order (repeats kept).
std::vector<std::pair<std::string, std::string>> QueryPairs(std::string_view url) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const std::size_t question = url.find('?');
  if (question == std::string_view::npos) return pairs;
  std::string_view query = url.substr(question + 1);
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const std::size_t equals = part.find('=');
    pairs.emplace_back(
        PercentDecode(part.substr(0, equals)),
        equals == std::string_view::npos ? "" : PercentDecode(part.substr(equals + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return pairs;
}

int CountName(const std::vector<std::pair<std::string, std::string>>& pairs,
              std::string_view name) {
  int count = 0;
  for (const auto& [key, value] : pairs) count += key == name ? 1 : 0;
  return count;
}

std::string ValueOf(const std::vector<std::pair<std::string, std::string>>& pairs,
                    std::string_view name) {
  for (const auto& [key, value] : pairs) {
    if (key == name) return value;
  }
  return "<absent>";
}

std::string HeaderOf(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

Json LoadVectors() {
  std::ifstream in(OTA_SOURCE_DIR "/tests/testdata/signing_vectors.json");
  EXPECT_TRUE(in.good()) << "tests/testdata/signing_vectors.json is missing";
  return Json::parse(in);
}

ParamMap ToParamMap(const Json& object) {
  ParamMap map;
  for (const auto& [name, value] : object.items()) map[name] = value.get<std::string>();
  return map;
}

// --- The published worked examples, exactly.

TEST(SigningVectorsTest, FileHoldsEveryKindOfVector) {
  const Json vectors = LoadVectors()["vectors"];
  std::set<std::string> kinds;
  for (const Json& vector : vectors) {
    kinds.insert(vector["kind"].get<std::string>());
    EXPECT_FALSE(vector["source"].get<std::string>().empty()) << vector["id"];
  }
  EXPECT_THAT(kinds, ::testing::IsSupersetOf({"rpc_v1", "acs3_canonical_query", "acs3"}));
}

TEST(SigningVectorsTest, V1StringToSignAndSignature) {
  int checked = 0;
  const Json file = LoadVectors();
  for (const Json& vector : file["vectors"]) {
    if (vector["kind"] != "rpc_v1") continue;
    SCOPED_TRACE(vector["id"].get<std::string>());
    const Json& input = vector["input"];
    const Json& expected = vector["expected"];
    const std::string string_to_sign =
        V1StringToSign(input["method"].get<std::string>(), ToParamMap(input["params"]));
    EXPECT_EQ(string_to_sign, expected["string_to_sign"].get<std::string>());
    const std::string signature = V1Signature(input["secret"].get<std::string>(), string_to_sign);
    EXPECT_EQ(signature, expected["signature"].get<std::string>());
    EXPECT_EQ(PercentEncode(signature), expected["signature_urlencoded"].get<std::string>());
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(SigningVectorsTest, Acs3CanonicalQuery) {
  int checked = 0;
  const Json file = LoadVectors();
  for (const Json& vector : file["vectors"]) {
    if (vector["kind"] != "acs3_canonical_query") continue;
    SCOPED_TRACE(vector["id"].get<std::string>());
    EXPECT_EQ(Acs3CanonicalQuery(ToParamMap(vector["input"]["query"])),
              vector["expected"]["canonical_query"].get<std::string>());
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(SigningVectorsTest, Acs3RequestSignature) {
  int checked = 0;
  const Json file = LoadVectors();
  for (const Json& vector : file["vectors"]) {
    if (vector["kind"] != "acs3") continue;
    SCOPED_TRACE(vector["id"].get<std::string>());
    const Json& input = vector["input"];
    const Json& expected = vector["expected"];
    const Acs3Input request{.method = input["method"].get<std::string>(),
                            .path = input["path"].get<std::string>(),
                            .query = ToParamMap(input["query"]),
                            .headers = ToParamMap(input["headers"]),
                            .body = input["body"].get<std::string>()};
    EXPECT_EQ(Sha256Hex(request.body), expected["payload_hash"].get<std::string>());
    const Acs3Result result =
        Acs3Sign(request, input["key_id"].get<std::string>(), input["secret"].get<std::string>());
    EXPECT_EQ(result.hashed_canonical_request,
              expected["hashed_canonical_request"].get<std::string>());
    EXPECT_EQ(result.string_to_sign,
              "ACS3-HMAC-SHA256\n" + expected["hashed_canonical_request"].get<std::string>());
    EXPECT_EQ(result.signature, expected["signature"].get<std::string>());
    EXPECT_EQ(result.authorization, expected["authorization"].get<std::string>());
    EXPECT_EQ(Sha256Hex(result.canonical_request), result.hashed_canonical_request);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// The published v3 example is exactly what SignRpcCall sends for that call, so the whole request
// path (headers chosen, timestamp, hashing, query) is pinned by it, not just the building blocks.
TEST(SignRpcCallTest, V3ReproducesPublishedRunInstancesAuthorization) {
  const RpcCall call{.action = "RunInstances",
                     .version = "2014-05-26",
                     .params = {{"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"},
                                {"RegionId", "cn-shanghai"}}};
  const absl::StatusOr<Endpoint> endpoint = ParseEndpoint("https://ecs.cn-shanghai.aliyuncs.com");
  ASSERT_THAT(endpoint, IsOk());
  const absl::Time when =
      absl::FromCivil(absl::CivilSecond(2023, 10, 26, 10, 22, 32), absl::UTCTimeZone());
  const HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, call, *endpoint,
                                          {.access_key_id = "YourAccessKeyId",
                                           .access_key_secret = "YourAccessKeySecret",
                                           .security_token = ""},
                                          when, "3156853299f313e23d1673dc12e1703d");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.body, "");
  EXPECT_EQ(request.url,
            "https://ecs.cn-shanghai.aliyuncs.com/"
            "?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai");
  EXPECT_EQ(HeaderOf(request, "authorization"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  EXPECT_EQ(HeaderOf(request, "host"), "ecs.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(HeaderOf(request, "x-acs-date"), "2023-10-26T10:22:32Z");
  EXPECT_EQ(HeaderOf(request, "x-acs-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// --- Canonicalisation.

TEST(PercentEncodeTest, ReservedAndSpecialCharacters) {
  EXPECT_EQ(PercentEncode(" "), "%20");
  EXPECT_EQ(PercentEncode("+"), "%2B");
  EXPECT_EQ(PercentEncode("*"), "%2A");
  EXPECT_EQ(PercentEncode("~"), "~");
  EXPECT_EQ(PercentEncode("/"), "%2F");
  EXPECT_EQ(PercentEncode("&"), "%26");
  EXPECT_EQ(PercentEncode("="), "%3D");
  EXPECT_EQ(PercentEncode("%"), "%25");
  EXPECT_EQ(PercentEncode("%41"), "%2541");
  EXPECT_EQ(PercentEncode(""), "");
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode(std::string_view("a\0b", 3)), "a%00b");
}

TEST(PercentEncodeTest, NonAsciiIsEncodedAsUtf8Bytes) {
  EXPECT_EQ(PercentEncode("中文"), "%E4%B8%AD%E6%96%87");
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
  EXPECT_EQ(PercentEncode("\xF0\x9F\x98\x80"), "%F0%9F%98%80");  // U+1F600, 4 UTF-8 bytes
}

TEST(PercentEncodeTest, EveryByteIsKeptOnlyIfUnreserved) {
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    const bool unreserved = std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
    const std::string encoded = PercentEncode(std::string_view(&c, 1));
    if (unreserved && byte < 128) {
      EXPECT_EQ(encoded, std::string(1, c)) << byte;
    } else {
      ASSERT_EQ(encoded.size(), 3u) << byte;
      EXPECT_EQ(encoded[0], '%');
      EXPECT_EQ(HexValue(encoded[1]) * 16 + HexValue(encoded[2]), byte);
      EXPECT_FALSE(std::islower(static_cast<unsigned char>(encoded[1])) ||
                   std::islower(static_cast<unsigned char>(encoded[2])))
          << "hex digits must be upper-case: " << encoded;
    }
  }
}

TEST(CanonicalQueryTest, SortedByByteOrderWithEmptyValues) {
  const ParamMap params = {{"b", "1"}, {"a", ""}, {"B", "x y"}, {"a.1", "中"}};
  EXPECT_EQ(Acs3CanonicalQuery(params), "B=x%20y&a=&a.1=%E4%B8%AD&b=1");
  EXPECT_EQ(V1CanonicalQuery(params), "B=x%20y&a=&a.1=%E4%B8%AD&b=1");
  EXPECT_EQ(Acs3CanonicalQuery({}), "");
}

// Found by fuzz/emulator_request_fuzzer: "=v" was signed, but the server's form decoder drops a
// nameless pair, so the request could never verify.
TEST(CanonicalQueryTest, ParametersWithoutANameAreLeftOut) {
  const ParamMap params = {{"", "orphan"}, {"a", "1"}};
  EXPECT_EQ(Acs3CanonicalQuery(params), "a=1");
  EXPECT_EQ(V1CanonicalQuery(params), "a=1");
  EXPECT_EQ(V1StringToSign("POST", params), "POST&%2F&a%3D1");
  EXPECT_EQ(Acs3CanonicalQuery({{"", ""}}), "");
}

TEST(CanonicalQueryTest, V1LeavesOutTheSignatureItself) {
  const ParamMap params = {{"Action", "A"}, {"Signature", "abc="}};
  EXPECT_EQ(V1CanonicalQuery(params), "Action=A");
  EXPECT_EQ(V1StringToSign("POST", params), "POST&%2F&Action%3DA");
}

TEST(CanonicalQueryTest, V1StringToSignEncodesTheEncodedQueryAgain) {
  const ParamMap params = {{"k", "a b+c*~/&=%é"}, {"e", ""}};
  EXPECT_EQ(V1CanonicalQuery(params), "e=&k=a%20b%2Bc%2A~%2F%26%3D%25%C3%A9");
  EXPECT_EQ(V1StringToSign("POST", params),
            "POST&%2F&e%3D%26k%3Da%2520b%252Bc%252A~%252F%2526%253D%2525%25C3%25A9");
  EXPECT_EQ(V1StringToSign("POST", params), "POST&%2F&" + PercentEncode(V1CanonicalQuery(params)));
}

TEST(Acs3SignTest, HeaderNamesAreLowerCasedTrimmedAndMerged) {
  Acs3Input input{.method = "POST",
                  .path = "/",
                  .query = {},
                  .headers = {{"Host", " example.com "}, {"x-acs-b", "2"}, {"X-Acs-B", "1"}},
                  .body = ""};
  const Acs3Result result = Acs3Sign(input, "id", "secret");
  EXPECT_EQ(result.signed_headers, "host;x-acs-b");
  EXPECT_EQ(result.canonical_request,
            "POST\n/\n\nhost:example.com\nx-acs-b:1,2\n\nhost;x-acs-b\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Acs3SignTest, BodyIsHashedIntoTheCanonicalRequest) {
  Acs3Input input{
      .method = "POST", .path = "/", .query = {}, .headers = {{"host", "h"}}, .body = "abc"};
  const Acs3Result with_body = Acs3Sign(input, "id", "secret");
  // SHA-256("abc") from FIPS 180-2.
  EXPECT_TRUE(absl::EndsWith(with_body.canonical_request,
                             "\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  input.body = "abd";
  EXPECT_NE(Acs3Sign(input, "id", "secret").signature, with_body.signature);
}

TEST(HexSha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// --- The signed request as sent.

RpcCall CancelCall(std::string job_id) {
  return RpcCall{.action = "CancelOTAStrategyByJob",
                 .version = "2018-01-20",
                 .params = {{"JobId", std::move(job_id)}}};
}

Endpoint ShanghaiEndpoint() {
  return Endpoint{.scheme = "https", .host = "iot.cn-shanghai.aliyuncs.com", .path = "/"};
}

TEST(SignRpcCallTest, V1PutsEveryParameterInTheQueryAndSignsIt) {
  const HttpRequest request = SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall("J1"),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.body, "");
  EXPECT_TRUE(absl::StartsWith(request.url, "https://iot.cn-shanghai.aliyuncs.com/?"));
  const auto pairs = QueryPairs(request.url);
  std::vector<std::pair<std::string, std::string>> unsigned_pairs;
  for (const auto& pair : pairs) {
    if (pair.first != "Signature") unsigned_pairs.push_back(pair);
  }
  EXPECT_THAT(unsigned_pairs,
              UnorderedElementsAre(
                  Pair("AccessKeyId", "testid"), Pair("Action", "CancelOTAStrategyByJob"),
                  Pair("Format", "JSON"), Pair("JobId", "J1"), Pair("SignatureMethod", "HMAC-SHA1"),
                  Pair("SignatureNonce", std::string(kNonce)), Pair("SignatureVersion", "1.0"),
                  Pair("Timestamp", "2016-02-23T12:46:24Z"), Pair("Version", "2018-01-20")));
  ASSERT_EQ(CountName(pairs, "Signature"), 1);
  // Verify as the server does: rebuild the string to sign from what arrived.
  const ParamMap received(unsigned_pairs.begin(), unsigned_pairs.end());
  EXPECT_EQ(ValueOf(pairs, "Signature"),
            V1Signature("testsecret", V1StringToSign("POST", received)));
  EXPECT_EQ(HeaderOf(request, "host"), "iot.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(HeaderOf(request, "x-acs-action"), "CancelOTAStrategyByJob");
  EXPECT_EQ(HeaderOf(request, "x-acs-version"), "2018-01-20");
  EXPECT_EQ(HeaderOf(request, "authorization"), "<absent>");
}

TEST(SignRpcCallTest, V1SignatureChangesWithEveryInput) {
  const auto signature = [](const RpcCall& call, const Credentials& credentials, absl::Time now,
                            std::string_view nonce) {
    return ValueOf(QueryPairs(SignRpcCall(SignatureVersion::kV1HmacSha1, call, ShanghaiEndpoint(),
                                          credentials, now, nonce)
                                  .url),
                   "Signature");
  };
  const std::string base = signature(CancelCall("J1"), TestCredentials(), kNow, kNonce);
  EXPECT_NE(signature(CancelCall("J2"), TestCredentials(), kNow, kNonce), base);
  EXPECT_NE(signature(CancelCall("J1"), TestCredentials(), kNow + absl::Seconds(1), kNonce), base);
  EXPECT_NE(signature(CancelCall("J1"), TestCredentials(), kNow, "another-nonce"), base);
  Credentials other_secret = TestCredentials();
  other_secret.access_key_secret = "other";
  EXPECT_NE(signature(CancelCall("J1"), other_secret, kNow, kNonce), base);
  EXPECT_EQ(signature(CancelCall("J1"), TestCredentials(), kNow, kNonce), base);
}

TEST(SignRpcCallTest, V3SignsHeadersAndKeepsParametersInTheQuery) {
  const HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.body, "");
  EXPECT_EQ(request.url, "https://iot.cn-shanghai.aliyuncs.com/?JobId=J1");
  EXPECT_EQ(HeaderOf(request, "x-acs-action"), "CancelOTAStrategyByJob");
  EXPECT_EQ(HeaderOf(request, "x-acs-version"), "2018-01-20");
  EXPECT_EQ(HeaderOf(request, "x-acs-date"), "2016-02-23T12:46:24Z");
  EXPECT_EQ(HeaderOf(request, "x-acs-signature-nonce"), kNonce);
  EXPECT_EQ(HeaderOf(request, "x-acs-content-sha256"), Sha256Hex(""));
  EXPECT_EQ(HeaderOf(request, "x-acs-security-token"), "<absent>");

  // Verify as the server does: sign the received headers named in SignedHeaders.
  ParamMap signed_headers;
  for (const auto& [name, value] : request.headers) {
    if (name == "host" || absl::StartsWith(name, "x-acs-")) signed_headers[name] = value;
  }
  const Acs3Result expected = Acs3Sign({.method = "POST",
                                        .path = "/",
                                        .query = {{"JobId", "J1"}},
                                        .headers = signed_headers,
                                        .body = ""},
                                       "testid", "testsecret");
  EXPECT_EQ(HeaderOf(request, "authorization"), expected.authorization);
  EXPECT_THAT(expected.authorization,
              HasSubstr("SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
                        "x-acs-signature-nonce;x-acs-version,"));
}

TEST(SignRpcCallTest, V3WithoutParametersHasNoQueryString) {
  const RpcCall call{.action = "DescribeRegions", .version = "2014-05-26", .params = {}};
  const HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, call,
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  EXPECT_EQ(request.url, "https://iot.cn-shanghai.aliyuncs.com/");
}

// --- Injection: no value can add, remove or change a parameter.

TEST(SignRpcCallTest, JobIdCannotInjectParametersV1) {
  const std::string hostile = "J1&Action=Other&Signature=x=y%26 +";
  const HttpRequest request = SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall(hostile),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  const auto pairs = QueryPairs(request.url);
  EXPECT_EQ(CountName(pairs, "Action"), 1);
  EXPECT_EQ(ValueOf(pairs, "Action"), "CancelOTAStrategyByJob");
  EXPECT_EQ(CountName(pairs, "JobId"), 1);
  EXPECT_EQ(ValueOf(pairs, "JobId"), hostile);
  EXPECT_EQ(CountName(pairs, "Signature"), 1);
  EXPECT_EQ(pairs.size(), 10u);
}

TEST(SignRpcCallTest, JobIdCannotInjectParametersV3) {
  const std::string hostile = "J1&Action=Other";
  const HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall(hostile),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  const auto pairs = QueryPairs(request.url);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_THAT(pairs[0], Pair("JobId", hostile));
  EXPECT_EQ(HeaderOf(request, "x-acs-action"), "CancelOTAStrategyByJob");
}

TEST(SignRpcCallTest, ApiParametersCannotReplaceCommonParametersV1) {
  RpcCall call = CancelCall("J1");
  call.params["Action"] = "DeleteEverything";
  call.params["AccessKeyId"] = "someone-else";
  call.params["Signature"] = "forged";
  const HttpRequest request = SignRpcCall(SignatureVersion::kV1HmacSha1, call, ShanghaiEndpoint(),
                                          TestCredentials(), kNow, kNonce);
  const auto pairs = QueryPairs(request.url);
  EXPECT_EQ(CountName(pairs, "Action"), 1);
  EXPECT_EQ(ValueOf(pairs, "Action"), "CancelOTAStrategyByJob");
  EXPECT_EQ(ValueOf(pairs, "AccessKeyId"), "testid");
  EXPECT_EQ(CountName(pairs, "Signature"), 1);
  EXPECT_NE(ValueOf(pairs, "Signature"), "forged");
}

// --- STS credentials.

// Found by fuzz/emulator_request_fuzzer: without STS credentials, an API parameter named
// SecurityToken went through and made the request claim a token the key does not have.
TEST(SignRpcCallTest, ApiParametersCannotAddASecurityTokenV1) {
  RpcCall call = CancelCall("J1");
  call.params["SecurityToken"] = "injected";
  const auto plain = QueryPairs(SignRpcCall(SignatureVersion::kV1HmacSha1, call, ShanghaiEndpoint(),
                                            TestCredentials(), kNow, kNonce)
                                    .url);
  EXPECT_EQ(CountName(plain, "SecurityToken"), 0);
  const auto sts = QueryPairs(SignRpcCall(SignatureVersion::kV1HmacSha1, call, ShanghaiEndpoint(),
                                          StsCredentials(), kNow, kNonce)
                                  .url);
  EXPECT_EQ(CountName(sts, "SecurityToken"), 1);
  EXPECT_EQ(ValueOf(sts, "SecurityToken"), "token/with+odd=chars");
}

TEST(SignRpcCallTest, SecurityTokenOnlyWithStsCredentialsV1) {
  const auto with = QueryPairs(SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall("J1"),
                                           ShanghaiEndpoint(), StsCredentials(), kNow, kNonce)
                                   .url);
  EXPECT_EQ(ValueOf(with, "SecurityToken"), "token/with+odd=chars");
  std::vector<std::pair<std::string, std::string>> unsigned_pairs;
  for (const auto& pair : with) {
    if (pair.first != "Signature") unsigned_pairs.push_back(pair);
  }
  EXPECT_EQ(ValueOf(with, "Signature"),
            V1Signature("testsecret", V1StringToSign("POST", ParamMap(unsigned_pairs.begin(),
                                                                      unsigned_pairs.end()))));
  const auto without = QueryPairs(SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall("J1"),
                                              ShanghaiEndpoint(), TestCredentials(), kNow, kNonce)
                                      .url);
  EXPECT_EQ(CountName(without, "SecurityToken"), 0);
}

TEST(SignRpcCallTest, SecurityTokenOnlyWithStsCredentialsV3) {
  const HttpRequest with = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                       ShanghaiEndpoint(), StsCredentials(), kNow, kNonce);
  EXPECT_EQ(HeaderOf(with, "x-acs-security-token"), "token/with+odd=chars");
  EXPECT_EQ(HeaderOf(with, "x-acs-accesskey-id"), "STS.testid");
  EXPECT_THAT(HeaderOf(with, "authorization"),
              HasSubstr("SignedHeaders=host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;"
                        "x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,"));
  EXPECT_EQ(QueryPairs(with.url).size(), 1u);
  const HttpRequest without = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  EXPECT_EQ(HeaderOf(without, "x-acs-security-token"), "<absent>");
  EXPECT_THAT(HeaderOf(without, "authorization"), Not(HasSubstr("security-token")));
}

TEST(SignRpcCallTest, SecretNeverAppearsInTheRequest) {
  for (SignatureVersion version :
       {SignatureVersion::kV1HmacSha1, SignatureVersion::kAcs3HmacSha256}) {
    const HttpRequest request =
        SignRpcCall(version, CancelCall("J1"), ShanghaiEndpoint(), StsCredentials(), kNow, kNonce);
    EXPECT_THAT(request.url, Not(HasSubstr("testsecret")));
    for (const auto& [name, value] : request.headers) {
      EXPECT_THAT(value, Not(HasSubstr("testsecret"))) << name;
    }
  }
}

TEST(SignRpcCallTest, EndpointPortAndPathAreUsed) {
  const absl::StatusOr<Endpoint> endpoint = ParseEndpoint("http://127.0.0.1:8080/iot/");
  ASSERT_THAT(endpoint, IsOk());
  const HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                          *endpoint, TestCredentials(), kNow, kNonce);
  EXPECT_EQ(request.url, "http://127.0.0.1:8080/iot/?JobId=J1");
  EXPECT_EQ(HeaderOf(request, "host"), "127.0.0.1:8080");
}

// Many threads signing at once must each get exactly the single-threaded answer (the signer keeps
// per-thread OpenSSL contexts; a shared one would corrupt results here and under TSan).
TEST(SignRpcCallTest, ConcurrentSigningGivesIdenticalResults) {
  const HttpRequest v1 = SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall("J1"),
                                     ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  const HttpRequest v3 = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                     ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const HttpRequest a = SignRpcCall(SignatureVersion::kV1HmacSha1, CancelCall("J1"),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
        const HttpRequest b = SignRpcCall(SignatureVersion::kAcs3HmacSha256, CancelCall("J1"),
                                          ShanghaiEndpoint(), TestCredentials(), kNow, kNonce);
        if (a.url != v1.url || b.headers != v3.headers) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

// --- Endpoints.

TEST(ParseEndpointTest, AcceptsHostsPortsAndPaths) {
  struct Case {
    std::string url, scheme, host, path;
  };
  const std::vector<Case> cases = {
      {"https://iot.cn-shanghai.aliyuncs.com", "https", "iot.cn-shanghai.aliyuncs.com", "/"},
      {"https://iot.cn-shanghai.aliyuncs.com/", "https", "iot.cn-shanghai.aliyuncs.com", "/"},
      {"HTTPS://IOT.CN-Shanghai.aliyuncs.com/", "https", "iot.cn-shanghai.aliyuncs.com", "/"},
      {"https://iot.cn-shanghai.aliyuncs.com:443/", "https", "iot.cn-shanghai.aliyuncs.com", "/"},
      {"http://127.0.0.1:80", "http", "127.0.0.1", "/"},
      {"http://127.0.0.1:8080", "http", "127.0.0.1:8080", "/"},
      {"https://localhost:8443/api/v1", "https", "localhost:8443", "/api/v1"},
      {"http://[::1]:9000/", "http", "[::1]:9000", "/"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<Endpoint> endpoint = ParseEndpoint(c.url);
    ASSERT_THAT(endpoint, IsOk()) << c.url << ": " << endpoint.status();
    EXPECT_EQ(endpoint->scheme, c.scheme) << c.url;
    EXPECT_EQ(endpoint->host, c.host) << c.url;
    EXPECT_EQ(endpoint->path, c.path) << c.url;
  }
}

TEST(ParseEndpointTest, RejectsWithMessagesThatSayWhatToFix) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"iot.cn-shanghai.aliyuncs.com", "https://"},
      {"ftp://iot.cn-shanghai.aliyuncs.com/", "scheme must be https"},
      {"https://", "host is empty"},
      {"https:///path", "host is empty"},
      {"https://:443/", "host is empty"},
      {"https://user:pw@iot.cn-shanghai.aliyuncs.com/", "user:password@"},
      {"https://iot.cn-shanghai.aliyuncs.com/#top", "fragment"},
      {"https://iot.cn-shanghai.aliyuncs.com/?Action=X", "query"},
      {"https://iot.cn-shanghai.aliyuncs.com:0/", "port"},
      {"https://iot.cn-shanghai.aliyuncs.com:65536/", "port"},
      {"https://iot.cn-shanghai.aliyuncs.com:https/", "port"},
      {"https://iot.cn-shanghai.aliyuncs.com:/", "port"},
      {"https://io t.aliyuncs.com/", "host may hold only"},
      {"https://iot.aliyuncs.com/a b", "path may hold only"},
  };
  for (const auto& [url, hint] : cases) {
    const absl::StatusOr<Endpoint> endpoint = ParseEndpoint(url);
    ASSERT_THAT(endpoint, Not(IsOk())) << url;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(endpoint.status().message(), HasSubstr(hint)) << url;
  }
}

TEST(ParseEndpointTest, ErrorsDoNotEchoPasswordsOrQueries) {
  const absl::StatusOr<Endpoint> with_password =
      ParseEndpoint("https://LTAIkey:hunter2@iot.cn-shanghai.aliyuncs.com/");
  ASSERT_THAT(with_password, Not(IsOk()));
  EXPECT_THAT(with_password.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(with_password.status().message(), Not(HasSubstr("LTAIkey")));
  EXPECT_THAT(with_password.status().message(), HasSubstr("iot.cn-shanghai.aliyuncs.com"));
  const absl::StatusOr<Endpoint> with_query =
      ParseEndpoint("https://iot.cn-shanghai.aliyuncs.com/?AccessKeyId=LTAIkey&Signature=abc");
  ASSERT_THAT(with_query, Not(IsOk()));
  EXPECT_THAT(with_query.status().message(), Not(HasSubstr("LTAIkey")));
}

// --- Versions, nonces, timestamps.

TEST(SignatureVersionTest, ParsesNamesAndRoundTrips) {
  EXPECT_EQ(*ParseSignatureVersion("v1"), SignatureVersion::kV1HmacSha1);
  EXPECT_EQ(*ParseSignatureVersion("HMAC-SHA1"), SignatureVersion::kV1HmacSha1);
  EXPECT_EQ(*ParseSignatureVersion("v3"), SignatureVersion::kAcs3HmacSha256);
  EXPECT_EQ(*ParseSignatureVersion("ACS3-HMAC-SHA256"), SignatureVersion::kAcs3HmacSha256);
  for (SignatureVersion version :
       {SignatureVersion::kV1HmacSha1, SignatureVersion::kAcs3HmacSha256}) {
    EXPECT_EQ(*ParseSignatureVersion(SignatureVersionName(version)), version);
  }
  const absl::StatusOr<SignatureVersion> bad = ParseSignatureVersion("v2");
  ASSERT_THAT(bad, Not(IsOk()));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("\"v3\""));
}

TEST(NewNonceTest, ThirtyTwoLowerHexCharactersAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string nonce = NewNonce();
    ASSERT_EQ(nonce.size(), 32u);
    for (char c : nonce) {
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << nonce;
    }
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(NewNonceTest, ThreadsDrawingAtOnceNeverShareANonce) {
  // Each thread draws from a random block of its own: none may hand out another's bytes.
  constexpr int kThreads = 4;
  constexpr int kEach = 3000;  // several blocks per thread
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&drawn, t] {
      for (int i = 0; i < kEach; ++i) drawn[t].push_back(NewNonce());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> seen;
  for (const auto& nonces : drawn) seen.insert(nonces.begin(), nonces.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace ota
