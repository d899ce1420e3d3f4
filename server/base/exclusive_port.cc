#include "server/base/exclusive_port.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

// errno of binding a fresh socket (with this module's options) to host:port; 0 if it binds.
int ProbeBind(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found) != 0) {
    return EADDRNOTAVAIL;
  }
  int error = EADDRNOTAVAIL;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    SetExclusiveListenOptions(fd);
    error = bind(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    close(fd);
    if (error != EADDRNOTAVAIL && error != EAFNOSUPPORT) break;  // the first real answer
  }
  freeaddrinfo(found);
  return error;
}

}  // namespace

void SetExclusiveListenOptions(int socket_fd) {
  const int yes = 1;
  const int no = 0;
  setsockopt(socket_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  setsockopt(socket_fd, SOL_SOCKET, SO_REUSEPORT, &no, sizeof(no));
}

absl::Status CheckListenAddressFree(absl::string_view host_port, absl::string_view flag) {
  const std::size_t colon = host_port.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == host_port.size()) return absl::OkStatus();
  std::string host(host_port.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const int error = ProbeBind(host, std::string(host_port.substr(colon + 1)));
  if (error != EADDRINUSE && error != EACCES) return absl::OkStatus();
  return absl::UnavailableError(ExplainListenFailure(host_port, flag));
}

std::string ExplainListenFailure(absl::string_view host_port, absl::string_view flag) {
  const std::string prefix = absl::StrCat("cannot listen on ", host_port, ": ");
  const std::string choose = absl::StrCat("choose another address with ", flag, " HOST:PORT");
  const std::size_t colon = host_port.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == host_port.size()) {
    return absl::StrCat(prefix, "not HOST:PORT (", choose, ")");
  }
  std::string host(host_port.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  switch (const int error = ProbeBind(host, std::string(host_port.substr(colon + 1)))) {
    case EADDRINUSE:
      return absl::StrCat(prefix, "the port is already in use by another process (stop it, or ",
                          choose, ")");
    case EADDRNOTAVAIL:
      return absl::StrCat(prefix, "not an address of this machine (", choose, ")");
    case EACCES:
      return absl::StrCat(prefix, "permission denied: ports below 1024 need privileges (", choose,
                          ")");
    case 0:  // free again by now, or refused for a reason a plain bind does not show
      return absl::StrCat(prefix, "the address could not be bound (", choose, ")");
    default:
      return absl::StrCat(prefix, std::error_code(error, std::generic_category()).message(), " (",
                          choose, ")");
  }
}

}  // namespace ota
