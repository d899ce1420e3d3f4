#include "server/api/request_id.h"

namespace ota {

std::string SanitizeRequestId(std::string_view raw) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  raw = raw.substr(0, kMaxRequestIdLength);
  std::string id;
  id.reserve(raw.size());
  for (char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    id.push_back(byte > 0x20 && byte < 0x7F ? c : '_');
  }
  return id;
}

}  // namespace ota
