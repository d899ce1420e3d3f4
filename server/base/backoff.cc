#include "server/base/backoff.h"

#include <algorithm>
#include <random>
#include <utility>

namespace ota {

double UniformFraction() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

Backoff::Backoff(BackoffPolicy policy, std::function<double()> random)
    : policy_(policy), random_(random ? std::move(random) : UniformFraction) {}

absl::Duration Backoff::Delay(int attempt) const {
  absl::Duration cap = policy_.initial;
  for (int i = 1; i < attempt && cap < policy_.max; ++i) cap *= 2;
  cap = std::min(cap, policy_.max);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  const double random = std::clamp(random_(), 0.0, 1.0);
  return cap * (1.0 - jitter * (1.0 - random));
}

}  // namespace ota
