#include "emulator/call_record.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ota {
namespace {

nlohmann::json ToJson(const CallRecord& r) {
  return {
      {"time_us", r.time_us},
      {"received_us", r.received_us},
      {"arrival_jitter_micros", r.arrival_jitter_micros},
      {"action", r.action},
      {"job_id", r.job_id},
      {"iot_instance_id", r.iot_instance_id},
      {"firmware_id", r.firmware_id},
      {"access_key_id", r.access_key_id},
      {"signature_method", r.signature_method},
      {"http_status", r.http_status},
      {"code", r.code},
      {"request_id", r.request_id},
      {"fault", r.fault},
      {"latency_micros", r.latency_micros},
  };
}

}  // namespace

std::string CallRecordToJson(const CallRecord& record) {
  // Replace invalid UTF-8 from hostile requests instead of throwing.
  return ToJson(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<CallRecorder>> CallRecorder::WithFile(const std::string& path) {
  auto recorder = std::make_unique<CallRecorder>();
  std::lock_guard<std::mutex> lock(recorder->mu_);
  recorder->file_.open(path, std::ios::out | std::ios::trunc);
  if (!recorder->file_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open record file ", path));
  }
  return recorder;
}

void CallRecorder::Add(const CallRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.push_back(record);
  if (file_.is_open()) {
    file_ << CallRecordToJson(record) << '\n';
    file_.flush();
  }
}

void CallRecorder::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  records_.clear();
}

std::vector<CallRecord> CallRecorder::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

std::string CallRecorder::ToJsonArray() const {
  nlohmann::json array = nlohmann::json::array();
  for (const CallRecord& r : Snapshot()) array.push_back(ToJson(r));
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ota
