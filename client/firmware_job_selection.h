// Which batches `ota-cancel batch --firmware-id ID` cancels: it reads every page of the
// firmware's batches through ListJobsByFirmware and keeps those that are dynamic and PLANNED or
// IN_PROGRESS (only they have a dynamic update policy to cancel); the others are skipped, each
// with the reason, and never sent.
//
//   absl::StatusOr<std::vector<ota::v1::OtaJob>> jobs = ListAllFirmwareJobs(list_page, request,
//                                                                          retry, sleeper, clock);
//   FirmwareSelection selection = SelectCancellable(*jobs);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/batch_retry_policy.h"
#include "client/ota_client.h"
#include "client/retry_sleeper.h"
#include "server/base/clock.h"

namespace ota::client {

// Alibaba's largest page: fewest calls against ListJobsByFirmware's own quota.
inline constexpr int kListPageSize = 200;
// A firmware with more pages than this is answered by a gateway that keeps returning a next page.
inline constexpr int kMaxListPages = 1000;

// One ListJobsByFirmware call with this deadline (OtaClient::ListJobsByFirmware in the tool).
using ListPageCall = std::function<ListJobsResult(const ota::v1::ListJobsByFirmwareRequest& request,
                                                  absl::Duration timeout)>;

// Reads every page of `firmware_id`'s batches (page size kListPageSize), in the gateway's order.
// A page refused with RESOURCE_EXHAUSTED or UNAVAILABLE is retried as BatchRetryPolicy says,
// within `timeout_per_page`. Fails with the gateway's error, formatted by FormatCallError, and
// when the gateway's paging does not end.
[[nodiscard]] absl::StatusOr<std::vector<ota::v1::OtaJob>> ListAllFirmwareJobs(
    const ListPageCall& list_page, const std::string& firmware_id,
    const std::string& iot_instance_id, absl::Duration timeout_per_page,
    const BatchRetryPolicy& retry, RetrySleeper& sleeper, const ota::Clock& clock);

struct SkippedJob {
  ota::v1::OtaJob job{};
  std::string why{};  // "static batch", "finished (COMPLETED)", ...
};

struct FirmwareSelection {
  std::vector<ota::v1::OtaJob> to_cancel{};  // in listing order, each job id once
  std::vector<SkippedJob> skipped{};
};

[[nodiscard]] FirmwareSelection SelectCancellable(const std::vector<ota::v1::OtaJob>& jobs);

// "PLANNED", "IN_PROGRESS", ... (Alibaba's spelling); "UNKNOWN" for unspecified.
[[nodiscard]] std::string JobStatusText(ota::v1::JobStatus status);

}  // namespace ota::client
