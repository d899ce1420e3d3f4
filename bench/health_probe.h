// HealthProbe: asks a gRPC server's grpc.health.v1.Health/Check whether it is SERVING, the way a
// load balancer or Kubernetes probe would; used to wait for a started server and to time start-up.
//
//   absl::Duration took;
//   bool up = ota::WaitUntilServing("127.0.0.1:50051", absl::Seconds(5), &took);
#pragma once

#include <string>

#include "absl/time/time.h"

namespace ota {

// One Check of the overall status (service ""), with a short deadline.
[[nodiscard]] bool IsServing(const std::string& target);

// Polls IsServing every millisecond until it holds (true) or `limit` passes (false).
[[nodiscard]] bool WaitUntilServing(const std::string& target, absl::Duration limit);

}  // namespace ota
