#include "server/call/cancel_call.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/call/attempt_result.h"
#include "server/call/outcome_resolution.h"
#include "server/call/upstream_reply.h"
#include "server/call/upstream_throttle.h"
#include "server/observability/gateway_metrics.h"
#include "server/signing/iot_api.h"

namespace ota {
namespace {

std::string Millis(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d), "ms"); }

RpcCall JobCall(const char* action, const CancelByJobParams& params) {
  RpcCall call{.action = action, .version = kIotApiVersion, .params = {}};
  call.params["JobId"] = params.job_id;
  if (!params.iot_instance_id.empty()) call.params["IotInstanceId"] = params.iot_instance_id;
  return call;
}

RpcCall FirmwareJobsCall(const ListJobsByFirmwareParams& params) {
  RpcCall call{.action = kListJobsByFirmwareAction, .version = kIotApiVersion, .params = {}};
  call.params["FirmwareId"] = params.firmware_id;
  call.params["CurrentPage"] = absl::StrCat(params.page);
  call.params["PageSize"] = absl::StrCat(params.page_size);
  if (!params.iot_instance_id.empty()) call.params["IotInstanceId"] = params.iot_instance_id;
  return call;
}

std::string ParamOf(const RpcCall& call, const std::string& name) {
  auto it = call.params.find(name);
  return it == call.params.end() ? std::string() : it->second;
}

}  // namespace

// What differs between the actions a call can carry: the request, and the budget it takes its slots
// from.
struct CancelByJobRunner::Route {
  RpcCall request;             // signed anew for each attempt
  RateLimiter* limiter;        // the action's budget
  FairDispatcher* dispatcher;  // optional: the fair share of that budget between callers
  // CancelOTAStrategyByJob: remembered cancellations apply, and a lost answer or a business
  // refusal is settled with QueryOTAJob. Other actions change nothing and take answers as given.
  bool settles_cancel;
};

// One call's state. Each step schedules exactly one next step, so the steps never run
// concurrently and need no lock; the queues they pass through order their memory.
// Thousands of calls may wait for a slot at once, so it holds only what differs between calls.
struct CancelByJobRunner::Call : std::enable_shared_from_this<Call> {
  Call(std::shared_ptr<const Shared> runner_shared, Route call_route, CallerShare call_caller,
       absl::Time call_deadline, std::function<bool()> cancelled, Done on_done)
      : shared(std::move(runner_shared)),
        deps(shared->deps),
        policy(shared->policy),
        route(std::move(call_route)),
        caller(std::move(call_caller)),
        caller_series(deps.metrics != nullptr ? deps.metrics->SeriesOf(caller.name) : nullptr),
        deadline(call_deadline),
        is_cancelled(std::move(cancelled)),
        done(std::move(on_done)) {}

  // A call dropped unfinished (its timer or transfer discarded at shutdown) still answers.
  ~Call() {
    StopWaitingForSlot();
    if (done) {
      CallOutcome outcome = GatewayError(absl::StatusCode::kUnavailable, "GATEWAY_SHUTTING_DOWN",
                                         "ota-gateway shut down before the call completed; retry");
      outcome.retryable = true;
      done(Result(std::move(outcome)));
    }
  }

  // Between asking the limiter and the slot's start the call counts as a queued waiter.
  void StartWaitingForSlot() {
    waiting_for_slot = true;
    if (deps.metrics != nullptr) deps.metrics->SlotWaitStarted(caller_series);
  }
  void StopWaitingForSlot() {
    if (!waiting_for_slot) return;
    waiting_for_slot = false;
    if (deps.metrics != nullptr) deps.metrics->SlotWaitEnded(caller_series);
  }

  [[nodiscard]] CallResult Result(CallOutcome outcome) const {
    CallResult result;
    result.outcome = std::move(outcome);
    result.attempts = attempts;
    result.limiter_wait = limiter_wait;
    result.queries = queries;
    result.remembered = remembered;
    result.upstream_body = upstream_body;
    return result;
  }

  // Answers from the remembered cancellations when they know the batch, else starts the call.
  void Start() {
    if (deps.remembered == nullptr || !route.settles_cancel) return Reserve(std::nullopt);
    absl::StatusOr<Credentials> credentials = deps.credentials->Get();
    if (!credentials.ok()) return Reserve(std::nullopt);  // which reports the failure
    memory_key = RememberedCancellationKey(policy.budget_key.For(*credentials),
                                           ParamOf(route.request, "IotInstanceId"),
                                           ParamOf(route.request, "JobId"));
    deps.remembered->Lookup(
        memory_key, [self = shared_from_this()](std::optional<RememberedCancellation> found) {
          if (!found.has_value()) return self->Reserve(std::nullopt);
          CallOutcome outcome;
          outcome.cancel_outcome = CancelOutcome::kAlreadyCancelled;
          outcome.domain = kGatewayDomain;
          outcome.request_id = found->request_id;
          self->remembered = true;
          self->Finish(std::move(outcome));
        });
  }

  // A success is remembered before the caller hears it, so a repeat sent to any replica once the
  // answer is in is answered from the memory (a failure to store it only costs that repeat a
  // request to Alibaba).
  void FinishRemembering(CallOutcome outcome) {
    if (deps.remembered == nullptr || !outcome.ok() || memory_key.empty()) {
      return Finish(std::move(outcome));
    }
    const std::string request_id = outcome.request_id;
    deps.remembered->Remember(memory_key, {.request_id = request_id},
                              [self = shared_from_this(), outcome = std::move(outcome)]() mutable {
                                self->Finish(std::move(outcome));
                              });
  }

  // The call ends with `outcome` unless an earlier attempt left without an answer: then the
  // truth is asked of QueryOTAJob first.
  void Conclude(CallOutcome outcome) {
    // CANCELLED: the caller or the transport (shutting down) gave up; nothing is asked any more,
    // and the collaborators a query needs may already be gone.
    if (route.settles_cancel && answer_lost && !outcome.ok() &&
        outcome.code != absl::StatusCode::kCancelled) {
      return Resolve(ResolutionTrigger::kSentWithoutAnswer, std::move(outcome));
    }
    Finish(std::move(outcome));
  }

  void Finish(CallOutcome outcome) {
    Done callback = std::move(done);
    done = nullptr;
    callback(Result(std::move(outcome)));
  }

  // Reserves the next slot. `last` is the previous attempt's outcome (for retries): if no slot can
  // be had in time, that is the answer the caller gets.
  void Reserve(std::optional<CallOutcome> last) {
    const absl::Time now = deps.clock->Now();
    if (deadline - now < policy.min_attempt_time) {
      if (last.has_value()) return Conclude(*std::move(last));
      return Finish(
          GatewayError(absl::StatusCode::kDeadlineExceeded, "DEADLINE_TOO_SHORT",
                       absl::StrCat("the call's deadline leaves ", Millis(deadline - now),
                                    "; at least ", Millis(policy.min_attempt_time),
                                    " are needed to call Alibaba: set a longer deadline")));
    }
    absl::StatusOr<Credentials> credentials = deps.credentials->Get();
    if (!credentials.ok()) {
      return Conclude(GatewayError(absl::StatusCode::kUnavailable, "CREDENTIALS_UNAVAILABLE",
                                   absl::StrCat("ota-gateway has no usable Alibaba credentials: ",
                                                credentials.status().message())));
    }
    budget_key = policy.budget_key.For(*credentials);
    const std::string& key = budget_key;
    if (memory_key.empty() && deps.remembered != nullptr && route.settles_cancel) {
      memory_key = RememberedCancellationKey(key, ParamOf(route.request, "IotInstanceId"),
                                             ParamOf(route.request, "JobId"));
    }
    const absl::Time latest_start =
        std::min(deadline - policy.min_attempt_time, now + policy.max_limiter_wait);
    const absl::Time asked_at = now;
    StartWaitingForSlot();
    if (route.dispatcher != nullptr) {
      route.dispatcher->Reserve(
          key, caller, latest_start,
          [self = shared_from_this(), last = std::move(last), asked_at](
              absl::StatusOr<Reservation> reservation, bool caller_queue_full) mutable {
            self->OnReservation(std::move(reservation), std::move(last), asked_at,
                                caller_queue_full);
          });
      return;
    }
    route.limiter->Reserve(key, latest_start,
                           [self = shared_from_this(), last = std::move(last),
                            asked_at](absl::StatusOr<Reservation> reservation) mutable {
                             self->OnReservation(std::move(reservation), std::move(last), asked_at,
                                                 /*caller_queue_full=*/false);
                           });
  }

  void OnReservation(absl::StatusOr<Reservation> reservation, std::optional<CallOutcome> last,
                     absl::Time asked_at, bool caller_queue_full) {
    if (!reservation.ok() || !reservation->granted) {
      StopWaitingForSlot();
      if (deps.metrics != nullptr) {
        deps.metrics->SlotRefused(!reservation.ok()   ? LimiterRejection::kUnavailable
                                  : caller_queue_full ? LimiterRejection::kCallerQueueFull
                                                      : LimiterRejection::kRateLimited,
                                  caller_series);
      }
    }
    if (!reservation.ok()) {
      return Conclude(GatewayError(absl::StatusCode::kUnavailable, "LIMITER_UNAVAILABLE",
                                   absl::StrCat("the shared rate limiter is unavailable: ",
                                                reservation.status().message())));
    }
    if (!reservation->granted) {
      if (last.has_value()) {
        // A retry that cannot get a slot in time: report what the last attempt said.
        last->retry_after =
            std::max(last->retry_after.value_or(absl::ZeroDuration()), reservation->retry_after);
        return Conclude(*std::move(last));
      }
      if (caller_queue_full) {
        CallOutcome outcome = GatewayError(
            absl::StatusCode::kResourceExhausted, "CALLER_QUEUE_FULL",
            absl::StrCat("caller '", caller.name,
                         "' already has its maximum of calls waiting for the Alibaba account's "
                         "shared quota; retry after RetryInfo.retry_delay (",
                         Millis(reservation->retry_after),
                         ") or send fewer calls at once (operators: max_queued in the callers "
                         "file)"));
        outcome.retryable = true;
        outcome.retry_after = reservation->retry_after;
        return Finish(std::move(outcome));
      }
      CallOutcome outcome = GatewayError(
          absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
          absl::StrCat("the Alibaba account's shared quota for ", route.request.action,
                       " cannot serve this call before its deadline (next free slot for this "
                       "caller in ",
                       Millis(reservation->retry_after),
                       "); retry after RetryInfo.retry_delay or set a longer deadline"));
      outcome.retryable = true;
      outcome.retry_after = reservation->retry_after;
      return Finish(std::move(outcome));
    }
    const absl::Duration wait = std::max(absl::ZeroDuration(), reservation->start - asked_at);
    limiter_wait += wait;
    if (deps.metrics != nullptr) deps.metrics->SlotGranted(wait, caller_series);
    if (reservation->start <= deps.clock->Now()) {
      // A slot free now is used now: a trip through the scheduler would cost a thread hand-off.
      Send();
      return;
    }
    deps.scheduler->RunAt(reservation->start, [self = shared_from_this()] { self->Send(); });
  }

  void Send() {
    StopWaitingForSlot();
    if (is_cancelled && is_cancelled()) {
      return Finish(GatewayError(absl::StatusCode::kCancelled, "CANCELLED",
                                 answer_lost ? "the caller cancelled the call before its retry; an "
                                               "earlier attempt's answer was lost, so the cancel "
                                               "may have been applied"
                                             : "the caller cancelled the call before it was sent "
                                               "to Alibaba"));
    }
    absl::StatusOr<Credentials> credentials = deps.credentials->Get();
    if (!credentials.ok()) {
      return Conclude(GatewayError(absl::StatusCode::kUnavailable, "CREDENTIALS_UNAVAILABLE",
                                   absl::StrCat("ota-gateway has no usable Alibaba credentials: ",
                                                credentials.status().message())));
    }
    HttpRequest request = SignRpcCall(policy.signature_version, route.request, policy.endpoint,
                                      *credentials, deps.clock->Now(), NewNonce());
    request.pacing_key = route.request.action;  // departures are paced per Alibaba quota
    ++attempts;
    if (deps.metrics != nullptr) deps.metrics->AttemptSent(/*is_retry=*/attempts > 1);
    sent_at = deps.clock->Now();
    // The cancel leaves the last settle_time of the deadline to QueryOTAJob, so a lost answer can
    // still be settled in time, unless that would leave the cancel itself too little.
    absl::Time send_deadline = deadline - policy.settle_time;
    if (send_deadline - sent_at < policy.min_attempt_time) send_deadline = deadline;
    deps.transport->Send(std::move(request), send_deadline,
                         [self = shared_from_this()](const absl::StatusOr<HttpResponse>& response) {
                           self->OnResponse(response);
                         });
  }

  void OnResponse(const absl::StatusOr<HttpResponse>& response) {
    AttemptResult result = ClassifyAttempt(response, *deps.errors);
    CallOutcome& outcome = result.outcome;
    if (deps.metrics != nullptr) {
      deps.metrics->AttemptFinished(deps.clock->Now() - sent_at, outcome.alibaba_code);
    }
    if (result.kind == AttemptKind::kSentWithoutAnswer) answer_lost = true;
    if (outcome.ok()) {
      if (route.settles_cancel) {
        outcome.cancel_outcome = CancelOutcome::kCancelled;
      } else if (response.ok()) {
        upstream_body = response->body;
      }
      return FinishRemembering(std::move(outcome));
    }
    if (const std::optional<absl::Duration> pause = ThrottlePause(outcome)) {
      return RetryAfterThrottle(std::move(outcome), *pause);
    }
    if (route.settles_cancel && IsBusinessRefusal(result)) {
      return Resolve(ResolutionTrigger::kRefused, std::move(outcome));
    }
    if (!outcome.retryable || attempts - throttled_attempts >= policy.max_attempts) {
      return Conclude(std::move(outcome));
    }
    absl::Duration delay = shared->backoff.Delay(attempts);
    if (outcome.retry_after.has_value()) delay = std::max(delay, *outcome.retry_after);
    const absl::Time retry_at = deps.clock->Now() + delay;
    // After a lost answer a retry must still leave QueryOTAJob its time to settle the outcome.
    const absl::Duration needed =
        policy.min_attempt_time + (answer_lost ? policy.settle_time : absl::ZeroDuration());
    if (deadline - retry_at < needed) return Conclude(std::move(outcome));
    deps.scheduler->RunAt(retry_at, [self = shared_from_this(), outcome = std::move(outcome)]() {
      self->Reserve(outcome);
    });
  }

  // Alibaba throttled the attempt, so its window is full by its own count: the whole budget rests
  // for the retry hint (every replica's, when shared), and the call asks for a slot after the
  // pause at once. The limiter then places it, in turn, as the first slot its deadline allows, or
  // refuses (the caller then gets the throttle, with RetryInfo). A throttled attempt was not
  // carried out, so it does not count against max_attempts: only the deadline bounds these
  // retries, each of which waits out a pause.
  void RetryAfterThrottle(CallOutcome outcome, absl::Duration pause) {
    ++throttled_attempts;
    if (deps.metrics != nullptr) deps.metrics->UpstreamThrottled();
    const absl::Time now = deps.clock->Now();
    route.limiter->PauseUntil(budget_key, now + pause);
    outcome.retryable = true;
    // Through the scheduler, as every retry: this runs on the transport's thread.
    deps.scheduler->RunAt(now, [self = shared_from_this(), outcome = std::move(outcome)]() {
      self->Reserve(outcome);
    });
  }

  // Settles the outcome with QueryOTAJob (outcome_resolution.h). `cancel` is the last cancel
  // attempt's outcome.
  void Resolve(ResolutionTrigger why, CallOutcome cancel) {
    trigger = why;
    settling = std::move(cancel);
    ReserveQuery();
  }

  void FinishResolved(const std::optional<AttemptResult>& query, absl::string_view why_no_query) {
    FinishRemembering(ResolveCancelOutcome(trigger, *settling, query, why_no_query));
  }

  // QueryOTAJob must answer by query_deadline, so that the caller still hears the outcome before
  // its own deadline.
  [[nodiscard]] absl::Time QueryDeadline() const { return deadline - policy.settle_time / 3; }

  void ReserveQuery() {
    const absl::Time now = deps.clock->Now();
    if (deadline - now < policy.settle_time / 2) {
      return FinishResolved(std::nullopt, "no time left before the call's deadline");
    }
    if (deps.query_limiter == nullptr) {
      return FinishResolved(std::nullopt, "this gateway has no QueryOTAJob budget");
    }
    absl::StatusOr<Credentials> credentials = deps.credentials->Get();
    if (!credentials.ok()) {
      return FinishResolved(std::nullopt, absl::StrCat("no usable Alibaba credentials: ",
                                                       credentials.status().message()));
    }
    const absl::Time latest_start =
        std::min(deadline - policy.settle_time / 2, now + policy.max_limiter_wait);
    deps.query_limiter->Reserve(
        policy.budget_key.For(*credentials), latest_start,
        [self = shared_from_this()](absl::StatusOr<Reservation> reservation) {
          self->OnQueryReservation(std::move(reservation));
        });
  }

  void OnQueryReservation(absl::StatusOr<Reservation> reservation) {
    if (!reservation.ok()) {
      return FinishResolved(std::nullopt, absl::StrCat("the QueryOTAJob budget is unavailable: ",
                                                       reservation.status().message()));
    }
    if (!reservation->granted) {
      return FinishResolved(std::nullopt,
                            absl::StrCat("the account's QueryOTAJob quota has no slot before the "
                                         "deadline (next in ",
                                         Millis(reservation->retry_after), ")"));
    }
    if (reservation->start <= deps.clock->Now()) return SendQuery();
    deps.scheduler->RunAt(reservation->start, [self = shared_from_this()] { self->SendQuery(); });
  }

  void SendQuery() {
    absl::StatusOr<Credentials> credentials = deps.credentials->Get();
    if (!credentials.ok()) {
      return FinishResolved(std::nullopt, absl::StrCat("no usable Alibaba credentials: ",
                                                       credentials.status().message()));
    }
    RpcCall query = route.request;  // the cancel's JobId and IotInstanceId
    query.action = kQueryJobAction;
    HttpRequest request = SignRpcCall(policy.signature_version, query, policy.endpoint,
                                      *credentials, deps.clock->Now(), NewNonce());
    // Paced with the cancels, not apart: a query let past cancels still waiting to leave could
    // reach Alibaba before the cancel it settles (arrival jitter) and read the batch as not yet
    // cancelled.
    request.pacing_key = kCancelAction;
    ++queries;
    deps.transport->Send(std::move(request), QueryDeadline(),
                         [self = shared_from_this()](const absl::StatusOr<HttpResponse>& response) {
                           self->OnQueryResponse(response);
                         });
  }

  void OnQueryResponse(const absl::StatusOr<HttpResponse>& response) {
    AttemptResult result = ClassifyAttempt(response, *deps.errors);
    const bool settled = (result.kind == AttemptKind::kAnswered && !result.outcome.retryable) ||
                         result.outcome.code == absl::StatusCode::kCancelled;
    if (!settled && queries < policy.max_attempts) {
      // A query changes nothing, so asking again is always safe while time is left.
      absl::Duration delay = shared->backoff.Delay(queries);
      if (result.outcome.retry_after.has_value()) {
        delay = std::max(delay, *result.outcome.retry_after);
      }
      const absl::Time retry_at = deps.clock->Now() + delay;
      if (deadline - retry_at >= policy.settle_time / 2) {
        deps.scheduler->RunAt(retry_at, [self = shared_from_this()] { self->ReserveQuery(); });
        return;
      }
    }
    FinishResolved(result, {});
  }

  const std::shared_ptr<const Shared> shared;  // keeps `deps` and `policy` alive
  const CancelByJobDeps& deps;
  const CancelByJobPolicy& policy;
  const Route route;
  const CallerShare caller;
  const GatewayMetrics::CallerSeries* const caller_series;  // null without metrics
  const absl::Time deadline;
  const std::function<bool()> is_cancelled;
  Done done;
  // The outcome is built only when the call finishes: queued calls carry no CallOutcome.
  int attempts = 0;
  int throttled_attempts = 0;  // of `attempts`, those Alibaba throttled
  std::string budget_key;      // of the latest reservation
  absl::Duration limiter_wait = absl::ZeroDuration();
  bool waiting_for_slot = false;
  absl::Time sent_at;        // of the attempt in flight
  bool answer_lost = false;  // some attempt was sent without a complete answer
  bool remembered = false;   // answered from the remembered cancellations
  std::string memory_key;    // the batch's key in the remembered cancellations
  int queries = 0;           // QueryOTAJob requests sent
  ResolutionTrigger trigger = ResolutionTrigger::kRefused;
  std::optional<CallOutcome> settling;  // the cancel outcome QueryOTAJob is asked to settle
  std::string upstream_body;            // of the successful answer, for actions that read it
};

CancelByJobRunner::CancelByJobRunner(CancelByJobDeps deps, CancelByJobPolicy policy)
    : shared_(std::make_shared<const Shared>(Shared{
          .deps = deps,
          .backoff =
              Backoff({.initial = policy.backoff_base, .max = policy.backoff_max, .jitter = 1.0}),
          .policy = std::move(policy)})) {}

void CancelByJobRunner::Run(CancelByJobParams params, absl::Time deadline,
                            std::function<bool()> is_cancelled, Done done) const {
  Route route{.request = JobCall(kCancelAction, params),
              .limiter = shared_->deps.limiter,
              .dispatcher = shared_->deps.dispatcher,
              .settles_cancel = true};
  auto call = std::make_shared<Call>(shared_, std::move(route), std::move(params.caller), deadline,
                                     std::move(is_cancelled), std::move(done));
  call->Start();
}

void CancelByJobRunner::List(ListJobsByFirmwareParams params, absl::Time deadline,
                             std::function<bool()> is_cancelled, Done done) const {
  if (shared_->deps.list_limiter == nullptr) {
    CallResult result;
    result.outcome = GatewayError(absl::StatusCode::kUnavailable, "LIMITER_UNAVAILABLE",
                                  "this gateway has no ListOTAJobByFirmware budget");
    done(std::move(result));
    return;
  }
  Route route{.request = FirmwareJobsCall(params),
              .limiter = shared_->deps.list_limiter,
              .dispatcher = shared_->deps.list_dispatcher,
              .settles_cancel = false};
  auto call = std::make_shared<Call>(shared_, std::move(route), std::move(params.caller), deadline,
                                     std::move(is_cancelled), std::move(done));
  call->Start();
}

}  // namespace ota
