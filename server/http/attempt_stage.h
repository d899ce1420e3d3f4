// AttemptStage: how far one upstream request got before it failed, carried on the failure status.
//
// A cancel that never left cannot have been applied, while one that left and lost its answer may
// have been. The transport knows which (libcurl reports the bytes of request it wrote); the call
// path needs it to tell the caller the truth and to decide whether Alibaba must be asked what
// happened. The stage travels as a payload of the transport's absl::Status, so the HttpTransport
// seam keeps its shape:
//
//   done(ota::WithAttemptStage(absl::UnavailableError("connection reset"),
//                              ota::AttemptStage::kSentWithoutAnswer));
//   if (ota::AttemptStageOf(status) == ota::AttemptStage::kNeverSent) { /* nothing applied */ }
#pragma once

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace ota {

enum class AttemptStage {
  kNeverSent,          // DNS, connect, TLS handshake, held by pacing, refused before sending
  kSentWithoutAnswer,  // the request was written; no complete answer came back
};

inline constexpr absl::string_view kAttemptStagePayload = "type.ota-gateway/attempt-stage";

[[nodiscard]] inline absl::Status WithAttemptStage(absl::Status status, AttemptStage stage) {
  status.SetPayload(kAttemptStagePayload,
                    absl::Cord(stage == AttemptStage::kNeverSent ? "never-sent" : "sent"));
  return status;
}

// A failure that does not say is taken as sent: claiming "nothing was applied" without knowing
// would be the one lie the gateway must not tell.
[[nodiscard]] inline AttemptStage AttemptStageOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kAttemptStagePayload);
  if (payload.has_value() && *payload == "never-sent") return AttemptStage::kNeverSent;
  return AttemptStage::kSentWithoutAnswer;
}

}  // namespace ota
