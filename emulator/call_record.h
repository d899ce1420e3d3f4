// CallRecorder: every API call iot-emulator received, for tests to inspect afterwards.
//
// One CallRecord per call, rejected and throttled calls included, in arrival order. The records
// are served as a JSON array by GET /_emulator/calls and, with --record-file, appended to a file as
// one JSON object per line, flushed per line so a test can read it while the emulator runs.
// Records never hold a secret or token: only the AccessKeyId. Thread-safe.
//
//   ota::CallRecorder recorder;                       // or CallRecorder::WithFile(path)
//   recorder.Add({.time_us = ..., .action = "CancelOTAStrategyByJob", ...});
//   std::string json = recorder.ToJsonArray();
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"

namespace ota {

struct CallRecord {
  std::int64_t time_us = 0;      // arrival as the quota counts it (after any jitter), unix micros
  std::int64_t received_us = 0;  // when the request reached the emulator, unix micros
  std::int64_t arrival_jitter_micros = 0;  // injected delay between the two
  std::string action;
  std::string job_id;
  std::string iot_instance_id;
  std::string firmware_id;  // ListOTAJobByFirmware's FirmwareId; empty for the other actions
  std::string access_key_id;
  std::string signature_method;     // "HMAC-SHA1", "ACS3-HMAC-SHA256" or empty
  int http_status = 0;              // 0: the connection was closed without an answer
  std::string code;                 // the Code answered; empty on success
  std::string request_id;           // the RequestId answered; empty when nothing was answered
  std::string fault;                // the injected fault, if any: "status", "reset", "garbage"
  std::int64_t latency_micros = 0;  // injected delay before answering

  friend bool operator==(const CallRecord&, const CallRecord&) = default;
};

[[nodiscard]] std::string CallRecordToJson(const CallRecord& record);

class CallRecorder {
 public:
  CallRecorder() = default;
  // Also appends each record to `path` (created or truncated).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CallRecorder>> WithFile(
      const std::string& path);

  void Add(const CallRecord& record);
  // Forgets the records kept in memory; the file, an audit trail of the whole run, keeps them.
  void Clear();
  [[nodiscard]] std::vector<CallRecord> Snapshot() const;
  [[nodiscard]] std::string ToJsonArray() const;

 private:
  mutable std::mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
  std::ofstream file_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
