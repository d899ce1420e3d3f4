#include "emulator/open_connections.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"

namespace ota {
namespace {

std::string NumericAddress(const sockaddr_storage& address, socklen_t length, int& port) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  port = -1;
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof(host), service,
                  sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return {};
  }
  if (!absl::SimpleAtoi(service, &port)) port = -1;
  return host;
}

// Calls `visit(fd, endpoints)` for each connected socket of the process; stops when it returns
// false.
void ForEachConnection(const std::function<bool(int, const ConnectionEndpoints&)>& visit) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  // One reader of this DIR stream at a time (it is local), which is all readdir needs.
  while (const dirent* entry = readdir(fds)) {  // NOLINT(concurrency-mt-unsafe)
    int fd = -1;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(fds)) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_length = sizeof(local);
    socklen_t peer_length = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
      continue;  // not a socket, or not connected
    }
    ConnectionEndpoints endpoints;
    endpoints.local_addr = NumericAddress(local, local_length, endpoints.local_port);
    endpoints.remote_addr = NumericAddress(peer, peer_length, endpoints.remote_port);
    if (!visit(fd, endpoints)) break;
  }
  closedir(fds);
}

}  // namespace

void ShutdownConnection(const ConnectionEndpoints& wanted, int how) {
  ForEachConnection([&](int fd, const ConnectionEndpoints& found) {
    if (found.local_port == wanted.local_port && found.remote_port == wanted.remote_port &&
        found.local_addr == wanted.local_addr && found.remote_addr == wanted.remote_addr) {
      shutdown(fd, how);
      return false;
    }
    return true;
  });
}

void ShutdownConnections(const std::function<bool(const ConnectionEndpoints&)>& select, int how) {
  ForEachConnection([&](int fd, const ConnectionEndpoints& found) {
    if (select(found)) shutdown(fd, how);
    return true;
  });
}

}  // namespace ota
