// ota-list-jobs-example: every update batch of one firmware, read page by page with
// ListJobsByFirmware through the installed package's generated stub (ota_gateway::proto).
//
// It shows AIP-158 paging from C++ (pass each answer's next_page_token back as page_token, the
// other fields unchanged, until it is empty) and reading the google.protobuf.Timestamp fields;
// stubs/tests/test_live_stubs.py runs it against a live gateway and reads what it prints.
//
//   ota-list-jobs-example 127.0.0.1:50051 s8SSHiKjpBfrM3BSN0z803          # 50 batches a page
//   ota-list-jobs-example 127.0.0.1:50051 s8SSHiKjpBfrM3BSN0z803 10       # 10 batches a page
//
// Prints, per page, `page=<n> jobs=<count> total_size=<Total> next_page_token=<yes|no>`, then one
// line per batch: `job_id=... job_status=JOB_STATUS_... selection_type=SELECTION_TYPE_...
// job_type=JOB_TYPE_... product_key=... create_time=<RFC 3339 or unset> update_time=...`; exits 0.
// Prints the decoded error and exits 1 when the gateway refused; exits 2 on a usage error.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "client/error_reason.h"
#include "client/ota_client.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace {

constexpr int kUsageError = 2;
// Each page is its own call with its own deadline: the gateway paces list calls under their own
// budget (--list-qps) and needs a deadline to decide whether a call can be served in time.
constexpr std::chrono::seconds kPageTimeout{10};

int Usage() {
  std::cerr << "usage: ota-list-jobs-example <gateway host:port> <firmware_id> [page_size]\n";
  return kUsageError;
}

// RFC 3339 in UTC ("2026-12-07T08:40:05Z"), or "unset" when the gateway left the field out
// (Alibaba did not say). has_create_time() tells an absent Timestamp from the epoch.
std::string TimeText(bool present, const google::protobuf::Timestamp& time) {
  return present ? google::protobuf::util::TimeUtil::ToString(time) : "unset";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return Usage();
  int page_size = 0;  // 0: the gateway's default page (50)
  if (argc == 4) {
    const std::string_view text = argv[3];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), page_size);
    if (error != std::errc() || end != text.data() + text.size() || page_size <= 0) return Usage();
  }

  // Plaintext: the example talks to a gateway on loopback. With TLS, pass
  // grpc::SslCredentials({.pem_root_certs = ..., .pem_private_key = ..., .pem_cert_chain = ...})
  // and a bearer token as `authorization` metadata on each ClientContext.
  const std::unique_ptr<ota::v1::OtaStrategyService::Stub> stub =
      ota::v1::OtaStrategyService::NewStub(
          grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));

  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id(argv[2]);
  request.set_page_size(page_size);
  for (int page = 1;; ++page) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kPageTimeout);
    ota::v1::ListJobsByFirmwareResponse response;
    const grpc::Status status = stub->ListJobsByFirmware(&context, request, &response);
    if (!status.ok()) {
      // The same google.rpc details CancelByJob sends, decoded by the client library.
      const ota::client::CallError error = ota::client::DecodeCallError(status);
      std::cout << ota::client::FormatCallError(error) << " known_reason="
                << ota::v1::ErrorReason_Name(ota::client::ReasonFromString(error.reason)) << "\n";
      return EXIT_FAILURE;
    }
    std::cout << "page=" << page << " jobs=" << response.jobs_size()
              << " total_size=" << response.total_size()
              << " next_page_token=" << (response.next_page_token().empty() ? "no" : "yes") << "\n";
    for (const ota::v1::OtaJob& job : response.jobs()) {
      std::cout << "job_id=" << job.job_id()
                << " job_status=" << ota::v1::JobStatus_Name(job.job_status())
                << " selection_type=" << ota::v1::SelectionType_Name(job.selection_type())
                << " job_type=" << ota::v1::JobType_Name(job.job_type())
                << " product_key=" << job.product_key() << " firmware_id=" << job.firmware_id()
                << " create_time=" << TimeText(job.has_create_time(), job.create_time())
                << " update_time=" << TimeText(job.has_update_time(), job.update_time()) << "\n";
    }
    if (response.next_page_token().empty()) return EXIT_SUCCESS;
    request.set_page_token(response.next_page_token());
  }
}
