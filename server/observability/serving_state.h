// ServingState: the one record of whether ota-gateway is serving, read by the gRPC health service
// and by the admin endpoints (/readyz, the ota_gateway_serving gauge) alike, so they cannot
// disagree.
//
// It mirrors two grpc.health.v1 entries: the service (which also drives the server-wide "" entry)
// and the rate limiter's (NOT_SERVING while a shared limiter is degraded). Every change is applied
// to the attached gRPC health service under the same lock that guards the copy read here.
//
//   ota::ServingState serving("ota.v1.OtaStrategyService", "ota.v1.OtaStrategyService.limiter");
//   serving.AttachHealthService(server->GetHealthCheckService());
//   serving.SetLimiterHealthy(true);
//   serving.SetServing(true);
//   ...
//   serving.StopServing();  // on SIGTERM, before draining
#pragma once

#include <grpcpp/health_check_service_interface.h>

#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"

namespace ota {

class ServingState {
 public:
  struct Status {
    bool serving = false;
    bool limiter_healthy = false;
  };

  ServingState(std::string service_name, std::string limiter_name);

  // From now on every change is also set on `health` (which must outlive this object or be
  // detached by passing nullptr); the current state is set on it at once.
  void AttachHealthService(grpc::HealthCheckServiceInterface* health);

  // The service's entry and the server-wide "" entry.
  void SetServing(bool serving);
  void SetLimiterHealthy(bool healthy);
  // Every entry NOT_SERVING, and later changes ignored: what gRPC's health service does once the
  // server shuts down, so a limiter recovering during the drain cannot make /readyz say 200.
  void StopServing();

  [[nodiscard]] Status Get() const;
  [[nodiscard]] const std::string& service_name() const { return service_name_; }
  [[nodiscard]] const std::string& limiter_name() const { return limiter_name_; }

 private:
  void PushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string service_name_;
  const std::string limiter_name_;
  mutable std::mutex mu_;
  Status status_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace ota
