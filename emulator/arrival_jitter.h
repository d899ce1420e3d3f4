// ArrivalJitter: the "arrival jitter" fault, the delay between a request leaving its client and
// Alibaba counting it against the quota.
//
// Alibaba counts arrivals at its own front ends. Network paths, those front ends and new TLS
// sessions delay each request by a varying amount, so requests a client spaced 1s + margin apart
// can still land 11 to a second. The fault draws, per request, a delay uniform in [0, max], plus
// a second such draw for the first request of a new connection (the connection's own set-up);
// the emulator waits that long after the request reached it, and only then counts it against the
// quota and records it. With `max` 0 (the default) requests are counted as they arrive. Set by
// --fault-arrival-jitter or at run time through POST /_emulator/faults ("arrival_jitter").
// Thread-safe.
//
//   ota::ArrivalJitter jitter(absl::Milliseconds(100));
//   absl::SleepFor(jitter.Draw(/*new_connection=*/true));  // 0..200ms
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ota {

// The longest jitter accepted: beyond it a request would outlive any client's deadline.
inline constexpr absl::Duration kMaxArrivalJitter = absl::Seconds(10);

// INVALID_ARGUMENT unless 0 <= max <= kMaxArrivalJitter.
[[nodiscard]] absl::Status ValidateArrivalJitter(absl::Duration max);

class ArrivalJitter {
 public:
  // `max` must be valid; it is also what Reset() returns to.
  explicit ArrivalJitter(absl::Duration max);

  void Set(absl::Duration max);
  [[nodiscard]] absl::Duration Get() const;
  void Reset();

  // The delay for one request: uniform in [0, max], plus another such draw when it is the first
  // request of a new connection. Zero when the fault is off.
  [[nodiscard]] absl::Duration Draw(bool new_connection);

 private:
  const absl::Duration initial_;
  mutable std::mutex mu_;
  absl::Duration max_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
