#include "server/security/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ota {
namespace {

// strerror is not thread-safe; the GNU strerror_r returns the text (in `buffer` or a static one).
std::string ErrnoText(int error) {
  char buffer[128] = {};
  return strerror_r(error, buffer, sizeof(buffer));
}

// Caller-supplied strings are cut so a line cannot grow with what a caller sends.
std::string Bounded(const std::string& text) { return text.substr(0, 128); }

absl::StatusOr<int> OpenForAppend(const std::string& path) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("--audit-log: cannot open ", path, ": ", ErrnoText(errno)));
  }
  return fd;
}

}  // namespace

std::string FormatAuditLine(const AuditRecord& record) {
  // Assigned one by one: an initializer list builds every pair as a JSON array first.
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", record.time, absl::UTCTimeZone());
  line["rpc"] = record.rpc;
  line["caller"] = record.caller;
  line["identity"] = Bounded(record.identity);
  line["peer"] = record.peer;
  if (record.firmware_id.empty()) {
    line["job_id"] = Bounded(record.job_id);
  } else {
    line["firmware_id"] = Bounded(record.firmware_id);
  }
  line["iot_instance_id"] = Bounded(record.iot_instance_id);
  line["code"] = absl::StatusCodeToString(record.code);
  line["reason"] = record.reason;
  line["alibaba_code"] = record.alibaba_code;
  line["alibaba_request_id"] = record.alibaba_request_id;
  line["attempts"] = record.attempts;
  line["x_request_id"] = Bounded(record.x_request_id);
  line["latency_ms"] = absl::ToDoubleMilliseconds(record.latency);
  line["limiter_wait_ms"] = absl::ToDoubleMilliseconds(record.limiter_wait);
  // `replace` keeps the line valid JSON even if a caller sent invalid UTF-8.
  std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  absl::StatusOr<int> fd = OpenForAppend(path);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<AuditLog>(new AuditLog(path, *fd));
}

AuditLog::~AuditLog() { ::close(fd_); }

absl::Status AuditLog::Append(const AuditRecord& record) {
  const std::string line = FormatAuditLine(record);
  ssize_t written = 0;
  int error = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    do {
      written = ::write(fd_, line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    error = errno;
  }
  if (written == static_cast<ssize_t>(line.size())) return absl::OkStatus();
  write_failures_.fetch_add(1);
  // A partial line is not retried: appending the rest later could interleave with other lines.
  const std::string why =
      written < 0 ? ErrnoText(error)
                  : absl::StrCat("short write (", written, " of ", line.size(), " bytes)");
  return absl::DataLossError(absl::StrCat("audit log ", path_, ": ", why));
}

absl::Status AuditLog::Reopen() {
  absl::StatusOr<int> fd = OpenForAppend(path_);
  if (!fd.ok()) return fd.status();
  std::lock_guard<std::mutex> lock(mu_);
  ::close(fd_);
  fd_ = *fd;
  return absl::OkStatus();
}

}  // namespace ota
