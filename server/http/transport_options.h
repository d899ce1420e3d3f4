// CurlTransportOptions: how the gateway talks HTTP to Alibaba's endpoint (timeouts, connection
// pool, CA bundle, reply size cap, departure pacing); read from flags by the configuration.
//
//   ota::CurlTransportOptions options{.request_timeout = absl::Seconds(5), .max_connections = 4};
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace ota {

struct CurlTransportOptions {
  absl::Duration connect_timeout = absl::Seconds(3);
  // Cap per attempt, below the caller's deadline.
  absl::Duration request_timeout = absl::Seconds(10);
  // Total open connections to the upstream; more concurrent requests wait in curl's queue.
  int max_connections = 8;
  // PEM CA bundle trusted instead of curl's default bundle file; empty = system store. (The
  // initializer keeps designated initialization like {.max_connections = 4} warning-free.)
  std::string ca_file = {};
  // A bigger body is an error, not a read.
  std::size_t max_response_bytes = 1 << 20;
  // Pacing on the moments requests actually leave (DepartureWindow): at most `departure_limit`
  // requests leave within any `departure_window`; 0 = no limit. A request over it waits in the
  // loop, in order, until an earlier departure ages out (or its deadline passes).
  int departure_limit = 0;
  absl::Duration departure_window = absl::Seconds(1);
  // Each HttpRequest::pacing_key (an upstream quota) has a window of its own, of
  // departure_limits[key] requests, or departure_limit for a key not listed; departure_limit 0
  // turns pacing off for every key. A request never waits for another quota's departures.
  std::map<std::string, int> departure_limits = {};
};

}  // namespace ota
