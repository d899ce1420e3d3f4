#include "server/api/ota_strategy_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/page_token.h"
#include "server/base/clock.h"

namespace ota {
namespace {

using ::testing::HasSubstr;

// Answers every cancel OK; no cancel is expected in these tests.
class NoCancels final : public CancelByJobCaller {
 public:
  void Run(CancelByJobParams, absl::Time, std::function<bool()>, Done done) const override {
    done(CallResult{});
  }
};

// Answers each listing with the next canned body and records what it was asked.
class ScriptedLister final : public ListJobsByFirmwareCaller {
 public:
  void List(ListJobsByFirmwareParams params, absl::Time, std::function<bool()>,
            Done done) const override {
    asked.push_back(params);
    CallResult result;
    result.outcome.request_id = "REQ-L";
    result.upstream_body = bodies.empty() ? std::string("{}") : bodies.front();
    if (!bodies.empty()) bodies.erase(bodies.begin());
    done(std::move(result));
  }
  mutable std::vector<std::string> bodies;
  mutable std::vector<ListJobsByFirmwareParams> asked;
};

class OtaStrategyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ =
        std::make_unique<OtaStrategyService>(cancels_, SystemClock::Get(),
                                             ServiceOptions{.default_timeout = absl::Seconds(10),
                                                            .authorizer = nullptr,
                                                            .audit = nullptr,
                                                            .metrics = nullptr,
                                                            .max_pending_calls = 100,
                                                            .contract_version = "9.9.9",
                                                            .lister = &lister_});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = ota::v1::OtaStrategyService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status List(const ota::v1::ListJobsByFirmwareRequest& request,
                    ota::v1::ListJobsByFirmwareResponse& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ListJobsByFirmware(&context, request, &response);
  }

  NoCancels cancels_;
  ScriptedLister lister_;
  std::unique_ptr<OtaStrategyService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ota::v1::OtaStrategyService::Stub> stub_;
};

ota::v1::ListJobsByFirmwareRequest Request(std::string firmware, int page_size = 0,
                                           std::string token = "") {
  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id(std::move(firmware));
  request.set_page_size(page_size);
  request.set_page_token(std::move(token));
  return request;
}

TEST_F(OtaStrategyServiceTest, PagesFollowTheTokenUntilAlibabasTotalIsRead) {
  lister_.bodies = {
      R"({"Success":true,"Total":3,"Data":{"SimpleOTAJobInfo":[
          {"JobId":"J1","JobStatus":"IN_PROGRESS","SelectionType":"DYNAMIC"},
          {"JobId":"J2","JobStatus":"PAUSED","UtcCreate":"not a time"}]}})",
      R"({"Success":true,"Total":3,"Data":{"SimpleOTAJobInfo":[{"JobId":"J3"}]}})"};
  ota::v1::ListJobsByFirmwareResponse first;
  ASSERT_TRUE(List(Request("fw-1", 2), first).ok());
  ASSERT_EQ(first.jobs_size(), 2);
  EXPECT_EQ(first.jobs(0).job_status(), ota::v1::JOB_STATUS_IN_PROGRESS);
  EXPECT_EQ(first.jobs(1).job_status(), ota::v1::JOB_STATUS_UNSPECIFIED);
  EXPECT_FALSE(first.jobs(1).has_create_time());
  EXPECT_EQ(first.total_size(), 3);
  ASSERT_FALSE(first.next_page_token().empty());

  ota::v1::ListJobsByFirmwareResponse second;
  ASSERT_TRUE(List(Request("fw-1", 2, first.next_page_token()), second).ok());
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());  // 2 pages of 2 hold all 3
  ASSERT_EQ(lister_.asked.size(), 2u);
  EXPECT_EQ(lister_.asked[0].page, 1);
  EXPECT_EQ(lister_.asked[1].page, 2);
  EXPECT_EQ(lister_.asked[1].page_size, 2);
  EXPECT_EQ(lister_.asked[1].firmware_id, "fw-1");
}

TEST_F(OtaStrategyServiceTest, AnEmptyPageEndsTheListingWhateverTotalSays) {
  lister_.bodies = {R"({"Success":true,"Total":500})"};
  ota::v1::ListJobsByFirmwareResponse response;
  ASSERT_TRUE(List(Request("fw-unknown"), response).ok());
  EXPECT_EQ(response.jobs_size(), 0);
  EXPECT_TRUE(response.next_page_token().empty());
  EXPECT_EQ(lister_.asked[0].page_size, 50);
}

TEST_F(OtaStrategyServiceTest, InvalidRequestsNeverReachTheLister) {
  ota::v1::ListJobsByFirmwareResponse response;
  for (const ota::v1::ListJobsByFirmwareRequest& bad :
       {Request("fw-1", -1), Request(""), Request("fw-1", 0, "garbage"),
        Request("fw-2", 0, EncodePageToken(2, PagingFingerprint("fw-1", "", 50)))}) {
    const grpc::Status status = List(bad, response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.DebugString();
  }
  EXPECT_TRUE(lister_.asked.empty());
}

TEST_F(OtaStrategyServiceTest, AnUnreadableAnswerIsAnInternalErrorNotAnEmptyListing) {
  lister_.bodies = {"<html>proxy error</html>"};
  ota::v1::ListJobsByFirmwareResponse response;
  const grpc::Status status = List(Request("fw-1"), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), HasSubstr("ListOTAJobByFirmware answer could not be read"));
}

}  // namespace
}  // namespace ota
