// Turns a CallOutcome into the gRPC status the caller receives: code, message, and the
// google.rpc.Status details (ErrorInfo always on errors, RetryInfo when retrying helps,
// BadRequest for invalid fields) in the `grpc-status-details-bin` trailer.
#pragma once

#include <grpcpp/support/status.h>

#include "server/call/call_outcome.h"

namespace ota {

[[nodiscard]] grpc::Status ToGrpcStatus(const CallOutcome& outcome);

}  // namespace ota
