// Open connections: reaching this process's accepted TCP connections by their endpoints.
//
// cpp-httplib hands request handlers no socket and keeps idle keep-alive connections to itself.
// Two emulator features need the socket anyway: the "reset" fault cuts the connection a request
// arrived on, and a clean stop wakes idle keep-alive connections so shutdown is immediate rather
// than waiting out the keep-alive timeout. The sockets are found among the process's open
// descriptors (/proc/self/fd) by their local and peer addresses; shutdown(2) then makes
// httplib's own next read or write fail, and httplib closes the descriptor itself. (Even
// SHUT_RD stops httplib from writing an answer: it checks that the peer is alive first.)
//
//   ota::ShutdownConnection({req.local_addr, req.local_port, req.remote_addr, req.remote_port},
//                           SHUT_RDWR);
//   ota::ShutdownConnections([](const ota::ConnectionEndpoints& c) { return c.local_port == 18080;
//   },
//                            SHUT_RDWR);
#pragma once

#include <functional>
#include <string>

namespace ota {

struct ConnectionEndpoints {
  std::string local_addr;  // numeric, as httplib reports it
  int local_port = -1;
  std::string remote_addr;
  int remote_port = -1;
};

// shutdown(fd, how) on the connected socket with exactly these endpoints, if there is one.
void ShutdownConnection(const ConnectionEndpoints& endpoints, int how);

// shutdown(fd, how) on every connected socket for which `select` returns true.
void ShutdownConnections(const std::function<bool(const ConnectionEndpoints&)>& select, int how);

}  // namespace ota
