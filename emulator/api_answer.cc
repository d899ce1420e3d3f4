#include "emulator/api_answer.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace ota {
namespace {

// Thread-local so concurrent handlers never contend on one generator.
absl::BitGen& Generator() {
  thread_local absl::BitGen gen;
  return gen;
}

}  // namespace

std::string NewRequestId() {
  absl::BitGen& gen = Generator();
  const auto a = absl::Uniform<std::uint32_t>(gen);
  const auto b = absl::Uniform<std::uint16_t>(gen);
  const auto c = absl::Uniform<std::uint16_t>(gen);
  const auto d = absl::Uniform<std::uint16_t>(gen);
  const auto e = absl::Uniform<std::uint64_t>(gen) & 0xFFFFFFFFFFFFULL;
  return absl::StrFormat("%08X-%04X-%04X-%04X-%012X", a, b, c, d, e);
}

ApiAnswer GatewayErrorAnswer(const GatewayError& error, absl::string_view host_id) {
  ApiAnswer answer{.http_status = error.http_status,
                   .code = error.code,
                   .request_id = NewRequestId(),
                   .body = {}};
  const nlohmann::json body = {
      {"RequestId", answer.request_id},
      {"HostId", host_id},
      {"Code", error.code},
      {"Message", error.message},
      {"Recommend",
       absl::StrFormat("https://api.aliyun.com/troubleshoot?q=%s&product=Iot", error.code)},
  };
  answer.body = body.dump();
  return answer;
}

ApiAnswer BusinessErrorAnswer(absl::string_view code, absl::string_view message) {
  ApiAnswer answer{
      .http_status = 200, .code = std::string(code), .request_id = NewRequestId(), .body = {}};
  const nlohmann::json body = {
      {"RequestId", answer.request_id},
      {"Success", false},
      {"Code", code},
      {"ErrorMessage", message},
  };
  answer.body = body.dump();
  return answer;
}

ApiAnswer SuccessAnswer() {
  ApiAnswer answer{.http_status = 200, .code = {}, .request_id = NewRequestId(), .body = {}};
  const nlohmann::json body = {{"RequestId", answer.request_id}, {"Success", true}};
  answer.body = body.dump();
  return answer;
}

ApiAnswer QueryJobAnswer(absl::string_view job_id, absl::string_view job_status,
                         absl::string_view selection_type) {
  ApiAnswer answer{.http_status = 200, .code = {}, .request_id = NewRequestId(), .body = {}};
  const nlohmann::json body = {
      {"RequestId", answer.request_id},
      {"Success", true},
      {"Data",
       {{"JobId", job_id},
        {"JobStatus", job_status},
        {"SelectionType", selection_type},
        {"JobType", "UPGRADE_FIRMWARE"},
        {"DynamicMode", selection_type == "DYNAMIC" ? 1 : 0}}},
  };
  answer.body = body.dump();
  return answer;
}

namespace {

// Alibaba's list answers write times in UTC with milliseconds: "2019-12-28T02:43:10.000Z".
std::string IsoMillis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// The emulator has no products; every job reads as one of this product.
constexpr char kEmulatedProductKey[] = "a1EmuProduct";

}  // namespace

ApiAnswer FirmwareJobsAnswer(const JobPage& page, int current_page, int page_size) {
  ApiAnswer answer{.http_status = 200, .code = {}, .request_id = NewRequestId(), .body = {}};
  nlohmann::json infos = nlohmann::json::array();
  for (const ListedJob& job : page.jobs) {
    const JobView view = ViewOf(job.spec.state);
    infos.push_back({{"JobId", job.spec.job_id},
                     {"FirmwareId", job.spec.firmware_id},
                     {"ProductKey", kEmulatedProductKey},
                     {"JobStatus", view.job_status},
                     {"JobType", "UPGRADE_FIRMWARE"},
                     {"SelectionType", view.selection_type},
                     {"UtcCreate", IsoMillis(job.created)},
                     {"UtcModified", IsoMillis(job.modified)}});
  }
  const int page_count = page_size > 0 ? (page.total + page_size - 1) / page_size : 0;
  const nlohmann::json body = {
      {"RequestId", answer.request_id},
      {"Success", true},
      {"Total", page.total},
      {"PageSize", page_size},
      {"PageCount", page_count},
      {"CurrentPage", current_page},
      {"Data", {{"SimpleOTAJobInfo", infos}}},
  };
  answer.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return answer;
}

}  // namespace ota
