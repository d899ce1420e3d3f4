#include "server/security/caller_authorizer.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

absl::StatusOr<CallerAllowList> ReadAllowList(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--callers-file: cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<CallerAllowList> list = CallerAllowList::Parse(text.str());
  if (!list.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--callers-file ", path, ": ", list.status().message()));
  }
  return list;
}

}  // namespace

std::unique_ptr<CallerAuthorizer> CallerAuthorizer::AllowAll() {
  return std::unique_ptr<CallerAuthorizer>(new CallerAuthorizer(""));
}

absl::StatusOr<std::unique_ptr<CallerAuthorizer>> CallerAuthorizer::FromFile(std::string path) {
  if (path.empty()) return absl::InvalidArgumentError("--callers-file: empty path");
  std::unique_ptr<CallerAuthorizer> authorizer(new CallerAuthorizer(std::move(path)));
  if (absl::Status status = authorizer->Reload(); !status.ok()) return status;
  return authorizer;
}

AuthDecision CallerAuthorizer::Authorize(const PresentedCredentials& presented,
                                         absl::string_view iot_instance_id,
                                         absl::string_view rpc) const {
  if (path_.empty()) return UncheckedCaller(presented);
  std::shared_ptr<const CallerAllowList> list;
  {
    std::lock_guard<std::mutex> lock(mu_);
    list = list_;
  }
  return list->Authorize(presented, iot_instance_id, rpc);
}

absl::Status CallerAuthorizer::Reload() {
  if (path_.empty()) return absl::OkStatus();
  absl::StatusOr<CallerAllowList> list = ReadAllowList(path_);
  if (!list.ok()) return list.status();
  auto fresh = std::make_shared<const CallerAllowList>(*std::move(list));
  std::lock_guard<std::mutex> lock(mu_);
  list_ = std::move(fresh);
  return absl::OkStatus();
}

std::size_t CallerAuthorizer::caller_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return list_ == nullptr ? 0 : list_->callers().size();
}

std::vector<std::string> CallerAuthorizer::caller_names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  if (list_ == nullptr) return names;
  for (const CallerAllowList::Caller& caller : list_->callers()) names.push_back(caller.name);
  return names;
}

}  // namespace ota
