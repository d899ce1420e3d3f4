// AuditLog: the append-only record of every CancelByJob and ListJobsByFirmware call, one JSON
// object per line, written before the caller gets its answer. Meant to be on in production
// (--audit-log PATH).
//
//   absl::StatusOr<std::unique_ptr<ota::AuditLog>> audit =
//   ota::AuditLog::Open("/var/log/ota/audit.jsonl");
//   (*audit)->Append(record);   // one write(2) on an O_APPEND descriptor
//
// Each line is handed to the kernel in a single write() on a descriptor opened with O_APPEND, so
// lines from concurrent calls (and from several processes sharing the file) never interleave and
// nothing sits in a user-space buffer when the reply goes out: a crash right after the reply cannot
// lose the line. (It is not fsync'ed per call; a power loss can lose the last lines.)
//
// A failed write is counted (write_failures()) and returned for the caller to log; the call is
// still answered, because by
// then the upstream cancellation has already happened (or been refused) and the caller must learn
// the truth about it. Operators alert on the failure count.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct AuditRecord {
  absl::Time time{};
  std::string rpc = "CancelByJob";  // the method called
  std::string
      caller{};  // allow-list name (unchecked: x-ota-caller or "anonymous"); empty if unknown
  std::string identity{};     // what proved it, e.g. "mtls_san:spiffe://x"; never a token
  std::string peer{};         // gRPC peer address
  std::string job_id{};       // CancelByJob
  std::string firmware_id{};  // ListJobsByFirmware
  std::string iot_instance_id{};
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string reason{};  // ErrorInfo.reason, empty on success
  std::string alibaba_code{};
  std::string alibaba_request_id{};
  int attempts = 0;  // upstream requests sent
  std::string x_request_id{};
  absl::Duration latency{};
  absl::Duration limiter_wait{};  // spent waiting for slots of the shared quota
};

// The record as one JSON line, '\n' included. Caller-supplied strings are bounded in length.
[[nodiscard]] std::string FormatAuditLine(const AuditRecord& record);

class AuditLog {
 public:
  // Opens (creating with mode 0600) `path` for appending.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes one line. A failure is also counted.
  absl::Status Append(const AuditRecord& record);

  // Opens the path anew (after logrotate moved the file away); on failure keeps the old file.
  [[nodiscard]] absl::Status Reopen();

  [[nodiscard]] int64_t write_failures() const { return write_failures_.load(); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  std::mutex mu_;  // guards fd_ against Reopen; the kernel orders the appends themselves
  int fd_;
  std::atomic<int64_t> write_failures_{0};
};

}  // namespace ota
