// OtaStrategyService: the gRPC face of ota-gateway (callback API: no thread waits per call).
//
// Each CancelByJob is first checked against the caller allow-list (UNAUTHENTICATED /
// PERMISSION_DENIED, nothing validated or queued), then validated (INVALID_ARGUMENT, nothing sent
// upstream), handed to the CancelByJobRunner with the caller's deadline, and answered with the
// runner's outcome as a gRPC status with google.rpc details. One JSON log line per call records who
// asked, for what, and how it ended, and, with an audit log, one audit line is written before the
// reply.
//
//   ota::OtaStrategyService service(runner, clock, {.default_timeout = absl::Seconds(10)});
//   builder.RegisterService(&service);
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"
#include "server/api/pending_calls.h"
#include "server/base/clock.h"
#include "server/call/cancel_by_job_caller.h"
#include "server/call/cancel_call.h"
#include "server/security/audit_log.h"
#include "server/security/caller_authorizer.h"

namespace ota {

class GatewayMetrics;

// The response header that names the contract version (stubs/VERSION) the gateway serves.
inline constexpr char kContractVersionHeader[] = "ota-contract-version";

struct ServiceOptions {
  absl::Duration default_timeout = absl::Seconds(10);  // for callers that set no deadline
  const CallerAuthorizer* authorizer = nullptr;        // null: nobody is checked
  AuditLog* audit = nullptr;                           // null: no audit trail
  GatewayMetrics* metrics = nullptr;                   // optional: calls by code, latency
  // Calls accepted and not yet answered; beyond it, RESOURCE_EXHAUSTED (GATEWAY_OVERLOADED).
  std::int64_t max_pending_calls = 10000;
  // Sent as the kContractVersionHeader initial metadata of every answer; empty: not sent.
  std::string contract_version = {};
};

class OtaStrategyService final : public ota::v1::OtaStrategyService::CallbackService {
 public:
  OtaStrategyService(const CancelByJobCaller& runner, const Clock& clock, ServiceOptions options);

  grpc::ServerUnaryReactor* CancelByJob(grpc::CallbackServerContext* context,
                                        const ota::v1::CancelByJobRequest* request,
                                        ota::v1::CancelByJobResponse* response) override;

  // Calls accepted and not yet answered.
  [[nodiscard]] int64_t in_flight() const { return pending_->pending(); }
  // Calls refused because --max-pending-calls were open.
  [[nodiscard]] uint64_t overload_rejections() const { return pending_->rejected(); }
  // Start of a graceful shutdown: new calls are refused UNAVAILABLE (GATEWAY_SHUTTING_DOWN) while
  // the open ones finish.
  void StopAccepting() { pending_->Close(); }
  // End of the drain at shutdown: answers every open call UNAVAILABLE (GATEWAY_SHUTTING_DOWN).
  int64_t AnswerAllShuttingDown();

 private:
  const CancelByJobCaller& runner_;
  const Clock& clock_;
  const ServiceOptions options_;
  // Shared with the calls' callbacks, which may run after the service is gone.
  std::shared_ptr<PendingCalls> pending_;
};

}  // namespace ota
