// FaultInjector: makes iot-emulator misbehave on purpose, so clients' retry and error paths can be
// tested against a real server.
//
// A FaultConfig holds an optional added latency and at most one broken answer:
//   - status:  an HTTP error status (e.g. 500, 503) with an Alibaba-shaped JSON error body;
//   - reset:   the connection is closed without any answer;
//   - garbage: HTTP 200 with a body that is not JSON;
//   - slow_body: HTTP 200 headers at once, then a body that trickles (kSlowBodyChunk bytes every
//     kSlowBodyInterval, about kSlowBodyDuration in all): a client must bound the whole read;
//   - oversized: HTTP 200 with a kOversizedBodyBytes JSON body: a client must cap what it reads;
//   - clock_skew: HTTP 400 InvalidTimeStamp.Expired, what Alibaba answers when the caller's clock
//     is off by more than it accepts (without having to move anyone's clock).
// Each call is hit with probability `rate` (one draw per call: a hit gets the latency and the
// broken answer together). A call answered with a broken answer never reaches the API, so it
// neither counts against the quota nor changes a job, unless `after_apply` is set: then the API
// handles the call first (a cancel is applied) and the broken answer replaces Alibaba's, the way
// an answer is lost on the way back. A call that is only delayed is processed normally and answered
// late (silence past a caller's timeout after the cancel was applied). `action` limits a config to
// calls of one Action (e.g. only CancelOTAStrategyByJob, so QueryOTAJob still answers); several
// configs, at most one per action, may be in force at once. Configs come from flags or, at
// runtime, as JSON from POST /_emulator/faults. Thread-safe.
//
//   ota::FaultInjector faults(ota::FaultConfig{.status = 503, .rate = 0.5});
//   ota::FaultDecision d = faults.Draw();
//   if (d.answer == ota::FaultAnswer::kStatus) { /* answer d.status with ServiceUnavailable */ }
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "emulator/api_answer.h"

namespace ota {

struct FaultConfig {
  absl::Duration latency = absl::ZeroDuration();
  int status = 0;  // 0: off; otherwise 400..599
  bool reset = false;
  bool garbage = false;
  bool slow_body = false;
  bool oversized = false;
  bool clock_skew = false;
  double rate = 1.0;         // probability 0..1 that a call is hit
  bool after_apply = false;  // the API handles the call first; the broken answer then replaces it
  std::string action{};      // empty: every call; else only calls of this Action

  [[nodiscard]] bool Active() const {
    return latency > absl::ZeroDuration() || status != 0 || reset || garbage || slow_body ||
           oversized || clock_skew;
  }
};

inline constexpr std::size_t kSlowBodyChunk = 4;
inline constexpr absl::Duration kSlowBodyInterval = absl::Milliseconds(100);
inline constexpr absl::Duration kSlowBodyDuration = absl::Seconds(30);
inline constexpr std::size_t kOversizedBodyBytes = 2 << 20;  // 2 MiB

// INVALID_ARGUMENT unless: latency >= 0, status 0 or 400..599, at most one of status / reset /
// garbage / slow_body / oversized / clock_skew, 0 <= rate <= 1, and `action` empty or an action
// the emulator answers.
[[nodiscard]] absl::Status ValidateFaultConfig(const FaultConfig& config);

// {"latency": "250ms", "status": 503, "reset": false, "garbage": false, "slow_body": false,
//  "oversized": false, "clock_skew": false, "rate": 0.5, "after_apply": false, "action": ""};
// every field optional (absent means off, rate defaults to 1); "latency_ms": 250 may replace
// "latency". Validated.
[[nodiscard]] absl::StatusOr<FaultConfig> FaultConfigFromJson(absl::string_view json);
[[nodiscard]] std::string FaultConfigToJson(const FaultConfig& config);
// One object as above, or an array of them (at most one per action): the configs in force at once.
[[nodiscard]] absl::StatusOr<std::vector<FaultConfig>> FaultConfigsFromJson(absl::string_view json);
// One object when one config is in force, else an array.
[[nodiscard]] std::string FaultConfigsToJson(const std::vector<FaultConfig>& configs);

// The Alibaba-shaped error an injected status answers with: 503 -> ServiceUnavailable, other 5xx
// -> InternalError, 429 -> Throttling, other 4xx -> InvalidParameter.
[[nodiscard]] GatewayError InjectedStatusError(int status);

// The answer of the clock_skew fault: Alibaba's words for a timestamp outside its window.
[[nodiscard]] GatewayError ClockSkewError();

enum class FaultAnswer { kNone, kStatus, kReset, kGarbage, kSlowBody, kOversized, kClockSkew };

struct FaultDecision {
  absl::Duration latency = absl::ZeroDuration();
  FaultAnswer answer = FaultAnswer::kNone;
  int status = 0;
  bool after_apply = false;
};

class FaultInjector {
 public:
  // `config` must be valid; it is also what Reset() returns to.
  explicit FaultInjector(const FaultConfig& config);

  void Set(const FaultConfig& config);
  void Set(std::vector<FaultConfig> configs);  // each valid, at most one per action
  [[nodiscard]] FaultConfig Get() const;       // the first config in force
  [[nodiscard]] std::vector<FaultConfig> GetAll() const;
  void Reset();

  // Decides the fate of one call of `action`: the config for that action, else the one for every
  // action.
  [[nodiscard]] FaultDecision Draw(absl::string_view action = {});

 private:
  const FaultConfig initial_;
  mutable std::mutex mu_;
  std::vector<FaultConfig> configs_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
