#include "server/limiter/rate_limit_options.h"

#include "absl/strings/str_cat.h"

namespace ota {

absl::Status ValidateRateLimitOptions(const RateLimitOptions& options) {
  if (options.limit < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limit must allow at least 1 call per window, got ", options.limit));
  }
  if (options.window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("rate limit window must be positive, got ",
                                                   absl::FormatDuration(options.window)));
  }
  if (options.margin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("rate limit margin must not be negative, got ",
                                                   absl::FormatDuration(options.margin)));
  }
  if (options.burst < 1 || options.burst > options.limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limit burst must be between 1 and the limit (", options.limit, "), got ",
                     options.burst));
  }
  return absl::OkStatus();
}

}  // namespace ota
