#include "server/api/pending_calls.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ota {

PendingCalls::PendingCalls(std::int64_t max_pending) : max_pending_(max_pending) {}

std::shared_ptr<PendingCalls::Ticket> PendingCalls::Admit(Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return nullptr;
  if (static_cast<std::int64_t>(open_.size()) >= max_pending_) {
    ++rejected_;
    return nullptr;
  }
  auto ticket = std::make_shared<Ticket>();
  ticket->id = next_id_++;
  ticket->reply = std::move(reply);
  open_.emplace(ticket->id, ticket);
  return ticket;
}

bool PendingCalls::Answer(Ticket& ticket, CallResult result) {
  Reply reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Erased exactly once: whoever erases it owns the reply.
    if (open_.erase(ticket.id) == 0) return false;
    reply = std::move(ticket.reply);
  }
  reply(std::move(result));
  return true;
}

std::int64_t PendingCalls::AnswerAll(const CallResult& result) {
  std::vector<std::shared_ptr<Ticket>> tickets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tickets.reserve(open_.size());
    for (auto& [id, ticket] : open_) tickets.push_back(ticket);
  }
  std::int64_t answered = 0;
  for (const std::shared_ptr<Ticket>& ticket : tickets) {
    if (Answer(*ticket, result)) ++answered;
  }
  return answered;
}

bool PendingCalls::GaveUp(const Ticket& ticket, const std::function<bool()>& caller_gone) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_.contains(ticket.id)) return true;
  return caller_gone && caller_gone();
}

void PendingCalls::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

bool PendingCalls::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

std::int64_t PendingCalls::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<std::int64_t>(open_.size());
}

std::uint64_t PendingCalls::rejected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rejected_;
}

CallOutcome OverloadedOutcome(std::int64_t max_pending) {
  CallOutcome outcome = GatewayError(
      absl::StatusCode::kResourceExhausted, "GATEWAY_OVERLOADED",
      absl::StrCat("ota-gateway already holds ", max_pending,
                   " calls that wait for an answer (--max-pending-calls) and refuses more until "
                   "some finish: retry after RetryInfo.retry_delay, or spread the calls over more "
                   "gateways"));
  outcome.retryable = true;
  outcome.retry_after = absl::Seconds(1);
  return outcome;
}

CallOutcome ShuttingDownOutcome() {
  CallOutcome outcome = GatewayError(
      absl::StatusCode::kUnavailable, "GATEWAY_SHUTTING_DOWN",
      "ota-gateway shut down (its drain timeout ran out) before the call completed; the "
      "cancellation may or may not have been applied: retry on another instance");
  outcome.retryable = true;
  return outcome;
}

CallOutcome NotAcceptingOutcome() {
  CallOutcome outcome = GatewayError(
      absl::StatusCode::kUnavailable, "GATEWAY_SHUTTING_DOWN",
      "ota-gateway is shutting down and takes no new calls; nothing was sent to Alibaba: retry on "
      "another instance");
  outcome.retryable = true;
  return outcome;
}

}  // namespace ota
