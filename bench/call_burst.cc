#include "bench/call_burst.h"

#include <cstddef>
#include <thread>

#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "client/ota_client.h"
#include "nlohmann/json.hpp"

namespace ota {

std::vector<BurstCallResult> FireBurst(const std::string& target,
                                       const std::vector<std::string>& job_ids,
                                       absl::Duration timeout, const std::string& bearer_token) {
  std::vector<BurstCallResult> results(job_ids.size());
  absl::StatusOr<client::OtaClient> connected =
      client::OtaClient::Connect(target, {.use_tls = false,
                                          .ca_file = {},
                                          .cert_file = {},
                                          .key_file = {},
                                          .bearer_token = bearer_token});
  if (!connected.ok()) {
    for (std::size_t i = 0; i < job_ids.size(); ++i) {
      results[i] = {.job_id = job_ids[i],
                    .ok = false,
                    .code = "UNAVAILABLE",
                    .reason = "",
                    .message = std::string(connected.status().message()),
                    .latency = {}};
    }
    return results;
  }
  const client::OtaClient& caller = *connected;
  // Every thread is started before any call goes out, so the calls really arrive together.
  absl::Barrier* start = new absl::Barrier(static_cast<int>(job_ids.size()));
  std::vector<std::thread> threads;
  threads.reserve(job_ids.size());
  for (std::size_t i = 0; i < job_ids.size(); ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;  // the last one out frees it
      const absl::Time asked = absl::Now();
      client::CancelResult result = caller.CancelByJob(job_ids[i], "", timeout);
      BurstCallResult& out = results[i];
      out.job_id = job_ids[i];
      out.latency = absl::Now() - asked;
      out.ok = result.ok();
      if (result.ok()) {
        out.code = "OK";
      } else {
        out.code = client::StatusCodeName(result.error->code);
        out.reason = result.error->reason;
        out.message = result.error->message;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return results;
}

std::string BurstResultsJson(const std::vector<BurstCallResult>& results) {
  std::string out;
  for (const BurstCallResult& r : results) {
    out +=
        nlohmann::ordered_json{
            {"job_id", r.job_id},   {"ok", r.ok},
            {"code", r.code},       {"reason", r.reason},
            {"message", r.message}, {"latency_ms", absl::ToDoubleMilliseconds(r.latency)}}
            .dump();
    out += "\n";
  }
  return out;
}

}  // namespace ota
