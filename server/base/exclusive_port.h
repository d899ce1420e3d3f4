// One process per port: the listening sockets of ota-gateway (gRPC and admin) and iot-emulator
// allow a quick restart past TIME_WAIT (SO_REUSEADDR) but never SO_REUSEPORT, so a second process
// on a busy port fails to bind instead of silently taking a share of the connections. When a bind
// fails, ExplainListenFailure says why, in words a newcomer can act on.
//
//   httplib_server.set_socket_options(ota::SetExclusiveListenOptions);
//   if (!bound) std::cerr << ota::ExplainListenFailure("127.0.0.1:18080", "--listen") << "\n";
//   // "cannot listen on 127.0.0.1:18080: the port is already in use by another process (stop
//   //  it, or choose another port with --listen HOST:PORT)"
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ota {

// For a socket about to be bound: SO_REUSEADDR on, SO_REUSEPORT explicitly off.
void SetExclusiveListenOptions(int socket_fd);

// Why `host_port` ("HOST:PORT", IPv6 as "[::1]:PORT") cannot be listened on: the address is
// probed with a bind of its own (in use, not an address of this machine, needs privileges,
// malformed), and the message names `flag` as the way to choose another address.
[[nodiscard]] std::string ExplainListenFailure(absl::string_view host_port, absl::string_view flag);

// Before handing `host_port` to a library that would log its own raw lines about a failed bind
// (gRPC): UNAVAILABLE with ExplainListenFailure's message when a probe bind finds the port in use
// or reserved for privileged processes; OK otherwise, including for addresses the probe cannot
// judge, which are left to the library.
[[nodiscard]] absl::Status CheckListenAddressFree(absl::string_view host_port,
                                                  absl::string_view flag);

}  // namespace ota
