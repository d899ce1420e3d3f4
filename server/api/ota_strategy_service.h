// OtaStrategyService: the gRPC face of ota-gateway (callback API: no thread waits per call).
//
// Each call (CancelByJob, ListJobsByFirmware) is first checked against the caller allow-list
// (UNAUTHENTICATED / PERMISSION_DENIED for the caller, the RPC or the instance; nothing validated
// or queued), then validated (INVALID_ARGUMENT, nothing sent upstream), handed to its caller
// (CancelByJobCaller, ListJobsByFirmwareCaller: the same call path) with the caller's deadline,
// and answered with the outcome as a gRPC status with google.rpc details. One JSON log line per
// call records who asked, for what, and how it ended, and, with an audit log, one audit line is
// written before the reply. Both RPCs share every step but the request and the response.
//
//   ota::OtaStrategyService service(runner, clock, {.default_timeout = absl::Seconds(10)});
//   builder.RegisterService(&service);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"
#include "server/api/pending_calls.h"
#include "server/base/clock.h"
#include "server/call/cancel_by_job_caller.h"
#include "server/call/cancel_call.h"
#include "server/call/list_jobs_caller.h"
#include "server/security/audit_log.h"
#include "server/security/caller_authorizer.h"

namespace ota {

class GatewayMetrics;
enum class RpcMethod;

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
  // Carries ListJobsByFirmware calls; null: that RPC answers UNIMPLEMENTED.
  const ListJobsByFirmwareCaller* lister = nullptr;
};

class OtaStrategyService final : public ota::v1::OtaStrategyService::CallbackService {
 public:
  OtaStrategyService(const CancelByJobCaller& runner, const Clock& clock, ServiceOptions options);

  grpc::ServerUnaryReactor* CancelByJob(grpc::CallbackServerContext* context,
                                        const ota::v1::CancelByJobRequest* request,
                                        ota::v1::CancelByJobResponse* response) override;

  grpc::ServerUnaryReactor* ListJobsByFirmware(
      grpc::CallbackServerContext* context, const ota::v1::ListJobsByFirmwareRequest* request,
      ota::v1::ListJobsByFirmwareResponse* response) override;

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
  struct Admission;
  // The steps every RPC shares before its own work (metrics, contract header, who is calling,
  // admission); see the .cc.
  template <typename Fill>
  Admission Admit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                  RpcMethod rpc, std::string job_or_firmware_id, std::string iot_instance_id,
                  Fill fill);

  const CancelByJobCaller& runner_;
  const Clock& clock_;
  const ServiceOptions options_;
  // Shared with the calls' callbacks, which may run after the service is gone.
  std::shared_ptr<PendingCalls> pending_;
};

}  // namespace ota
