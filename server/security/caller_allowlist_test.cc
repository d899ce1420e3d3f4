#include "server/security/caller_allowlist.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/security/token_hash.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kToken[] = "s3cret-token-of-the-rollout-service";

std::string ListJson() {
  return R"({"callers": [
    {"name": "rollout",
     "identities": [{"mtls_san": "spiffe://corp/rollout"}, {"token_sha256": ")" +
         Sha256Hex(kToken) + R"("}]},
    {"name": "limited", "identities": [{"mtls_san": "limited.corp"}],
     "iot_instance_ids": ["iot-a", "iot-b"]},
    {"name": "legacy", "identities": [{"mtls_cn": "legacy-tool"}], "iot_instance_ids": [""]},
    {"name": "any", "identities": [{"mtls_cn": "any-tool"}], "iot_instance_ids": []}]})";
}

CallerAllowList List() {
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(ListJson());
  EXPECT_THAT(list, IsOk());
  return *std::move(list);
}

PresentedCredentials Cert(std::vector<std::string> uris, std::vector<std::string> dns,
                          std::string cn) {
  PresentedCredentials presented;
  presented.certificate = PeerCertificate{
      .uri_sans = std::move(uris), .dns_sans = std::move(dns), .common_name = std::move(cn)};
  return presented;
}

PresentedCredentials Token(std::string token) {
  PresentedCredentials presented;
  presented.bearer_token = std::move(token);
  return presented;
}

TEST(CallerAllowListParseTest, ReadsCallers) {
  const CallerAllowList list = List();
  ASSERT_EQ(list.callers().size(), 4u);
  EXPECT_EQ(list.callers()[0].name, "rollout");
  EXPECT_THAT(list.callers()[0].mtls_sans, ElementsAre("spiffe://corp/rollout"));
  EXPECT_THAT(list.callers()[0].token_sha256s, ElementsAre(Sha256Hex(kToken)));
  EXPECT_THAT(list.callers()[1].iot_instance_ids, ElementsAre("iot-a", "iot-b"));
  EXPECT_THAT(list.callers()[3].iot_instance_ids, IsEmpty());
}

TEST(CallerAllowListParseTest, UppercaseHashIsNormalised) {
  std::string upper = Sha256Hex(kToken);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(
      R"({"callers":[{"name":"a","identities":[{"token_sha256":")" + upper + R"("}]}]})");
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(list->Authorize(Token(kToken), ""), IsOk());
}

TEST(CallerAllowListParseTest, RejectsMalformedFiles) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not valid JSON"},
      {R"([])", "expected an object"},
      {R"({"callers": {}})", "expected an object"},
      {R"({"callers": [{"identities": [{"mtls_cn": "a"}]}]})", "callers[0]: needs a non-empty"},
      {R"({"callers": [{"name": "a"}]})", "needs a non-empty list \"identities\""},
      {R"({"callers": [{"name": "a", "identities": []}]})", "non-empty list"},
      {R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "a", "mtls_san": "b"}]}]})",
       "exactly one of"},
      {R"({"callers": [{"name": "a", "identities": [{"password": "b"}]}]})",
       "unknown identity kind 'password'"},
      {R"({"callers": [{"name": "a", "identities": [{"mtls_cn": ""}]}]})", "mtls_cn is empty"},
      {R"({"callers": [{"name": "a", "identity": [{"mtls_cn": "x"}]}]})", "unknown key 'identity'"},
      {R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "x"}], "iot_instance_ids": "i"}]})",
       "iot_instance_ids must be a list of strings"},
      {R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "x"}]},
                       {"name": "a", "identities": [{"mtls_cn": "y"}]}]})",
       "callers[1] (a): the name is used by another caller"},
      {R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "x"}]},
                       {"name": "b", "identities": [{"mtls_cn": "x"}]}]})",
       "mtls_cn identity is listed twice"},
  };
  for (const auto& [json, expected] : cases) {
    absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(json);
    ASSERT_THAT(list, Not(IsOk())) << json;
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(list.status().message(), HasSubstr(expected)) << json;
  }
}

TEST(CallerAllowListParseTest, SharesAndQueueCapsDefaultAndReachTheDecision) {
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(R"({"callers": [
    {"name": "bulk", "identities": [{"mtls_cn": "bulk"}]},
    {"name": "oncall", "identities": [{"mtls_cn": "oncall"}], "share": 3, "max_queued": 20}]})");
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->callers()[0].share, 1);
  EXPECT_EQ(list->callers()[0].max_queued, 0);
  const AuthDecision oncall = list->Authorize(Cert({}, {}, "oncall"), "");
  ASSERT_THAT(oncall, IsOk());
  EXPECT_EQ(oncall.share, 3);
  EXPECT_EQ(oncall.max_queued, 20);
  const AuthDecision bulk = list->Authorize(Cert({}, {}, "bulk"), "");
  EXPECT_EQ(bulk.share, 1);
  EXPECT_EQ(bulk.max_queued, 0);
}

TEST(CallerAllowListParseTest, SharesAndQueueCapsMustBePositiveWholeNumbers) {
  for (const std::string field : {"share", "max_queued"}) {
    for (const std::string value : {"0", "-1", "1.5", "\"3\"", "true", "1000001"}) {
      const std::string json = R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "x"}], ")" +
                               field + "\": " + value + "}]}";
      absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(json);
      ASSERT_THAT(list, Not(IsOk())) << json;
      EXPECT_THAT(list.status().message(),
                  HasSubstr("callers[0] (a): \"" + field + "\" must be a whole number from 1"))
          << json;
    }
  }
}

TEST(CallerAllowListAuthorizeTest, RpcsDefaultToEveryRpcAndOtherwiseLimitTheCaller) {
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(R"({"callers": [
    {"name": "both", "identities": [{"mtls_cn": "both"}]},
    {"name": "canceller", "identities": [{"mtls_cn": "canceller"}], "rpcs": ["CancelByJob"]},
    {"name": "viewer", "identities": [{"mtls_cn": "viewer"}], "rpcs": ["ListJobsByFirmware"],
     "iot_instance_ids": ["iot-a"]}]})");
  ASSERT_THAT(list, IsOk());
  EXPECT_TRUE(list->callers()[0].rpcs.empty());
  EXPECT_THAT(list->Authorize(Cert({}, {}, "both"), "", kCancelByJobRpc), IsOk());
  EXPECT_THAT(list->Authorize(Cert({}, {}, "both"), "", kListJobsByFirmwareRpc), IsOk());
  EXPECT_THAT(list->Authorize(Cert({}, {}, "canceller"), ""), IsOk());  // CancelByJob by default
  const AuthDecision listing =
      list->Authorize(Cert({}, {}, "canceller"), "", kListJobsByFirmwareRpc);
  EXPECT_EQ(listing.code, absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(listing.caller, "canceller");
  EXPECT_THAT(listing.message, HasSubstr("may not call ListJobsByFirmware"));
  EXPECT_THAT(listing.message, HasSubstr("rpcs"));
  const AuthDecision cancel = list->Authorize(Cert({}, {}, "viewer"), "iot-a", kCancelByJobRpc);
  EXPECT_EQ(cancel.code, absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(cancel.message, HasSubstr("may not call CancelByJob"));
  EXPECT_THAT(list->Authorize(Cert({}, {}, "viewer"), "iot-a", kListJobsByFirmwareRpc), IsOk());
  // The instance allow-list applies to listing as well.
  const AuthDecision other =
      list->Authorize(Cert({}, {}, "viewer"), "iot-b", kListJobsByFirmwareRpc);
  EXPECT_EQ(other.code, absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other.message, HasSubstr("may not list OTA jobs of iot_instance_id 'iot-b'"));
}

TEST(CallerAllowListParseTest, RpcsMustNameKnownRpcs) {
  for (const std::string value :
       {"[]", "[\"CancelByJob\", \"DeleteEverything\"]", "\"CancelByJob\"", "[1]"}) {
    const std::string json =
        R"({"callers": [{"name": "a", "identities": [{"mtls_cn": "x"}], "rpcs": )" + value + "}]}";
    absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(json);
    ASSERT_THAT(list, Not(IsOk())) << json;
    EXPECT_THAT(list.status().message(), HasSubstr("callers[0] (a): rpcs")) << json;
  }
}

TEST(CallerAllowListParseTest, PlaintextTokenIsRejectedWithoutEchoingIt) {
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(
      R"({"callers":[{"name":"a","identities":[{"token_sha256":"my-plain-token"}]}]})");
  ASSERT_THAT(list, Not(IsOk()));
  EXPECT_THAT(list.status().message(), HasSubstr("never the token itself"));
  EXPECT_THAT(list.status().message(), Not(HasSubstr("my-plain-token")));
}

TEST(CallerAllowListAuthorizeTest, UriSanMatch) {
  AuthDecision d = List().Authorize(Cert({"spiffe://corp/rollout"}, {}, "whatever"), "iot-x");
  EXPECT_THAT(d, IsOk());
  EXPECT_EQ(d.caller, "rollout");
  EXPECT_EQ(d.identity, "mtls_san:spiffe://corp/rollout");
}

TEST(CallerAllowListAuthorizeTest, DnsSanMatchAndInstanceRestriction) {
  const CallerAllowList list = List();
  const PresentedCredentials limited = Cert({}, {"other.corp", "limited.corp"}, "");
  EXPECT_THAT(list.Authorize(limited, "iot-a"), IsOk());
  EXPECT_THAT(list.Authorize(limited, "iot-b"), IsOk());
  AuthDecision other = list.Authorize(limited, "iot-c");
  EXPECT_EQ(other.code, absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other.caller, "limited");
  EXPECT_THAT(other.message, HasSubstr("iot_instance_id 'iot-c'"));
  // The default instance needs an explicit "".
  AuthDecision default_instance = list.Authorize(limited, "");
  EXPECT_EQ(default_instance.code, absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(default_instance.message, HasSubstr("default IoT instance"));
}

TEST(CallerAllowListAuthorizeTest, EmptyStringListsTheDefaultInstance) {
  const CallerAllowList list = List();
  const PresentedCredentials legacy = Cert({}, {}, "legacy-tool");
  EXPECT_THAT(list.Authorize(legacy, ""), IsOk());
  EXPECT_EQ(list.Authorize(legacy, "iot-a").code, absl::StatusCode::kPermissionDenied);
}

TEST(CallerAllowListAuthorizeTest, EmptyInstanceListMeansAny) {
  const CallerAllowList list = List();
  EXPECT_THAT(list.Authorize(Cert({}, {}, "any-tool"), ""), IsOk());
  EXPECT_THAT(list.Authorize(Cert({}, {}, "any-tool"), "iot-z"), IsOk());
  EXPECT_THAT(list.Authorize(Cert({"spiffe://corp/rollout"}, {}, ""), ""), IsOk());
}

TEST(CallerAllowListAuthorizeTest, CommonNameCountsOnlyWithoutSans) {
  AuthDecision d = List().Authorize(Cert({}, {"some.host"}, "legacy-tool"), "");
  EXPECT_EQ(d.code, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(d.identity, "mtls:some.host");
}

TEST(CallerAllowListAuthorizeTest, TokenMatchNeverShowsTheToken) {
  AuthDecision d = List().Authorize(Token(kToken), "iot-a");
  EXPECT_THAT(d, IsOk());
  EXPECT_EQ(d.caller, "rollout");
  EXPECT_EQ(d.identity, "token_sha256:" + Sha256Hex(kToken).substr(0, 12));

  AuthDecision unknown = List().Authorize(Token("guessed"), "");
  EXPECT_EQ(unknown.code, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.caller, "");
  EXPECT_EQ(unknown.identity, "unknown bearer token");
  for (const std::string& text : {unknown.identity, unknown.message, d.identity, d.message}) {
    EXPECT_THAT(text, Not(HasSubstr("guessed")));
    EXPECT_THAT(text, Not(HasSubstr(kToken)));
  }
}

TEST(CallerAllowListAuthorizeTest, TheHashItselfIsNotAToken) {
  EXPECT_EQ(List().Authorize(Token(Sha256Hex(kToken)), "").code,
            absl::StatusCode::kUnauthenticated);
}

TEST(CallerAllowListAuthorizeTest, NothingPresentedIsUnauthenticated) {
  AuthDecision d = List().Authorize(PresentedCredentials{}, "");
  EXPECT_EQ(d.code, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(d.identity, "anonymous");
  EXPECT_THAT(d.message, HasSubstr("client certificate or a bearer token"));

  PresentedCredentials malformed;
  malformed.malformed_authorization = true;
  EXPECT_THAT(List().Authorize(malformed, "").message, HasSubstr("'Bearer <token>'"));
}

TEST(CallerAllowListAuthorizeTest, UnknownCertificateFallsBackToAValidToken) {
  PresentedCredentials both = Cert({"spiffe://corp/unknown"}, {}, "");
  both.bearer_token = kToken;
  AuthDecision d = List().Authorize(both, "");
  EXPECT_THAT(d, IsOk());
  EXPECT_EQ(d.caller, "rollout");
}

TEST(UncheckedCallerTest, NamesTheCertificateOrAnonymous) {
  EXPECT_EQ(UncheckedCaller(Cert({"spiffe://x"}, {}, "")).identity, "mtls:spiffe://x");
  AuthDecision anonymous = UncheckedCaller(Token(kToken));
  EXPECT_THAT(anonymous, IsOk());
  EXPECT_EQ(anonymous.identity, "anonymous");
}

}  // namespace
}  // namespace ota
