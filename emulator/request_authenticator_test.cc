// Requests are signed with the gateway's real signer (server/rpc_signer.h) and must pass; each
// rejection path is then provoked by changing one thing.
#include "emulator/request_authenticator.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/signing/rpc_signer.h"
#include "server/testing/fake_clock.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;

using ::testing::HasSubstr;

constexpr absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr char kHost[] = "127.0.0.1:18080";

const AccessKey kKey{
    .id = "KEYID1", .secret = "secret-1", .account = "acct-1", .security_token = ""};
const AccessKey kStsKey{
    .id = "STSKEY", .secret = "secret-2", .account = "acct-1", .security_token = "sts-token-1"};

RpcCall Cancel(const std::string& job_id) {
  return {
      .action = "CancelOTAStrategyByJob", .version = "2018-01-20", .params = {{"JobId", job_id}}};
}

IncomingRequest ToIncoming(const HttpRequest& signed_request) {
  const std::string prefix = absl::StrCat("http://", kHost);
  EXPECT_TRUE(absl::StartsWith(signed_request.url, prefix)) << signed_request.url;
  HeaderList headers = signed_request.headers;
  bool has_host = false;
  for (const auto& [name, value] : headers) has_host |= (name == "host" || name == "Host");
  if (!has_host) headers.emplace_back("Host", kHost);  // what an HTTP client adds by itself
  return MakeIncomingRequest(signed_request.method, signed_request.url.substr(prefix.size()),
                             headers, signed_request.body);
}

class RequestAuthenticatorTest : public ::testing::Test {
 protected:
  IncomingRequest Signed(SignatureVersion version, const RpcCall& call, const AccessKey& key = kKey,
                         absl::Time at = kNow, const std::string& nonce = "") {
    const Credentials credentials{.access_key_id = key.id,
                                  .access_key_secret = key.secret,
                                  .security_token = key.security_token};
    const std::string fresh = nonce.empty() ? absl::StrCat("nonce-", ++nonce_counter_) : nonce;
    return ToIncoming(SignRpcCall(version, call, endpoint_, credentials, at, fresh));
  }

  FakeClock clock_{kNow};
  NonceRegistry nonces_{absl::Minutes(15), clock_};
  RequestAuthenticator auth_{{kKey, kStsKey}, absl::Minutes(15), nonces_, clock_};
  Endpoint endpoint_ = *ParseEndpoint(absl::StrCat("http://", kHost, "/"));
  int nonce_counter_ = 0;
};

class BothVersionsTest : public RequestAuthenticatorTest,
                         public ::testing::WithParamInterface<SignatureVersion> {};

TEST_P(BothVersionsTest, AcceptsWhatTheGatewaySigns) {
  const Authentication a = auth_.Authenticate(Signed(GetParam(), Cancel("job-1")));
  ASSERT_FALSE(a.error) << a.error->code << ": " << a.error->message;
  EXPECT_EQ(a.access_key_id, "KEYID1");
  EXPECT_EQ(a.account, "acct-1");
  EXPECT_EQ(a.action, "CancelOTAStrategyByJob");
  EXPECT_EQ(a.version, "2018-01-20");
  EXPECT_EQ(a.params.at("JobId"), "job-1");
  EXPECT_EQ(a.signature_method,
            GetParam() == SignatureVersion::kV1HmacSha1 ? "HMAC-SHA1" : "ACS3-HMAC-SHA256");
}

TEST_P(BothVersionsTest, AcceptsParameterValuesThatNeedEncoding) {
  RpcCall call = Cancel("job/1 *+~é");
  call.params["IotInstanceId"] = "iot_instc_pu****_c*-v64";
  const Authentication a = auth_.Authenticate(Signed(GetParam(), call));
  ASSERT_FALSE(a.error) << a.error->code << ": " << a.error->message;
  EXPECT_EQ(a.params.at("JobId"), "job/1 *+~é");
}

// Found by fuzz/emulator_request_fuzzer: the signer used to sign a nameless parameter that the
// verifier's decoder never sees, so the call failed with SignatureDoesNotMatch.
TEST_P(BothVersionsTest, AcceptsACallWithANamelessParameter) {
  RpcCall call = Cancel("job-1");
  call.params[""] = "orphan";
  call.params["\n\\"] = "";
  const Authentication a = auth_.Authenticate(Signed(GetParam(), call));
  ASSERT_FALSE(a.error) << a.error->code << ": " << a.error->message;
  EXPECT_EQ(a.params.count(""), 0U);
  EXPECT_EQ(a.params.at("\n\\"), "");
}

TEST_P(BothVersionsTest, WrongSecretIsSignatureDoesNotMatchEndingWithStringToSign) {
  const AccessKey wrong{
      .id = kKey.id, .secret = "not-the-secret", .account = "", .security_token = ""};
  const IncomingRequest request = Signed(GetParam(), Cancel("job-1"), wrong);
  const Authentication a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->http_status, 400);
  EXPECT_EQ(a.error->code, "SignatureDoesNotMatch");
  EXPECT_EQ(a.access_key_id, "KEYID1");
  if (GetParam() == SignatureVersion::kV1HmacSha1) {
    ParamMap params = request.query;
    EXPECT_TRUE(absl::EndsWith(
        a.error->message,
        absl::StrCat("server string to sign is:", V1StringToSign(request.method, params))))
        << a.error->message;
  } else {
    EXPECT_THAT(a.error->message, HasSubstr("server string to sign is:ACS3-HMAC-SHA256\n"));
    EXPECT_EQ(a.error->message.size() - a.error->message.rfind('\n') - 1, 64u);  // hex hash
  }
  EXPECT_THAT(a.error->message, ::testing::Not(HasSubstr("secret")));
}

TEST_P(BothVersionsTest, TamperedParameterIsSignatureDoesNotMatch) {
  IncomingRequest request = Signed(GetParam(), Cancel("job-1"));
  request.query["JobId"] = "job-2";
  const Authentication a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "SignatureDoesNotMatch");
}

TEST_P(BothVersionsTest, UnknownKeyIsNotFound404) {
  const AccessKey unknown{.id = "NOBODY", .secret = "x", .account = "", .security_token = ""};
  const Authentication a = auth_.Authenticate(Signed(GetParam(), Cancel("job-1"), unknown));
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->http_status, 404);
  EXPECT_EQ(a.error->code, "InvalidAccessKeyId.NotFound");
  EXPECT_EQ(a.access_key_id, "NOBODY");
}

TEST_P(BothVersionsTest, ClockSkewBeyondMaxIsExpired) {
  const Authentication late =
      auth_.Authenticate(Signed(GetParam(), Cancel("job-1"), kKey, kNow - absl::Minutes(16)));
  ASSERT_TRUE(late.error);
  EXPECT_EQ(late.error->code, "InvalidTimeStamp.Expired");
  EXPECT_EQ(late.error->http_status, 400);
  const Authentication early =
      auth_.Authenticate(Signed(GetParam(), Cancel("job-1"), kKey, kNow + absl::Minutes(16)));
  ASSERT_TRUE(early.error);
  EXPECT_EQ(early.error->code, "InvalidTimeStamp.Expired");
  const Authentication within =
      auth_.Authenticate(Signed(GetParam(), Cancel("job-1"), kKey, kNow - absl::Minutes(14)));
  EXPECT_FALSE(within.error);
}

TEST_P(BothVersionsTest, ReusedNonceIsRefusedEvenWithAFreshSignature) {
  EXPECT_FALSE(auth_.Authenticate(Signed(GetParam(), Cancel("job-1"), kKey, kNow, "same")).error);
  clock_.Advance(absl::Seconds(5));
  const Authentication again = auth_.Authenticate(
      Signed(GetParam(), Cancel("job-1"), kKey, kNow + absl::Seconds(5), "same"));
  ASSERT_TRUE(again.error);
  EXPECT_EQ(again.error->code, "SignatureNonceUsed");
}

TEST_P(BothVersionsTest, RejectedSignatureDoesNotBurnTheNonce) {
  const AccessKey wrong{.id = kKey.id, .secret = "nope", .account = "", .security_token = ""};
  ASSERT_TRUE(auth_.Authenticate(Signed(GetParam(), Cancel("j"), wrong, kNow, "n1")).error);
  EXPECT_FALSE(auth_.Authenticate(Signed(GetParam(), Cancel("j"), kKey, kNow, "n1")).error);
}

TEST_P(BothVersionsTest, StsKeyNeedsItsToken) {
  const Authentication ok = auth_.Authenticate(Signed(GetParam(), Cancel("j"), kStsKey));
  ASSERT_FALSE(ok.error) << ok.error->code;
  EXPECT_EQ(ok.account, "acct-1");

  AccessKey without_token = kStsKey;
  without_token.security_token.clear();
  const Authentication missing = auth_.Authenticate(Signed(GetParam(), Cancel("j"), without_token));
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, "InvalidSecurityToken.MismatchWithAccessKey");

  AccessKey other_token = kStsKey;
  other_token.security_token = "forged";
  const Authentication forged = auth_.Authenticate(Signed(GetParam(), Cancel("j"), other_token));
  ASSERT_TRUE(forged.error);
  EXPECT_EQ(forged.error->code, "InvalidSecurityToken.MismatchWithAccessKey");
  EXPECT_THAT(forged.error->message, ::testing::Not(HasSubstr("sts-token-1")));
}

INSTANTIATE_TEST_SUITE_P(Signatures, BothVersionsTest,
                         ::testing::Values(SignatureVersion::kV1HmacSha1,
                                           SignatureVersion::kAcs3HmacSha256),
                         [](const ::testing::TestParamInfo<SignatureVersion>& param_info) {
                           return param_info.param == SignatureVersion::kV1HmacSha1 ? "V1" : "V3";
                         });

// --- v1 specifics: parameter placement and method.

ParamMap V1Params(const std::string& nonce) {
  return {{"Action", "CancelOTAStrategyByJob"},
          {"Version", "2018-01-20"},
          {"Format", "JSON"},
          {"AccessKeyId", kKey.id},
          {"SignatureMethod", "HMAC-SHA1"},
          {"SignatureVersion", "1.0"},
          {"SignatureNonce", nonce},
          {"Timestamp", FormatAlibabaTimestamp(kNow)},
          {"JobId", "job-1"}};
}

std::string FormEncode(const ParamMap& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&out, out.empty() ? "" : "&", PercentEncode(name), "=", PercentEncode(value));
  }
  return out;
}

TEST_F(RequestAuthenticatorTest, V1AcceptsGetAndFormBodyAndSplitParameters) {
  {
    ParamMap params = V1Params("get");
    params["Signature"] = V1Signature(kKey.secret, V1StringToSign("GET", params));
    const Authentication a = auth_.Authenticate(
        MakeIncomingRequest("GET", "/?" + FormEncode(params), {{"Host", kHost}}, ""));
    EXPECT_FALSE(a.error) << a.error->message;
  }
  {
    ParamMap params = V1Params("form");
    params["Signature"] = V1Signature(kKey.secret, V1StringToSign("POST", params));
    const Authentication a = auth_.Authenticate(MakeIncomingRequest(
        "POST", "/",
        {{"Host", kHost}, {"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}},
        FormEncode(params)));
    EXPECT_FALSE(a.error) << a.error->message;
    EXPECT_EQ(a.params.at("JobId"), "job-1");
  }
  {
    ParamMap params = V1Params("split");
    params["Signature"] = V1Signature(kKey.secret, V1StringToSign("POST", params));
    ParamMap in_body = {{"JobId", params.at("JobId")}};
    params.erase("JobId");
    const Authentication a = auth_.Authenticate(MakeIncomingRequest(
        "POST", "/?" + FormEncode(params),
        {{"Host", kHost}, {"Content-Type", "application/x-www-form-urlencoded"}},
        FormEncode(in_body)));
    EXPECT_FALSE(a.error) << a.error->message;
    EXPECT_EQ(a.params.at("JobId"), "job-1");
  }
}

TEST_F(RequestAuthenticatorTest, V1SignedForPostButSentAsGetDoesNotMatch) {
  ParamMap params = V1Params("method");
  params["Signature"] = V1Signature(kKey.secret, V1StringToSign("POST", params));
  const Authentication a = auth_.Authenticate(
      MakeIncomingRequest("GET", "/?" + FormEncode(params), {{"Host", kHost}}, ""));
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "SignatureDoesNotMatch");
  EXPECT_THAT(a.error->message, HasSubstr("string to sign is:GET&%2F&"));
}

TEST_F(RequestAuthenticatorTest, V1MissingParametersAreNamed) {
  for (const char* name : {"Timestamp", "SignatureNonce", "Signature", "AccessKeyId", "Action"}) {
    ParamMap params = V1Params(absl::StrCat("missing-", name));
    params["Signature"] = V1Signature(kKey.secret, V1StringToSign("POST", params));
    params.erase(name);
    const Authentication a = auth_.Authenticate(
        MakeIncomingRequest("POST", "/?" + FormEncode(params), {{"Host", kHost}}, ""));
    ASSERT_TRUE(a.error) << name;
    EXPECT_EQ(a.error->code, "MissingParameter") << name;
    EXPECT_THAT(a.error->message, HasSubstr(absl::StrCat("\"", name, "\""))) << name;
  }
}

TEST_F(RequestAuthenticatorTest, V1MalformedTimestampAndUnsupportedMethod) {
  ParamMap params = V1Params("ts");
  params["Timestamp"] = "2023/11/14 22:13:20";
  params["Signature"] = V1Signature(kKey.secret, V1StringToSign("POST", params));
  Authentication a = auth_.Authenticate(
      MakeIncomingRequest("POST", "/?" + FormEncode(params), {{"Host", kHost}}, ""));
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IllegalTimestamp");

  params = V1Params("sha256");
  params["SignatureMethod"] = "HMAC-SHA256";
  params["Signature"] = "x";
  a = auth_.Authenticate(
      MakeIncomingRequest("POST", "/?" + FormEncode(params), {{"Host", kHost}}, ""));
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IncompleteSignature");
}

// --- v3 specifics: the body hash and which headers must be signed.

TEST_F(RequestAuthenticatorTest, V3BodyMustMatchItsContentSha256) {
  IncomingRequest request = Signed(SignatureVersion::kAcs3HmacSha256, Cancel("job-1"));
  request.body = "JobId=other";
  const Authentication a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "SignatureDoesNotMatch");
  EXPECT_THAT(a.error->message, HasSubstr("x-acs-content-sha256"));
}

TEST_F(RequestAuthenticatorTest, V3UnsignedAcsHeaderIsIncompleteSignature) {
  IncomingRequest request = Signed(SignatureVersion::kAcs3HmacSha256, Cancel("job-1"));
  request.headers["x-acs-extra"] = "smuggled";
  const Authentication a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IncompleteSignature");
  EXPECT_THAT(a.error->message, HasSubstr("x-acs-extra"));
}

TEST_F(RequestAuthenticatorTest, V3HostMustBeSigned) {
  const std::string date = FormatAlibabaTimestamp(kNow);
  Acs3Input input{.method = "POST",
                  .path = "/",
                  .query = {{"JobId", "job-1"}},
                  .headers = {{"x-acs-action", "CancelOTAStrategyByJob"},
                              {"x-acs-version", "2018-01-20"},
                              {"x-acs-date", date},
                              {"x-acs-signature-nonce", "n-host"},
                              {"x-acs-content-sha256", Sha256Hex("")}},
                  .body = ""};
  const Acs3Result signature = Acs3Sign(input, kKey.id, kKey.secret);
  HeaderList headers(input.headers.begin(), input.headers.end());
  headers.emplace_back("Host", kHost);
  headers.emplace_back("Authorization", signature.authorization);
  const Authentication a =
      auth_.Authenticate(MakeIncomingRequest("POST", "/?JobId=job-1", headers, ""));
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IncompleteSignature");
  EXPECT_THAT(a.error->message, HasSubstr("\"host\""));

  // The same request with host signed passes: the refusal above was about host alone.
  input.headers["host"] = kHost;
  headers.back() = {"Authorization", Acs3Sign(input, kKey.id, kKey.secret).authorization};
  EXPECT_FALSE(auth_.Authenticate(MakeIncomingRequest("POST", "/?JobId=job-1", headers, "")).error);
}

TEST_F(RequestAuthenticatorTest, V3MissingHeaderAndMalformedAuthorization) {
  IncomingRequest request = Signed(SignatureVersion::kAcs3HmacSha256, Cancel("job-1"));
  request.headers.erase("x-acs-date");
  Authentication a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "MissingParameter");
  EXPECT_THAT(a.error->message, HasSubstr("x-acs-date"));

  request = Signed(SignatureVersion::kAcs3HmacSha256, Cancel("job-1"));
  request.headers["authorization"] = "ACS3-HMAC-SHA256 Credential=KEYID1";
  a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IncompleteSignature");

  request.headers["authorization"] = "Bearer abc";
  a = auth_.Authenticate(request);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "IncompleteSignature");
}

TEST_F(RequestAuthenticatorTest, IdentifyReportsClaimsWithoutChecking) {
  const IncomingRequest request = Signed(SignatureVersion::kAcs3HmacSha256, Cancel("job-9"));
  const Authentication claimed = RequestAuthenticator::Identify(request);
  EXPECT_FALSE(claimed.error);
  EXPECT_EQ(claimed.access_key_id, "KEYID1");
  EXPECT_EQ(claimed.action, "CancelOTAStrategyByJob");
  EXPECT_EQ(claimed.params.at("JobId"), "job-9");
  // Nothing was remembered: the real check still accepts the nonce.
  EXPECT_FALSE(auth_.Authenticate(request).error);
}

}  // namespace
}  // namespace ota
