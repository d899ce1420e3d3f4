#include "emulator/emulated_iot_api.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/base/clock.h"
#include "server/signing/rpc_signer.h"
#include "server/testing/fake_clock.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

constexpr absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr char kHost[] = "127.0.0.1:18080";
constexpr char kRequestIdPattern[] = "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}";

class EmulatedIotApiTest : public ::testing::Test {
 protected:
  // Signs with the real signer (v3) and hands the request to the API.
  ApiAnswer Call(const RpcCall& call, CallRecord& record, const std::string& key_id = "K1",
                 const std::string& secret = "s1") {
    const Credentials credentials{
        .access_key_id = key_id, .access_key_secret = secret, .security_token = ""};
    const HttpRequest signed_request =
        SignRpcCall(SignatureVersion::kAcs3HmacSha256, call, endpoint_, credentials, clock_.Now(),
                    absl::StrCat("nonce-", ++nonces_used_));
    const std::string prefix = absl::StrCat("http://", kHost);
    return api_.Handle(
        MakeIncomingRequest(signed_request.method, signed_request.url.substr(prefix.size()),
                            signed_request.headers, signed_request.body),
        record);
  }
  ApiAnswer Cancel(const std::string& job_id, const std::string& instance = "",
                   const std::string& key_id = "K1", const std::string& secret = "s1") {
    CallRecord record;
    RpcCall call{.action = "CancelOTAStrategyByJob", .version = "2018-01-20", .params = {}};
    if (!job_id.empty()) call.params["JobId"] = job_id;
    if (!instance.empty()) call.params["IotInstanceId"] = instance;
    return Call(call, record, key_id, secret);
  }

  // ListOTAJobByFirmware; an empty page or size is left out of the request.
  ApiAnswer List(const std::string& firmware, const std::string& page, const std::string& size,
                 const std::string& instance = "") {
    CallRecord record;
    RpcCall call{.action = "ListOTAJobByFirmware", .version = "2018-01-20", .params = {}};
    if (!firmware.empty()) call.params["FirmwareId"] = firmware;
    if (!page.empty()) call.params["CurrentPage"] = page;
    if (!size.empty()) call.params["PageSize"] = size;
    if (!instance.empty()) call.params["IotInstanceId"] = instance;
    return Call(call, record);
  }

  ApiAnswer Query(const std::string& job_id, const std::string& instance = "") {
    CallRecord record;
    RpcCall call{.action = "QueryOTAJob", .version = "2018-01-20", .params = {}};
    if (!job_id.empty()) call.params["JobId"] = job_id;
    if (!instance.empty()) call.params["IotInstanceId"] = instance;
    return Call(call, record);
  }

  FakeClock clock_{kNow};
  NonceRegistry nonces_{absl::Minutes(15), clock_};
  // K1 and K2 share account A; K3 has its own.
  RequestAuthenticator auth_{{{.id = "K1", .secret = "s1", .account = "A", .security_token = ""},
                              {.id = "K2", .secret = "s2", .account = "A", .security_token = ""},
                              {.id = "K3", .secret = "s3", .account = "B", .security_token = ""}},
                             absl::Minutes(15),
                             nonces_,
                             clock_};
  QuotaWindow quota_{2, clock_};
  JobTable jobs_{
      {{.job_id = "dyn-1", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "dyn-2", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "dyn-3", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "static-1", .state = JobState::kStatic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "inst-1",
        .state = JobState::kDynamic,
        .iot_instance_id = "iot-1",
        .firmware_id = ""}},
      {},
      clock_};
  QuotaWindow query_quota_{2, clock_};
  QuotaWindow list_quota_{2, clock_};
  EmulatedIotApi api_{auth_, {.cancel = quota_, .query = query_quota_, .list = list_quota_}, jobs_};
  Endpoint endpoint_ = *ParseEndpoint(absl::StrCat("http://", kHost, "/"));
  int nonces_used_ = 0;
};

TEST_F(EmulatedIotApiTest, SuccessIsExactlyRequestIdAndSuccessTrue) {
  CallRecord record;
  const ApiAnswer answer = Call(
      {.action = "CancelOTAStrategyByJob", .version = "2018-01-20", .params = {{"JobId", "dyn-1"}}},
      record);
  EXPECT_EQ(answer.http_status, 200);
  const nlohmann::json body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body.size(), 2u);
  EXPECT_EQ(body["Success"], true);
  EXPECT_THAT(body["RequestId"].get<std::string>(), MatchesRegex(kRequestIdPattern));
  EXPECT_EQ(record.http_status, 200);
  EXPECT_EQ(record.code, "");
  EXPECT_EQ(record.job_id, "dyn-1");
  EXPECT_EQ(record.access_key_id, "K1");
  EXPECT_EQ(record.signature_method, "ACS3-HMAC-SHA256");
  EXPECT_EQ(record.request_id, body["RequestId"]);
  EXPECT_EQ(jobs_.Snapshot()[0].state, JobState::kCancelled);
}

TEST_F(EmulatedIotApiTest, BusinessFailuresAre200WithSuccessFalse) {
  struct Case {
    std::string job, instance, code;
  };
  for (const Case& c : {Case{"nope", "", "iot.ota.OtaJobNotExist"},
                        Case{"static-1", "", "iot.ota.OtaJobTypeNotSupported"},
                        Case{"inst-1", "iot-404", "iot.system.InstanceNotFound"}}) {
    clock_.Advance(absl::Seconds(1));  // stay inside the quota
    const ApiAnswer answer = Cancel(c.job, c.instance);
    EXPECT_EQ(answer.http_status, 200) << c.job;
    const nlohmann::json body = nlohmann::json::parse(answer.body);
    EXPECT_EQ(body["Success"], false);
    EXPECT_EQ(body["Code"], c.code);
    EXPECT_FALSE(body["ErrorMessage"].get<std::string>().empty());
    EXPECT_THAT(body["RequestId"].get<std::string>(), MatchesRegex(kRequestIdPattern));
    EXPECT_EQ(answer.code, c.code);
  }
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(Cancel("dyn-1").http_status, 200);
  const nlohmann::json again = nlohmann::json::parse(Cancel("dyn-1").body);
  EXPECT_EQ(again["Code"], "iot.ota.OtaJobStatusNotSupported");
}

TEST_F(EmulatedIotApiTest, GatewayErrorsHaveAlibabasShape) {
  const ApiAnswer answer = Cancel("dyn-1", "", "K1", "wrong-secret");
  EXPECT_EQ(answer.http_status, 400);
  const nlohmann::json body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body["Code"], "SignatureDoesNotMatch");
  EXPECT_EQ(body["HostId"], kHost);
  EXPECT_TRUE(body.contains("Message"));
  EXPECT_TRUE(body.contains("Recommend"));
  EXPECT_THAT(body["RequestId"].get<std::string>(), MatchesRegex(kRequestIdPattern));
  EXPECT_EQ(jobs_.Snapshot()[0].state, JobState::kDynamic);  // nothing happened
}

TEST_F(EmulatedIotApiTest, WrongActionVersionAndMissingJobId) {
  CallRecord record;
  ApiAnswer answer =
      Call({.action = "ListOTAFirmware", .version = "2018-01-20", .params = {}}, record);
  EXPECT_EQ(answer.http_status, 404);
  EXPECT_EQ(answer.code, "InvalidAction.NotFound");
  EXPECT_EQ(record.action, "ListOTAFirmware");

  answer = Call(
      {.action = "CancelOTAStrategyByJob", .version = "2017-04-20", .params = {{"JobId", "dyn-1"}}},
      record);
  EXPECT_EQ(answer.http_status, 400);
  EXPECT_EQ(answer.code, "InvalidVersion");

  clock_.Advance(absl::Seconds(1));
  answer = Cancel("");
  EXPECT_EQ(answer.http_status, 400);
  EXPECT_EQ(answer.code, "MissingParameter");
  EXPECT_THAT(answer.body, ::testing::HasSubstr("JobId"));
}

TEST_F(EmulatedIotApiTest, QuotaIsSharedByTheKeysOfOneAccount) {
  EXPECT_EQ(Cancel("dyn-1", "", "K1", "s1").http_status, 200);
  EXPECT_EQ(Cancel("dyn-2", "", "K2", "s2").http_status, 200);
  const ApiAnswer throttled = Cancel("dyn-3", "", "K2", "s2");
  EXPECT_EQ(throttled.http_status, 400);
  const nlohmann::json body = nlohmann::json::parse(throttled.body);
  EXPECT_EQ(body["Code"], "Throttling.User");
  EXPECT_EQ(body["Message"], "Request was denied due to user flow control.");
  // Account B is unaffected; the throttled call changed nothing.
  EXPECT_EQ(Cancel("nope", "", "K3", "s3").code, "iot.ota.OtaJobNotExist");
  EXPECT_EQ(jobs_.Snapshot()[2].state, JobState::kDynamic);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Cancel("dyn-3", "", "K2", "s2").code, "");
}

TEST_F(EmulatedIotApiTest, EveryAnswerHasAFreshRequestId) {
  const std::string a = nlohmann::json::parse(Cancel("nope").body)["RequestId"];
  const std::string b = nlohmann::json::parse(Cancel("nope").body)["RequestId"];
  EXPECT_NE(a, b);
}

TEST_F(EmulatedIotApiTest, QueryOtaJobReportsJobStatusAndSelectionType) {
  jobs_.Upsert(
      {.job_id = "done-1", .state = JobState::kFinished, .iot_instance_id = "", .firmware_id = ""});
  struct Case {
    std::string job, status, selection;
  };
  for (const Case& c :
       {Case{"dyn-1", "IN_PROGRESS", "DYNAMIC"}, Case{"static-1", "IN_PROGRESS", "STATIC"},
        Case{"done-1", "COMPLETED", "DYNAMIC"}}) {
    clock_.Advance(absl::Seconds(1));
    const ApiAnswer answer = Query(c.job);
    ASSERT_EQ(answer.http_status, 200) << answer.body;
    const nlohmann::json body = nlohmann::json::parse(answer.body);
    EXPECT_EQ(body["Success"], true);
    EXPECT_EQ(body["Data"]["JobId"], c.job);
    EXPECT_EQ(body["Data"]["JobStatus"], c.status) << c.job;
    EXPECT_EQ(body["Data"]["SelectionType"], c.selection) << c.job;
  }
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(Cancel("dyn-1").http_status, 200);
  const nlohmann::json after = nlohmann::json::parse(Query("dyn-1").body);
  EXPECT_EQ(after["Data"]["JobStatus"], "CANCELED");  // as the seed document says
}

TEST_F(EmulatedIotApiTest, QueryOtaJobOfAnUnknownJobOrInstanceIsABusinessError) {
  const nlohmann::json unknown = nlohmann::json::parse(Query("nope").body);
  EXPECT_EQ(unknown["Success"], false);
  EXPECT_EQ(unknown["Code"], "iot.ota.OtaJobNotExist");
  const nlohmann::json instance = nlohmann::json::parse(Query("inst-1", "iot-404").body);
  EXPECT_EQ(instance["Code"], "iot.system.InstanceNotFound");
}

TEST_F(EmulatedIotApiTest, QueryOtaJobHasAQuotaOfItsOwn) {
  // Cancel's quota (2/s) used up: queries still pass, and their own quota of 2 is then spent.
  EXPECT_EQ(Cancel("dyn-1").http_status, 200);
  EXPECT_EQ(Cancel("dyn-2").http_status, 200);
  EXPECT_EQ(Cancel("dyn-3").code, "Throttling.User");
  EXPECT_EQ(Query("dyn-1").http_status, 200);
  EXPECT_EQ(Query("dyn-2").http_status, 200);
  EXPECT_EQ(Query("dyn-3").code, "Throttling.User");
}

TEST_F(EmulatedIotApiTest, ListOtaJobByFirmwarePagesThroughAFirmwaresJobs) {
  for (const char* id : {"fw-c", "fw-a", "fw-b"}) {
    jobs_.Upsert(
        {.job_id = id, .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = "fw-1"});
  }
  jobs_.Upsert({.job_id = "fw-static",
                .state = JobState::kStatic,
                .iot_instance_id = "",
                .firmware_id = "fw-1"});
  jobs_.Upsert({.job_id = "other",
                .state = JobState::kDynamic,
                .iot_instance_id = "",
                .firmware_id = "fw-2"});
  jobs_.Upsert({.job_id = "fw-inst",
                .state = JobState::kDynamic,
                .iot_instance_id = "iot-1",
                .firmware_id = "fw-1"});
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(Cancel("fw-b").code, "");

  const ApiAnswer first = List("fw-1", "1", "3");
  ASSERT_EQ(first.http_status, 200) << first.body;
  const nlohmann::json body = nlohmann::json::parse(first.body);
  EXPECT_EQ(body["Success"], true);
  EXPECT_EQ(body["Total"], 4);
  EXPECT_EQ(body["PageSize"], 3);
  EXPECT_EQ(body["PageCount"], 2);
  EXPECT_EQ(body["CurrentPage"], 1);
  const nlohmann::json& infos = body["Data"]["SimpleOTAJobInfo"];
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_EQ(infos[0]["JobId"], "fw-a");
  EXPECT_EQ(infos[0]["FirmwareId"], "fw-1");
  EXPECT_EQ(infos[0]["JobStatus"], "IN_PROGRESS");
  EXPECT_EQ(infos[0]["SelectionType"], "DYNAMIC");
  EXPECT_EQ(infos[0]["JobType"], "UPGRADE_FIRMWARE");
  EXPECT_FALSE(infos[0]["ProductKey"].get<std::string>().empty());
  EXPECT_EQ(infos[0]["UtcCreate"], "2023-11-14T22:13:20.000Z");  // kNow
  EXPECT_EQ(infos[0]["UtcModified"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(infos[1]["JobId"], "fw-b");
  EXPECT_EQ(infos[1]["JobStatus"], "CANCELED");
  EXPECT_EQ(infos[1]["UtcModified"], "2023-11-14T22:13:21.000Z");  // the cancel changed it
  EXPECT_EQ(infos[2]["JobId"], "fw-c");

  const nlohmann::json second = nlohmann::json::parse(List("fw-1", "2", "3").body);
  ASSERT_EQ(second["Data"]["SimpleOTAJobInfo"].size(), 1u);
  EXPECT_EQ(second["Data"]["SimpleOTAJobInfo"][0]["JobId"], "fw-static");
  EXPECT_EQ(second["Data"]["SimpleOTAJobInfo"][0]["JobStatus"], "IN_PROGRESS");
  EXPECT_EQ(second["Data"]["SimpleOTAJobInfo"][0]["SelectionType"], "STATIC");

  clock_.Advance(absl::Seconds(1));
  const nlohmann::json past_end = nlohmann::json::parse(List("fw-1", "3", "3").body);
  EXPECT_EQ(past_end["Success"], true);
  EXPECT_EQ(past_end["Total"], 4);
  EXPECT_TRUE(past_end["Data"]["SimpleOTAJobInfo"].empty());
  // The instance scopes the list as it scopes cancels.
  const nlohmann::json in_instance = nlohmann::json::parse(List("fw-1", "1", "200", "iot-1").body);
  EXPECT_EQ(in_instance["Total"], 1);
  EXPECT_EQ(in_instance["Data"]["SimpleOTAJobInfo"][0]["JobId"], "fw-inst");
}

TEST_F(EmulatedIotApiTest, ListOtaJobByFirmwareOfAnUnknownFirmwareIsAnEmptySuccess) {
  const ApiAnswer answer = List("no-such-firmware", "1", "10");
  ASSERT_EQ(answer.http_status, 200);
  const nlohmann::json body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body["Success"], true);
  EXPECT_EQ(body["Total"], 0);
  EXPECT_EQ(body["PageCount"], 0);
  EXPECT_TRUE(body["Data"]["SimpleOTAJobInfo"].is_array());
  EXPECT_TRUE(body["Data"]["SimpleOTAJobInfo"].empty());
  EXPECT_EQ(nlohmann::json::parse(List("fw", "1", "10", "iot-404").body)["Code"],
            "iot.system.InstanceNotFound");
}

TEST_F(EmulatedIotApiTest, ListOtaJobByFirmwareChecksItsParameters) {
  struct Case {
    std::string page, size;
  };
  for (const Case& c :
       {Case{"0", "10"}, Case{"1", "0"}, Case{"1", "201"}, Case{"", "10"}, Case{"1", ""},
        Case{"x", "10"}, Case{"-1", "10"}, Case{"1", "99999999999999"}}) {
    clock_.Advance(absl::Seconds(1));
    const ApiAnswer answer = List("fw-1", c.page, c.size);
    EXPECT_EQ(answer.http_status, 200) << c.page << "/" << c.size;
    EXPECT_EQ(answer.code, "iot.common.InvalidPageParams") << c.page << "/" << c.size;
  }
  clock_.Advance(absl::Seconds(1));
  const ApiAnswer no_firmware = List("", "1", "10");
  EXPECT_EQ(no_firmware.http_status, 400);
  EXPECT_EQ(no_firmware.code, "MissingParameter");
  EXPECT_THAT(no_firmware.body, ::testing::HasSubstr("FirmwareId"));
  EXPECT_EQ(List("fw-1", "1", "200").code, "");  // 200 is the largest page
}

TEST_F(EmulatedIotApiTest, ListOtaJobByFirmwareHasAQuotaOfItsOwn) {
  EXPECT_EQ(Cancel("dyn-1").http_status, 200);
  EXPECT_EQ(Cancel("dyn-2").http_status, 200);
  EXPECT_EQ(Cancel("dyn-3").code, "Throttling.User");
  EXPECT_EQ(List("fw", "1", "10").http_status, 200);
  EXPECT_EQ(List("fw", "1", "10").http_status, 200);
  EXPECT_EQ(List("fw", "1", "10").code, "Throttling.User");
  EXPECT_EQ(Query("dyn-1").http_status, 200);  // neither used the query's quota
}

}  // namespace
}  // namespace ota
