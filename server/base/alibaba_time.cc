#include "server/base/alibaba_time.h"

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

void AppendTwoDigits(std::string& out, int value) {
  out.push_back(static_cast<char>('0' + value / 10));
  out.push_back(static_cast<char>('0' + value % 10));
}

}  // namespace

std::string FormatAlibabaTimestamp(absl::Time t) {
  const absl::CivilSecond civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (civil.year() < 0 || civil.year() > 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }
  // Hand-formatted: this runs once per signature and FormatTime's generality costs more than the
  // rest of the v1 signing path.
  std::string out;
  out.reserve(20);
  const int year = static_cast<int>(civil.year());
  AppendTwoDigits(out, year / 100);
  AppendTwoDigits(out, year % 100);
  out.push_back('-');
  AppendTwoDigits(out, civil.month());
  out.push_back('-');
  AppendTwoDigits(out, civil.day());
  out.push_back('T');
  AppendTwoDigits(out, civil.hour());
  out.push_back(':');
  AppendTwoDigits(out, civil.minute());
  out.push_back(':');
  AppendTwoDigits(out, civil.second());
  out.push_back('Z');
  return out;
}

absl::StatusOr<absl::Time> ParseAlibabaTime(std::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::string_view(text.data(), text.size()), &time,
                       &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::string_view(text.data(), text.size()),
                     "' is not a UTC time like 2021-10-20T04:27:09Z"));
  }
  return time;
}

}  // namespace ota
