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

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"
#include "server/audit_log.h"
#include "server/caller_authorizer.h"
#include "server/cancel_call.h"
#include "server/clock.h"

namespace ota {

class GatewayMetrics;

struct ServiceOptions {
  absl::Duration default_timeout = absl::Seconds(10);  // for callers that set no deadline
  const CallerAuthorizer* authorizer = nullptr;        // null: nobody is checked
  AuditLog* audit = nullptr;                           // null: no audit trail
  GatewayMetrics* metrics = nullptr;                   // optional: calls by code, latency
};

class OtaStrategyService final : public ota::v1::OtaStrategyService::CallbackService {
 public:
  OtaStrategyService(const CancelByJobRunner& runner, const Clock& clock, ServiceOptions options);

  grpc::ServerUnaryReactor* CancelByJob(grpc::CallbackServerContext* context,
                                        const ota::v1::CancelByJobRequest* request,
                                        ota::v1::CancelByJobResponse* response) override;

  // Calls accepted and not yet answered.
  [[nodiscard]] int64_t in_flight() const { return in_flight_.load(); }

 private:
  const CancelByJobRunner& runner_;
  const Clock& clock_;
  const ServiceOptions options_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace ota
