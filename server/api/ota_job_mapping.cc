#include "server/api/ota_job_mapping.h"

#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "server/base/alibaba_time.h"

namespace ota {
namespace {

bool Is(std::string_view alibaba, absl::string_view name) {
  return absl::EqualsIgnoreCase(absl::string_view(alibaba.data(), alibaba.size()), name);
}

// Nothing when `text` is empty or not an RFC 3339 time (within Timestamp's range).
std::optional<google::protobuf::Timestamp> TimestampOf(std::string_view text) {
  if (text.empty()) return std::nullopt;
  absl::StatusOr<absl::Time> time = ParseAlibabaTime(text);
  if (!time.ok()) return std::nullopt;
  const absl::Duration since_epoch = *time - absl::UnixEpoch();
  const std::int64_t seconds = absl::ToInt64Seconds(since_epoch);
  const auto nanos =
      static_cast<std::int32_t>(absl::ToInt64Nanoseconds(since_epoch - absl::Seconds(seconds)));
  // google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31.
  if (seconds < -62135596800 || seconds > 253402300799 || nanos < 0) return std::nullopt;
  google::protobuf::Timestamp out;
  out.set_seconds(seconds);
  out.set_nanos(nanos);
  return out;
}

}  // namespace

ota::v1::JobStatus JobStatusOf(std::string_view alibaba) {
  if (Is(alibaba, "PLANNED")) return ota::v1::JOB_STATUS_PLANNED;
  if (Is(alibaba, "IN_PROGRESS")) return ota::v1::JOB_STATUS_IN_PROGRESS;
  if (Is(alibaba, "COMPLETED")) return ota::v1::JOB_STATUS_COMPLETED;
  if (Is(alibaba, "CANCELED") || Is(alibaba, "CANCELLED")) return ota::v1::JOB_STATUS_CANCELED;
  return ota::v1::JOB_STATUS_UNSPECIFIED;
}

ota::v1::SelectionType SelectionTypeOf(std::string_view alibaba) {
  if (Is(alibaba, "STATIC")) return ota::v1::SELECTION_TYPE_STATIC;
  if (Is(alibaba, "DYNAMIC")) return ota::v1::SELECTION_TYPE_DYNAMIC;
  return ota::v1::SELECTION_TYPE_UNSPECIFIED;
}

ota::v1::JobType JobTypeOf(std::string_view alibaba) {
  if (Is(alibaba, "VERIFY_FIRMWARE")) return ota::v1::JOB_TYPE_VERIFY_FIRMWARE;
  if (Is(alibaba, "UPGRADE_FIRMWARE")) return ota::v1::JOB_TYPE_UPGRADE_FIRMWARE;
  return ota::v1::JOB_TYPE_UNSPECIFIED;
}

ota::v1::OtaJob ToOtaJob(const FirmwareJobInfo& info) {
  ota::v1::OtaJob job;
  job.set_job_id(info.job_id);
  job.set_job_status(JobStatusOf(info.job_status));
  job.set_selection_type(SelectionTypeOf(info.selection_type));
  job.set_job_type(JobTypeOf(info.job_type));
  job.set_product_key(info.product_key);
  job.set_firmware_id(info.firmware_id);
  if (std::optional<google::protobuf::Timestamp> created = TimestampOf(info.utc_create)) {
    *job.mutable_create_time() = *created;
  }
  if (std::optional<google::protobuf::Timestamp> modified = TimestampOf(info.utc_modified)) {
    *job.mutable_update_time() = *modified;
  }
  return job;
}

}  // namespace ota
