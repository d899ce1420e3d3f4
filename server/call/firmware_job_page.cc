#include "server/call/firmware_job_page.h"

#include "nlohmann/json.hpp"

namespace ota {
namespace {

std::string StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Alibaba's numbers are JSON numbers; anything else reads as 0.
std::int64_t IntField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return 0;
  // Unsigned first: nlohmann counts an unsigned number as an integer too, and reading one above
  // INT64_MAX as int64 would wrap it negative.
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    return value > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX
                                                         : static_cast<std::int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  return 0;
}

}  // namespace

absl::StatusOr<FirmwareJobPage> ParseFirmwareJobPage(std::string_view body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return absl::InternalError("Alibaba's ListOTAJobByFirmware answer is not a JSON object");
  }
  FirmwareJobPage page;
  page.total = IntField(doc, "Total");
  page.page_count = IntField(doc, "PageCount");
  page.current_page = IntField(doc, "CurrentPage");
  auto data = doc.find("Data");
  if (data == doc.end() || !data->is_object()) return page;
  auto infos = data->find("SimpleOTAJobInfo");
  if (infos == data->end() || !infos->is_array()) return page;
  page.jobs.reserve(infos->size());
  for (const nlohmann::json& info : *infos) {
    if (!info.is_object()) continue;
    page.jobs.push_back({.job_id = StringField(info, "JobId"),
                         .firmware_id = StringField(info, "FirmwareId"),
                         .product_key = StringField(info, "ProductKey"),
                         .job_status = StringField(info, "JobStatus"),
                         .job_type = StringField(info, "JobType"),
                         .selection_type = StringField(info, "SelectionType"),
                         .utc_create = StringField(info, "UtcCreate"),
                         .utc_modified = StringField(info, "UtcModified")});
  }
  return page;
}

}  // namespace ota
