#include "emulator/arrival_jitter.h"

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace ota {

absl::Status ValidateArrivalJitter(absl::Duration max) {
  if (max < absl::ZeroDuration() || max > kMaxArrivalJitter) {
    return absl::InvalidArgumentError(absl::StrCat("arrival jitter must be between 0 and ",
                                                   absl::FormatDuration(kMaxArrivalJitter),
                                                   ", got ", absl::FormatDuration(max)));
  }
  return absl::OkStatus();
}

ArrivalJitter::ArrivalJitter(absl::Duration max) : initial_(max), max_(max) {}

void ArrivalJitter::Set(absl::Duration max) {
  std::lock_guard<std::mutex> lock(mu_);
  max_ = max;
}

absl::Duration ArrivalJitter::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_;
}

void ArrivalJitter::Reset() { Set(initial_); }

absl::Duration ArrivalJitter::Draw(bool new_connection) {
  std::lock_guard<std::mutex> lock(mu_);
  if (max_ <= absl::ZeroDuration()) return absl::ZeroDuration();
  const double max_micros = absl::ToDoubleMicroseconds(max_);
  double micros = absl::Uniform(absl::IntervalClosedClosed, gen_, 0.0, max_micros);
  if (new_connection) micros += absl::Uniform(absl::IntervalClosedClosed, gen_, 0.0, max_micros);
  return absl::Microseconds(micros);
}

}  // namespace ota
