#include "server/observability/serving_state.h"

#include <utility>

namespace ota {

ServingState::ServingState(std::string service_name, std::string limiter_name)
    : service_name_(std::move(service_name)), limiter_name_(std::move(limiter_name)) {}

void ServingState::PushLocked() {
  if (health_ == nullptr) return;
  health_->SetServingStatus(service_name_, status_.serving);
  health_->SetServingStatus("", status_.serving);
  health_->SetServingStatus(limiter_name_, status_.limiter_healthy);
}

void ServingState::AttachHealthService(grpc::HealthCheckServiceInterface* health) {
  std::lock_guard<std::mutex> lock(mu_);
  health_ = health;
  PushLocked();
}

void ServingState::SetServing(bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  status_.serving = serving;
  PushLocked();
}

void ServingState::SetLimiterHealthy(bool healthy) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  status_.limiter_healthy = healthy;
  PushLocked();
}

void ServingState::StopServing() {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = Status{.serving = false, .limiter_healthy = false};
  stopped_ = true;
  PushLocked();
}

ServingState::Status ServingState::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace ota
