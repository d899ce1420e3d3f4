#include "client/testing/fake_gateway.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>

#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"

namespace ota::testing {

grpc::Status DetailedStatus(grpc::StatusCode code, const std::string& message,
                            std::initializer_list<const google::protobuf::Message*> details) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(message);
  for (const google::protobuf::Message* detail : details) status.add_details()->PackFrom(*detail);
  return grpc::Status(code, message, status.SerializeAsString());
}

class FakeGateway::Service final : public ota::v1::OtaStrategyService::Service {
 public:
  grpc::Status CancelByJob(grpc::ServerContext* context, const ota::v1::CancelByJobRequest* request,
                           ota::v1::CancelByJobResponse* response) override {
    ReceivedCall call{.request = *request,
                      .deadline_in = absl::FromChrono(context->deadline()) - absl::Now(),
                      .authorization = {}};
    if (auto it = context->client_metadata().find("authorization");
        it != context->client_metadata().end()) {
      call.authorization = std::string(it->second.data(), it->second.size());
    }
    grpc::Status status;
    std::string request_id;
    ota::v1::CancelOutcome outcome = ota::v1::CANCEL_OUTCOME_UNSPECIFIED;
    bool hold = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(std::move(call));
      status = status_;
      request_id = request_id_;
      outcome = outcome_;
      hold = hold_;
    }
    if (hold) {
      // Real I/O is the point of the deadline tests: poll until the client's deadline cancels the
      // call, bounded so a broken client cannot hang the test binary.
      const absl::Time give_up = absl::Now() + absl::Seconds(30);
      while (!context->IsCancelled() && absl::Now() < give_up)
        absl::SleepFor(absl::Milliseconds(5));
      return grpc::Status(grpc::StatusCode::CANCELLED, "held until the caller gave up");
    }
    if (!status.ok()) return status;
    response->set_request_id(request_id);
    response->set_outcome(outcome);
    return grpc::Status::OK;
  }

  grpc::Status ListJobsByFirmware(grpc::ServerContext* /*context*/,
                                  const ota::v1::ListJobsByFirmwareRequest* request,
                                  ota::v1::ListJobsByFirmwareResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    list_calls_.push_back(*request);
    if (!list_status_.ok()) return list_status_;
    std::size_t offset = 0;
    if (!request->page_token().empty() && !absl::SimpleAtoi(request->page_token(), &offset)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page token");
    }
    const std::size_t size = request->page_size() == 0 ? 50 : request->page_size();
    for (std::size_t i = offset; i < jobs_.size() && i < offset + size; ++i) {
      *response->add_jobs() = jobs_[i];
    }
    if (offset + size < jobs_.size()) response->set_next_page_token(absl::StrCat(offset + size));
    response->set_total_size(static_cast<std::int32_t>(jobs_.size()));
    return grpc::Status::OK;
  }

  void SetJobs(std::vector<ota::v1::OtaJob> jobs) {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_ = std::move(jobs);
  }

  void SetListStatus(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    list_status_ = std::move(status);
  }

  std::vector<ota::v1::ListJobsByFirmwareRequest> list_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }

  void Set(grpc::Status status, std::string request_id, bool hold,
           ota::v1::CancelOutcome outcome = ota::v1::CANCEL_OUTCOME_CANCELLED) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
    request_id_ = std::move(request_id);
    outcome_ = outcome;
    hold_ = hold;
  }

  std::vector<ReceivedCall> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::string request_id_ ABSL_GUARDED_BY(mu_) = "fake-request-id";
  ota::v1::CancelOutcome outcome_ ABSL_GUARDED_BY(mu_) = ota::v1::CANCEL_OUTCOME_CANCELLED;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<ReceivedCall> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<ota::v1::OtaJob> jobs_ ABSL_GUARDED_BY(mu_);
  grpc::Status list_status_ ABSL_GUARDED_BY(mu_);
  std::vector<ota::v1::ListJobsByFirmwareRequest> list_calls_ ABSL_GUARDED_BY(mu_);
};

FakeGateway::FakeGateway(std::shared_ptr<grpc::ServerCredentials> credentials)
    : FakeGateway("127.0.0.1:0", std::move(credentials)) {}

FakeGateway::FakeGateway(const std::string& listen_address,
                         std::shared_ptr<grpc::ServerCredentials> credentials)
    : service_(std::make_unique<Service>()) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, std::move(credentials), &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  target_ = absl::StartsWith(listen_address, "unix:") ? listen_address
                                                      : absl::StrCat("127.0.0.1:", port_);
}

FakeGateway::~FakeGateway() {
  if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

void FakeGateway::ReplyWith(std::string request_id) {
  service_->Set(grpc::Status::OK, std::move(request_id), /*hold=*/false);
}

void FakeGateway::ReplyWith(std::string request_id, ota::v1::CancelOutcome outcome) {
  service_->Set(grpc::Status::OK, std::move(request_id), /*hold=*/false, outcome);
}

void FakeGateway::ReplyWith(grpc::Status status) {
  service_->Set(std::move(status), {}, /*hold=*/false);
}

void FakeGateway::HoldCalls() { service_->Set(grpc::Status::OK, {}, /*hold=*/true); }

std::shared_ptr<grpc::Channel> FakeGateway::NewChannel() const {
  return grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
}

std::vector<FakeGateway::ReceivedCall> FakeGateway::calls() const { return service_->calls(); }

void FakeGateway::ListJobs(std::vector<ota::v1::OtaJob> jobs) {
  service_->SetJobs(std::move(jobs));
}

void FakeGateway::FailListWith(grpc::Status status) { service_->SetListStatus(std::move(status)); }

std::vector<ota::v1::ListJobsByFirmwareRequest> FakeGateway::list_calls() const {
  return service_->list_calls();
}

}  // namespace ota::testing
