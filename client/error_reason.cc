#include "client/error_reason.h"

#include <google/protobuf/descriptor.h>

namespace ota::client {
namespace {

constexpr std::string_view kReasonPrefix = "ERROR_REASON_";

}  // namespace

std::string ReasonString(ota::v1::ErrorReason reason) {
  const std::string& name = ota::v1::ErrorReason_Name(reason);
  return name.substr(name.rfind(kReasonPrefix, 0) == 0 ? kReasonPrefix.size() : 0);
}

ota::v1::ErrorReason ReasonFromString(std::string_view reason) {
  ota::v1::ErrorReason value = ota::v1::ERROR_REASON_UNSPECIFIED;
  if (!ota::v1::ErrorReason_Parse(std::string(kReasonPrefix).append(reason), &value)) {
    return ota::v1::ERROR_REASON_UNSPECIFIED;
  }
  return value;
}

std::string DomainString(ota::v1::ErrorDomain domain) {
  const google::protobuf::EnumValueDescriptor* value =
      ota::v1::ErrorDomain_descriptor()->FindValueByNumber(domain);
  if (value == nullptr) return "";
  return value->options().GetExtension(ota::v1::error_domain);
}

}  // namespace ota::client
