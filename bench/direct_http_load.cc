#include "bench/direct_http_load.h"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/credentials/credentials.h"
#include "server/signing/rpc_signer.h"

namespace ota {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::size_t Discard(char* /*data*/, std::size_t size, std::size_t count, void* /*sink*/) {
  return size * count;
}

}  // namespace

DirectHttpResult RunDirectHttpLoad(const DirectHttpOptions& options) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const absl::StatusOr<Endpoint> endpoint = ParseEndpoint(options.url);
  DirectHttpResult result;
  if (!endpoint.ok()) return result;
  // Any key: the loopback upstream does not verify, but the work of signing is the point.
  const Credentials credentials{.access_key_id = "LTAI5tBenchmarkKeyId0001",
                                .access_key_secret = "benchmark-secret-0000000000000",
                                .security_token = ""};
  std::atomic<long long> issued{0};
  std::mutex mu;
  std::vector<std::int64_t> latencies;
  long long failures = 0;
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point end = start + absl::ToChronoNanoseconds(options.duration);

  auto worker = [&](int index) {
    CURL* easy = curl_easy_init();
    std::vector<std::int64_t> mine;
    long long my_failures = 0;
    const bool paced = options.paced_calls_per_second > 0;
    const auto period =
        std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
            paced ? options.concurrency / options.paced_calls_per_second : 0));
    SteadyClock::time_point next_start = start + period * index / options.concurrency;
    for (long long n = 0;; ++n) {
      if (paced) {
        std::this_thread::sleep_until(next_start);
        next_start += period;
      }
      if (SteadyClock::now() >= end) break;
      if (options.max_calls > 0 && issued.fetch_add(1) >= options.max_calls) break;
      const SteadyClock::time_point asked = SteadyClock::now();
      RpcCall call{.action = "CancelOTAStrategyByJob",
                   .version = "2018-01-20",
                   .params = {{"JobId", absl::StrCat("bench-direct-", index, "-", n)}}};
      HttpRequest request = SignRpcCall(SignatureVersion::kAcs3HmacSha256, call, *endpoint,
                                        credentials, absl::Now(), NewNonce());
      curl_slist* headers = nullptr;
      for (const auto& [name, value] : request.headers) {
        headers =
            curl_slist_append(headers, value.empty() ? absl::StrCat(name, ";").c_str()
                                                     : absl::StrCat(name, ": ", value).c_str());
      }
      // What CurlTransport suppresses too, so both send the same request.
      headers = curl_slist_append(headers, "Expect:");
      headers = curl_slist_append(headers, "Accept:");
      headers = curl_slist_append(headers, "Content-Type:");
      curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
      if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
      if (options.fresh_connections) {
        curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
      }
      const CURLcode code = curl_easy_perform(easy);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      curl_slist_free_all(headers);
      mine.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - asked).count());
      if (code != CURLE_OK || status != 200) ++my_failures;
    }
    curl_easy_cleanup(easy);
    std::lock_guard<std::mutex> lock(mu);
    latencies.insert(latencies.end(), mine.begin(), mine.end());
    failures += my_failures;
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(options.concurrency));
  for (int i = 0; i < options.concurrency; ++i) threads.emplace_back(worker, i);
  for (std::thread& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  result.calls = static_cast<long long>(latencies.size());
  result.failures = failures;
  result.calls_per_second = static_cast<double>(result.calls) / result.seconds;
  result.latency = Summarize(std::move(latencies));
  return result;
}

}  // namespace ota
