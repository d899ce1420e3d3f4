#include "server/http/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "server/base/url_redaction.h"
#include "server/http/attempt_stage.h"
#include "server/http/curl_easy.h"
#include "server/http/departure_window.h"

namespace ota {
namespace {

// Longest single curl_multi_poll wait. Wakeups make it unnecessary in principle; the cap only
// bounds the damage should a wakeup ever be lost.
constexpr int kMaxPollWaitMs = 1000;

// When curl's total timeout fires this close to the caller's deadline, the deadline is what ran
// out (curl's timer and ours round differently).
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(5);

std::int64_t CeilMilliseconds(absl::Duration d) {
  return absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
}

struct PendingSend {
  HttpRequest request;
  absl::Time deadline;
  HttpTransport::Callback done;
  bool held = false;  // already counted as waiting for the departure window
};

struct Timer {
  absl::Time when;
  std::uint64_t sequence;  // RunAt order, so equal times run first-in first-out
  Scheduler::Task task;
};

// Heap order for std::push_heap/pop_heap: the earliest (when, sequence) ends up on top.
bool RunsLater(const Timer& a, const Timer& b) {
  if (a.when != b.when) return a.when > b.when;
  return a.sequence > b.sequence;
}

// One request handed to curl. Heap-allocated and never moved, because curl holds pointers into
// it (body, error buffer, callback user data) until the transfer is removed from the multi handle.
struct Transfer {
  HttpRequest request;
  absl::Time deadline;
  HttpTransport::Callback done;
  CURL* easy = nullptr;
  CurlHeaderList headers;
  CurlReply reply;
  bool deadline_limited = false;  // the caller's deadline, not request_timeout, set the timeout
  std::int64_t timeout_ms = 0;
  DepartureWindow* departures = nullptr;  // the loop's; told when this request leaves
  bool departed = false;
  char error[CURL_ERROR_SIZE] = {};

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
};

// CURLOPT_PREREQFUNCTION: the connection is up (TCP and TLS done, or reused) and the request is
// about to be written. That, not the hand-over to curl, is when it leaves for the upstream.
int OnDeparture(void* user, char* /*primary_ip*/, char* /*local_ip*/, int /*primary_port*/,
                int /*local_port*/) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->departures->Departed(absl::Now(), /*first=*/!transfer->departed);
  transfer->departed = true;
  return CURL_PREREQFUNC_OK;
}

// Whether any byte of the request was written to a connection. CURLINFO_REQUEST_SIZE counts the
// request bytes curl actually sent (headers included), so 0 means DNS, connect or the TLS
// handshake failed, or the transfer never got that far: the request cannot have been processed.
bool RequestWritten(CURL* easy) {
  long request_bytes = 0;
  if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes) != CURLE_OK) return true;
  return request_bytes > 0;
}

}  // namespace

struct CurlTransport::Loop {
  explicit Loop(CurlTransportOptions opts);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void Enqueue(PendingSend send);
  void Enqueue(absl::Time when, Task task);
  // Ends the loop: cancels requests, drops timers, joins the thread. Callbacks run meanwhile may
  // still use this object, which stays whole until ~Loop.
  void Stop();

 private:
  void WakeLocked();  // requires mu_
  void Run();
  // Starts held sends while the departure window allows; fails the ones whose deadline passed.
  void StartHeld();
  void Start(PendingSend send);
  absl::Status Configure(Transfer& transfer);
  void ReapFinished();
  absl::Status MapError(const Transfer& transfer, CURLcode code) const;
  absl::Status DescribeError(const Transfer& transfer, CURLcode code, AttemptStage stage) const;
  void RunDueTimers();
  int NextWaitMs();
  void Shutdown();
  void Complete(HttpTransport::Callback& done, absl::StatusOr<HttpResponse> outcome);
  CURL* AcquireHandle();
  void ReleaseHandle(CURL* easy);

 public:
  const CurlTransportOptions options;
  std::atomic<std::uint64_t> requests_started{0};
  std::atomic<std::uint64_t> requests_completed{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> held_for_departures{0};

 private:
  CURLM* multi_ = nullptr;  // created before the thread starts, cleaned up when it ends

  // std::mutex rather than absl::Mutex: Debian's prebuilt Abseil is not TSan-instrumented, so
  // TSan cannot see absl::Mutex's ordering, while it intercepts pthread mutexes wherever they are.
  std::mutex mu_;
  // Guarded by mu_:
  std::vector<PendingSend> sends_;
  std::vector<Timer> timers_;
  std::uint64_t next_sequence_ = 0;
  bool wake_pending_ = false;  // one wakeup per batch, not per call
  bool stopping_ = false;
  bool finished_ = false;  // the loop is gone; multi_ must not be touched

  // Owned by the loop thread.
  std::vector<Timer> heap_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_handles_;
  std::size_t max_idle_handles_ = 0;
  // The departure window of a pacing key (created at its first request); never moved, so
  // transfers may point at them.
  DepartureWindow& WindowFor(const std::string& pacing_key);
  std::map<std::string, DepartureWindow> departures_;
  std::deque<PendingSend> held_;  // waiting for their departure windows, in arrival order

  std::thread thread_;  // last: starts once everything above exists
};

CurlTransport::Loop::Loop(CurlTransportOptions opts) : options(std::move(opts)) {
  InitCurlOnce();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    std::fprintf(stderr, "curl_multi_init failed\n");
    std::abort();
  }
  const long connections = std::max(1, options.max_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
  // Keep as many idle connections as may be open, so a burst does not close and reopen them.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, connections);
  max_idle_handles_ = static_cast<std::size_t>(std::clamp<long>(connections * 2, 4, 64));
  thread_ = std::thread([this] { Run(); });
}

void CurlTransport::Loop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    WakeLocked();
  }
  thread_.join();
}

CurlTransport::Loop::~Loop() {
  Stop();
  curl_multi_cleanup(multi_);
}

void CurlTransport::Loop::WakeLocked() {
  if (wake_pending_ || finished_) return;
  wake_pending_ = true;
  curl_multi_wakeup(multi_);
}

void CurlTransport::Loop::Enqueue(PendingSend send) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finished_) {
      sends_.push_back(std::move(send));
      WakeLocked();
      return;
    }
  }
  Complete(send.done, WithAttemptStage(absl::CancelledError("HTTP transport is shutting down"),
                                       AttemptStage::kNeverSent));
}

void CurlTransport::Loop::Enqueue(absl::Time when, Task task) {
  Task dropped;  // destroyed after the lock is released: its destructor may call back into us
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) {
    dropped = std::move(task);
    return;
  }
  timers_.push_back(Timer{when, next_sequence_++, std::move(task)});
  WakeLocked();
}

void CurlTransport::Loop::Complete(HttpTransport::Callback& done,
                                   absl::StatusOr<HttpResponse> outcome) {
  // Counted first so a callback that signals a waiting test sees its own completion in stats().
  requests_completed.fetch_add(1, std::memory_order_relaxed);
  done(std::move(outcome));
}

void CurlTransport::Loop::Run() {
  std::vector<PendingSend> new_sends;
  std::vector<Timer> new_timers;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake_pending_ = false;
      if (stopping_) break;
      new_sends.swap(sends_);
      new_timers.swap(timers_);
    }
    for (Timer& timer : new_timers) {
      heap_.push_back(std::move(timer));
      std::push_heap(heap_.begin(), heap_.end(), RunsLater);
    }
    new_timers.clear();
    if (options.departure_limit > 0) {
      for (PendingSend& send : new_sends) held_.push_back(std::move(send));
    } else {
      for (PendingSend& send : new_sends) Start(std::move(send));
    }
    new_sends.clear();
    StartHeld();

    int running = 0;
    curl_multi_perform(multi_, &running);
    ReapFinished();
    StartHeld();  // departures and failures during perform may have opened the window
    RunDueTimers();
    curl_multi_poll(multi_, nullptr, 0, NextWaitMs(), nullptr);
  }
  Shutdown();
}

void CurlTransport::Loop::StartHeld() {
  if (held_.empty()) return;
  const absl::Time now = absl::Now();
  // In arrival order; a send whose window is full waits without holding up other quotas' sends.
  for (auto it = held_.begin(); it != held_.end();) {
    if (WindowFor(it->request.pacing_key).MayStart(now)) {
      PendingSend send = std::move(*it);
      it = held_.erase(it);
      Start(std::move(send));
      continue;
    }
    if (it->deadline > now) {
      if (!it->held) held_for_departures.fetch_add(1, std::memory_order_relaxed);
      it->held = true;
      ++it;
      continue;
    }
    PendingSend expired = std::move(*it);
    it = held_.erase(it);
    // The callback may Send again; that only reaches held_ through the queue, on a later turn.
    Complete(
        expired.done,
        WithAttemptStage(absl::DeadlineExceededError(
                             "deadline passed while waiting for the upstream departure window; "
                             "the request was never sent"),
                         AttemptStage::kNeverSent));
  }
}

void CurlTransport::Loop::Start(PendingSend send) {
  // Alibaba's RPC API is called with POST or GET only.
  if (send.request.method != "POST" && send.request.method != "GET") {
    Complete(send.done,
             WithAttemptStage(absl::InvalidArgumentError(absl::StrCat("unsupported HTTP method '",
                                                                      send.request.method, "'")),
                              AttemptStage::kNeverSent));
    return;
  }
  if (absl::Status valid = CheckCurlRequest(send.request); !valid.ok()) {
    Complete(send.done, WithAttemptStage(std::move(valid), AttemptStage::kNeverSent));
    return;
  }
  const absl::Time now = absl::Now();
  if (send.deadline <= now) {
    Complete(send.done,
             WithAttemptStage(absl::DeadlineExceededError(
                                  "deadline passed before the request was sent; it was never sent"),
                              AttemptStage::kNeverSent));
    return;
  }

  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(send.request);
  transfer->deadline = send.deadline;
  transfer->done = std::move(send.done);
  transfer->reply.max_body = options.max_response_bytes;
  transfer->departures = &WindowFor(transfer->request.pacing_key);
  const absl::Duration remaining = transfer->deadline - now;
  transfer->deadline_limited = remaining <= options.request_timeout;
  const absl::Duration timeout = std::min(remaining, options.request_timeout);
  // 0 would mean "no timeout" to curl; only an infinite deadline and cap may ask for that.
  transfer->timeout_ms = timeout == absl::InfiniteDuration()
                             ? 0
                             : std::max<std::int64_t>(1, CeilMilliseconds(timeout));

  transfer->easy = AcquireHandle();
  if (transfer->easy == nullptr) {
    Complete(transfer->done, WithAttemptStage(absl::InternalError("curl_easy_init failed"),
                                              AttemptStage::kNeverSent));
    return;
  }
  if (absl::Status configured = Configure(*transfer); !configured.ok()) {
    ReleaseHandle(transfer->easy);
    Complete(transfer->done, WithAttemptStage(std::move(configured), AttemptStage::kNeverSent));
    return;
  }
  if (const CURLMcode added = curl_multi_add_handle(multi_, transfer->easy); added != CURLM_OK) {
    ReleaseHandle(transfer->easy);
    Complete(transfer->done,
             WithAttemptStage(absl::InternalError(absl::StrCat("curl_multi_add_handle failed: ",
                                                               curl_multi_strerror(added))),
                              AttemptStage::kNeverSent));
    return;
  }
  requests_started.fetch_add(1, std::memory_order_relaxed);
  transfer->departures->Started();
  CURL* easy = transfer->easy;
  active_.emplace(easy, std::move(transfer));
}

absl::Status CurlTransport::Loop::Configure(Transfer& transfer) {
  CURL* easy = transfer.easy;
  // Headers exactly as the signer produced them: curl's own defaults are switched off.
  absl::StatusOr<CurlHeaderList> headers = BuildCurlHeaders(transfer.request, /*exact=*/true);
  if (!headers.ok()) return headers.status();
  transfer.headers = *std::move(headers);

  CURLcode rc = ConfigureCurlRequest(easy, transfer.request, transfer.headers.get(),
                                     {.connect_timeout = options.connect_timeout,
                                      .total_timeout_ms = transfer.timeout_ms,
                                      .ca_file = options.ca_file},
                                     &transfer.reply);
  // Keeps the first failure; curl_easy_setopt stays a direct call so curl's type checks apply.
  auto check = [&rc](CURLcode result) {
    if (rc == CURLE_OK) rc = result;
  };
  check(curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer));
  check(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error));
  check(curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
  // Probes keep idle pooled connections alive through NATs and load balancers, and find dead ones.
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L));
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L));
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 15L));
  if (transfer.departures->enabled()) {
    check(curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &OnDeparture));
    check(curl_easy_setopt(easy, CURLOPT_PREREQDATA, &transfer));
  }
  if (rc != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("could not configure the HTTP request: ", curl_easy_strerror(rc)));
  }
  return absl::OkStatus();
}

void CurlTransport::Loop::ReapFinished() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    // `message` dies with curl_multi_remove_handle; copy what is needed first.
    CURL* easy = message->easy_handle;
    const CURLcode result = message->data.result;
    auto found = active_.find(easy);
    if (found == active_.end()) continue;  // not ours; cannot happen
    std::unique_ptr<Transfer> transfer = std::move(found->second);
    active_.erase(found);
    curl_multi_remove_handle(multi_, easy);
    if (!transfer->departed) transfer->departures->Abandoned();

    long connects = 0;
    if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
      connections_opened.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
    }
    absl::StatusOr<HttpResponse> outcome;
    if (result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      transfer->reply.response.status = static_cast<int>(status);
      outcome = std::move(transfer->reply.response);
    } else {
      outcome = MapError(*transfer, result);
    }
    ReleaseHandle(easy);
    Complete(transfer->done, std::move(outcome));
  }
}

absl::Status CurlTransport::Loop::MapError(const Transfer& transfer, CURLcode code) const {
  const AttemptStage stage =
      RequestWritten(transfer.easy) ? AttemptStage::kSentWithoutAnswer : AttemptStage::kNeverSent;
  return WithAttemptStage(DescribeError(transfer, code, stage), stage);
}

absl::Status CurlTransport::Loop::DescribeError(const Transfer& transfer, CURLcode code,
                                                AttemptStage stage) const {
  const char* const where = stage == AttemptStage::kNeverSent
                                ? "the request was never sent"
                                : "the request was sent; no complete answer came back";
  const std::string detail = transfer.error[0] != '\0'
                                 ? RedactUrlQuery(transfer.error, transfer.request.url)
                                 : std::string(curl_easy_strerror(code));
  switch (code) {
    case CURLE_WRITE_ERROR:
      if (!transfer.reply.body_too_large) break;
      [[fallthrough]];
    case CURLE_FILESIZE_EXCEEDED:
      return absl::UnavailableError(absl::StrCat("response body larger than ",
                                                 transfer.reply.max_body, " bytes (", where, ")"));
    case CURLE_OPERATION_TIMEDOUT: {
      if (transfer.deadline_limited && absl::Now() + kDeadlineSlack >= transfer.deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("deadline exceeded after ", transfer.timeout_ms,
                         "ms waiting for the upstream (", where, ")"));
      }
      curl_off_t elapsed_us = 0;
      curl_easy_getinfo(transfer.easy, CURLINFO_TOTAL_TIME_T, &elapsed_us);
      return absl::UnavailableError(absl::StrCat("upstream timed out after ", elapsed_us / 1000,
                                                 "ms (", detail, "; ", where, ")"));
    }
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      // A configuration mistake, not a passing failure: retrying cannot help.
      return absl::InternalError(absl::StrCat("upstream URL not usable: ", detail));
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return absl::InternalError(absl::StrCat("HTTP client failure: ", detail));
    default:
      break;
  }
  return absl::UnavailableError(absl::StrCat("upstream request failed (curl error ",
                                             static_cast<int>(code), "): ", detail, " (", where,
                                             ")"));
}

void CurlTransport::Loop::RunDueTimers() {
  // Tasks added while these run land in timers_ and wait for the next turn, so a task that keeps
  // rescheduling itself "now" cannot starve I/O.
  const absl::Time now = absl::Now();
  while (!heap_.empty() && heap_.front().when <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), RunsLater);
    Task task = std::move(heap_.back().task);
    heap_.pop_back();
    task();
  }
}

DepartureWindow& CurlTransport::Loop::WindowFor(const std::string& pacing_key) {
  auto it = departures_.find(pacing_key);
  if (it != departures_.end()) return it->second;
  auto limit = options.departure_limits.find(pacing_key);
  return departures_
      .try_emplace(
          pacing_key,
          limit != options.departure_limits.end() ? limit->second : options.departure_limit,
          options.departure_window)
      .first->second;
}

int CurlTransport::Loop::NextWaitMs() {
  std::int64_t wait = kMaxPollWaitMs;
  long curl_wait = -1;  // -1: curl has no timer pending
  if (curl_multi_timeout(multi_, &curl_wait) == CURLM_OK && curl_wait >= 0) {
    wait = std::min<std::int64_t>(wait, curl_wait);
  }
  absl::Time next = heap_.empty() ? absl::InfiniteFuture() : heap_.front().when;
  if (!held_.empty()) {
    // Held sends wake the loop when the window opens by time or the first deadline passes.
    for (const PendingSend& send : held_) {
      next = std::min({next, send.deadline, WindowFor(send.request.pacing_key).NextOpening()});
    }
  }
  if (next != absl::InfiniteFuture()) {
    const absl::Duration until = next - absl::Now();
    wait = std::min(wait, until <= absl::ZeroDuration() ? 0 : CeilMilliseconds(until));
  }
  return static_cast<int>(wait);
}

void CurlTransport::Loop::Shutdown() {
  std::vector<PendingSend> late_sends;
  std::vector<Timer> late_timers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    late_sends.swap(sends_);
    late_timers.swap(timers_);
  }
  // Detach everything from curl before running any callback, so callbacks see a quiet loop.
  std::vector<std::unique_ptr<Transfer>> in_flight;
  in_flight.reserve(active_.size());
  std::vector<AttemptStage> stages;
  for (auto& [easy, transfer] : active_) {
    curl_multi_remove_handle(multi_, easy);
    stages.push_back(RequestWritten(easy) ? AttemptStage::kSentWithoutAnswer
                                          : AttemptStage::kNeverSent);
    ReleaseHandle(easy);
    in_flight.push_back(std::move(transfer));
  }
  active_.clear();
  for (std::size_t i = 0; i < in_flight.size(); ++i) {
    Complete(in_flight[i]->done,
             WithAttemptStage(absl::CancelledError("HTTP transport shut down before the reply"),
                              stages[i]));
  }
  for (PendingSend& send : held_) late_sends.push_back(std::move(send));
  held_.clear();
  for (PendingSend& send : late_sends) {
    Complete(send.done,
             WithAttemptStage(absl::CancelledError("HTTP transport shut down before sending"),
                              AttemptStage::kNeverSent));
  }
  // Dropped unrun; their destructors may call RunAt/Send, which now complete or drop at once.
  late_timers.clear();
  heap_.clear();
  for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
  idle_handles_.clear();
}

CURL* CurlTransport::Loop::AcquireHandle() {
  if (idle_handles_.empty()) return curl_easy_init();
  CURL* easy = idle_handles_.back();
  idle_handles_.pop_back();
  return easy;
}

void CurlTransport::Loop::ReleaseHandle(CURL* easy) {
  if (idle_handles_.size() >= max_idle_handles_) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);  // forget every option (and pointers into the finished Transfer)
  idle_handles_.push_back(easy);
}

CurlTransport::CurlTransport(CurlTransportOptions options)
    : loop_(std::make_unique<Loop>(std::move(options))) {}

CurlTransport::~CurlTransport() {
  // Stopped here, not in ~Loop, so shutdown callbacks that call Send/RunAt find loop_ intact.
  loop_->Stop();
}

void CurlTransport::Send(HttpRequest request, absl::Time deadline, Callback done) {
  loop_->Enqueue(PendingSend{std::move(request), deadline, std::move(done)});
}

void CurlTransport::RunAt(absl::Time when, Task task) { loop_->Enqueue(when, std::move(task)); }

CurlTransport::Stats CurlTransport::stats() const {
  return Stats{
      .requests_started = loop_->requests_started.load(std::memory_order_relaxed),
      .requests_completed = loop_->requests_completed.load(std::memory_order_relaxed),
      .connections_opened = loop_->connections_opened.load(std::memory_order_relaxed),
      .held_for_departures = loop_->held_for_departures.load(std::memory_order_relaxed),
  };
}

}  // namespace ota
