#include "server/security/tls_files_monitor.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/base/json_logger.h"

namespace ota {

TlsFilesMonitor::TlsFilesMonitor(GrpcTlsFiles files, absl::Duration interval,
                                 std::string last_summary)
    : files_(std::move(files)), interval_(interval), last_state_(std::move(last_summary)) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, absl::ToChronoSeconds(interval_), [this] { return stopping_; })) {
      lock.unlock();
      Check(/*always_log=*/false, "periodic check");
      lock.lock();
    }
  });
}

TlsFilesMonitor::~TlsFilesMonitor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TlsFilesMonitor::CheckNow(const std::string& why) { Check(/*always_log=*/true, why); }

void TlsFilesMonitor::Check(bool always_log, const std::string& why) {
  const absl::StatusOr<std::string> summary = CheckGrpcTlsFiles(files_, absl::Now());
  const std::string state =
      summary.ok() ? *summary : absl::StrCat("invalid: ", summary.status().message());
  bool changed = false;
  bool was_invalid = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = state != last_state_;
    was_invalid = absl::StartsWith(last_state_, "invalid: ");
    last_state_ = state;
  }
  if (!changed && !always_log) return;
  const std::string interval = absl::FormatDuration(interval_);
  if (summary.ok()) {
    Log(LogLevel::kInfo,
        absl::StrCat(
            was_invalid ? "TLS files on disk are valid again" : "TLS files on disk are valid",
            "; new connections use them within ", interval),
        {{"tls", *summary}, {"trigger", why}});
  } else {
    Log(LogLevel::kError,
        absl::StrCat("TLS files on disk are NOT valid: gRPC loads them within ", interval,
                     " and new connections then FAIL until they are fixed (open ones keep "
                     "working)"),
        {{"error", std::string(summary.status().message())}, {"trigger", why}});
  }
}

}  // namespace ota
