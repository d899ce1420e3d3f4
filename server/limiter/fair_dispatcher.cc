#include "server/limiter/fair_dispatcher.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ota {

namespace {

// While the backend fails, how often calls that were already waiting try again.
constexpr absl::Duration kOutageRetry = absl::Milliseconds(100);

}  // namespace

class FairDispatcher::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(RateLimiter& backend, Scheduler& scheduler, const Clock& clock,
       FairDispatcherOptions options)
      : backend_(backend), scheduler_(scheduler), clock_(clock), options_(options) {}

  void Reserve(const std::string& key, const CallerShare& caller, absl::Time latest_start,
               Callback done);
  void Stop();
  [[nodiscard]] std::size_t Queued(const std::string& key, const std::string& caller);
  [[nodiscard]] const FairDispatcherOptions& options() const { return options_; }

 private:
  struct Waiter {
    double start_tag;
    std::uint64_t seq;
    absl::Time latest_start;
    Callback done;  // empty once answered
  };
  struct Flow {
    int share = 1;
    double last_finish = 0;  // finish tag of the caller's newest call
    std::deque<Waiter> waiters;
  };
  struct Budget {
    absl::flat_hash_map<std::string, Flow> flows;
    double virtual_time = 0;
    std::size_t queued = 0;
    // The backend's last answer was a failure; calls from `failing_from` on arrived since.
    bool failing = false;
    std::uint64_t failing_from = 0;
    // Calls from this sequence number on arrived after the backend's last healthy answer.
    std::uint64_t healthy_before = 0;
    absl::Time next_free = absl::InfinitePast();  // the earliest free slot last learnt
    bool asking = false;                          // a backend Reserve is outstanding
    absl::Time wake_at = absl::InfiniteFuture();  // the pending pump timer, if any
    bool recheck_scheduled = false;
    // Starts of granted slots beyond the look-ahead when they were granted (oldest first).
    std::deque<absl::Time> held;
  };
  // An answer to give once the lock is released.
  struct Answer {
    Callback done;
    absl::StatusOr<Reservation> reservation;
    bool caller_queue_full = false;
  };

  static void Deliver(std::vector<Answer>& answers) {
    for (Answer& answer : answers) {
      std::move(answer.done)(std::move(answer.reservation), answer.caller_queue_full);
    }
  }
  static Answer Refusal(Callback done, absl::Duration retry_after, bool queue_full) {
    Reservation refused;
    refused.granted = false;
    refused.retry_after = std::max(retry_after, absl::ZeroDuration());
    return Answer{std::move(done), refused, queue_full};
  }

  // When the call with `rank` calls ordered before it is expected to start: slots come in bunches
  // of `burst`, one bunch per burst * (window + margin) / limit at the sustained rate.
  [[nodiscard]] absl::Time Estimate(const Budget& budget, absl::Time now, std::size_t rank) const {
    const RateLimitOptions& rate = options_.rate;
    const absl::Duration bunch = rate.burst * (rate.window + rate.margin) / rate.limit;
    const auto bunches = static_cast<std::int64_t>(rank / static_cast<std::size_t>(rate.burst));
    return std::max(now, budget.next_free) + bunch * bunches;
  }
  // Calls queued in `budget` that go before a new call with start tag `tag`.
  static std::size_t RankOf(const Budget& budget, double tag) {
    std::size_t rank = 0;
    for (const auto& [name, flow] : budget.flows) {
      rank += static_cast<std::size_t>(
          std::upper_bound(flow.waiters.begin(), flow.waiters.end(), tag,
                           [](double t, const Waiter& w) { return t < w.start_tag; }) -
          flow.waiters.begin());
    }
    return rank;
  }
  // The flow whose first call is next (smallest start tag, then oldest), or nullptr.
  static Flow* Head(Budget& budget) {
    Flow* best = nullptr;
    for (auto& [name, flow] : budget.flows) {
      if (flow.waiters.empty()) continue;
      const Waiter& w = flow.waiters.front();
      if (best == nullptr || w.start_tag < best->waiters.front().start_tag ||
          (w.start_tag == best->waiters.front().start_tag && w.seq < best->waiters.front().seq)) {
        best = &flow;
      }
    }
    return best;
  }
  // Held slots still beyond the look-ahead (forgetting the others).
  [[nodiscard]] int HeldAhead(Budget& budget, absl::Time now) const {
    while (!budget.held.empty() && budget.held.front() <= now + options_.lookahead) {
      budget.held.pop_front();
    }
    return static_cast<int>(budget.held.size());
  }
  // Forgets callers with nothing queued and no finish tag ahead of the virtual time: they would
  // start at the virtual time anyway.
  static void DropIdleFlows(Budget& budget) {
    absl::erase_if(budget.flows, [&](const auto& entry) {
      return entry.second.waiters.empty() && entry.second.last_finish <= budget.virtual_time;
    });
  }

  void Recheck(Budget& budget, absl::Time now, std::vector<Answer>& answers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleWake(const std::string& key, Budget& budget, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleRecheck(const std::string& key, Budget& budget, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Pump(const std::string& key);
  void OnBackendAnswer(const std::string& key, absl::StatusOr<Reservation> answer);

  RateLimiter& backend_;
  Scheduler& scheduler_;
  const Clock& clock_;
  const FairDispatcherOptions options_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Budget> budgets_ ABSL_GUARDED_BY(mu_);
  std::uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

void FairDispatcher::Core::Reserve(const std::string& key, const CallerShare& caller,
                                   absl::Time latest_start, Callback done) {
  std::vector<Answer> answers;
  bool pump = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      answers.push_back(
          {std::move(done), absl::UnavailableError("the gateway is shutting down"), false});
    } else {
      const absl::Time now = clock_.Now();
      Budget& budget = budgets_[key];
      Flow& flow = budget.flows[caller.name];
      flow.share = std::max(1, caller.share);
      const std::size_t cap = static_cast<std::size_t>(
          std::max(1, caller.max_queued > 0 ? caller.max_queued : options_.default_max_queued));
      if (flow.waiters.size() >= cap) {
        // Retry when the caller's own first waiting call is expected to leave the queue.
        const absl::Time head_start =
            Estimate(budget, now, RankOf(budget, flow.waiters.front().start_tag));
        const absl::Duration bunch = options_.rate.burst *
                                     (options_.rate.window + options_.rate.margin) /
                                     options_.rate.limit;
        answers.push_back(
            Refusal(std::move(done), std::max(head_start - now, bunch), /*queue_full=*/true));
      } else {
        const double tag = std::max(budget.virtual_time, flow.last_finish);
        const std::size_t rank = RankOf(budget, tag);
        const absl::Time expected = Estimate(budget, now, rank);
        if (expected > latest_start) {
          answers.push_back(Refusal(std::move(done), expected - now, /*queue_full=*/false));
          DropIdleFlows(budget);
        } else {
          flow.last_finish = tag + 1.0 / flow.share;
          flow.waiters.push_back({tag, next_seq_++, latest_start, std::move(done)});
          ++budget.queued;
          // Queued calls ordered after this one start later now: estimate them again soon.
          if (rank + 1 < budget.queued) ScheduleRecheck(key, budget, now);
          // While the backend fails, a call that arrives tries it at once (and learns at once).
          pump = !budget.asking && (budget.wake_at == absl::InfiniteFuture() || budget.failing ||
                                    HeldAhead(budget, now) < options_.hold_ahead);
        }
      }
    }
  }
  Deliver(answers);
  if (pump) Pump(key);
}

void FairDispatcher::Core::Recheck(Budget& budget, absl::Time now, std::vector<Answer>& answers) {
  if (budget.queued == 0) return;
  // Walk the calls in dispatch order; each that cannot start before its latest start is refused
  // and takes no place from those after it.
  std::vector<std::pair<Flow*, std::size_t>> cursors;
  cursors.reserve(budget.flows.size());
  for (auto& [name, flow] : budget.flows) {
    if (!flow.waiters.empty()) cursors.emplace_back(&flow, 0);
  }
  std::size_t rank = 0;
  bool refused_any = false;
  while (true) {
    std::pair<Flow*, std::size_t>* next = nullptr;
    for (auto& cursor : cursors) {
      if (cursor.second >= cursor.first->waiters.size()) continue;
      const Waiter& w = cursor.first->waiters[cursor.second];
      if (next == nullptr) {
        next = &cursor;
        continue;
      }
      const Waiter& best = next->first->waiters[next->second];
      if (w.start_tag < best.start_tag || (w.start_tag == best.start_tag && w.seq < best.seq)) {
        next = &cursor;
      }
    }
    if (next == nullptr) break;
    Waiter& w = next->first->waiters[next->second++];
    const absl::Time expected = Estimate(budget, now, rank);
    if (expected > w.latest_start) {
      answers.push_back(Refusal(std::move(w.done), expected - now, /*queue_full=*/false));
      w.done = nullptr;
      refused_any = true;
    } else {
      ++rank;
    }
  }
  if (!refused_any) return;
  for (auto& [name, flow] : budget.flows) {
    flow.waiters.erase(std::remove_if(flow.waiters.begin(), flow.waiters.end(),
                                      [](const Waiter& w) { return w.done == nullptr; }),
                       flow.waiters.end());
  }
  budget.queued = rank;
  DropIdleFlows(budget);
}

void FairDispatcher::Core::ScheduleWake(const std::string& key, Budget& budget, absl::Time at) {
  budget.wake_at = at;
  scheduler_.RunAt(at, [weak = weak_from_this(), key, at] {
    std::shared_ptr<Core> core = weak.lock();
    if (core == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(core->mu_);
      auto it = core->budgets_.find(key);
      // A timer replaced by a newer decision is stale.
      if (it == core->budgets_.end() || it->second.wake_at != at) return;
      it->second.wake_at = absl::InfiniteFuture();
    }
    core->Pump(key);
  });
}

void FairDispatcher::Core::ScheduleRecheck(const std::string& key, Budget& budget, absl::Time now) {
  if (budget.recheck_scheduled) return;
  budget.recheck_scheduled = true;
  scheduler_.RunAt(now + options_.recheck_delay, [weak = weak_from_this(), key] {
    std::shared_ptr<Core> core = weak.lock();
    if (core == nullptr) return;
    std::vector<Answer> answers;
    {
      std::lock_guard<std::mutex> lock(core->mu_);
      auto it = core->budgets_.find(key);
      if (it == core->budgets_.end() || core->stopped_) return;
      it->second.recheck_scheduled = false;
      core->Recheck(it->second, core->clock_.Now(), answers);
    }
    Deliver(answers);
  });
}

void FairDispatcher::Core::Pump(const std::string& key) {
  absl::Time ask_until;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    auto it = budgets_.find(key);
    if (it == budgets_.end() || it->second.queued == 0 || it->second.asking) return;
    Budget& budget = it->second;
    budget.asking = true;
    budget.wake_at = absl::InfiniteFuture();
    const absl::Time now = clock_.Now();
    ask_until = now + options_.lookahead;
    if (HeldAhead(budget, now) < options_.hold_ahead) {
      // Room to hold a slot ahead: any slot the next call in fair order can still use.
      ask_until = std::max(ask_until, Head(budget)->waiters.front().latest_start);
    }
  }
  // Outside the lock: the in-process backend answers before Reserve returns.
  backend_.Reserve(key, ask_until,
                   [core = shared_from_this(), key](absl::StatusOr<Reservation> answer) {
                     core->OnBackendAnswer(key, std::move(answer));
                   });
}

void FairDispatcher::Core::OnBackendAnswer(const std::string& key,
                                           absl::StatusOr<Reservation> answer) {
  std::vector<Answer> answers;
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = budgets_.find(key);
    if (stopped_ || it == budgets_.end()) return;
    Budget& budget = it->second;
    budget.asking = false;
    const absl::Time now = clock_.Now();
    if (!answer.ok()) {
      // The backend cannot place any slot now (Redis unreachable, fail-closed). Calls that arrived
      // after its last healthy answer learn so now (the outage may have begun before they came,
      // when the backend would have refused them at once); calls that were already waiting keep
      // their place, as a slot reserved before the outage would have, unless they cannot wait for
      // another try.
      if (!budget.failing) {
        budget.failing = true;
        budget.failing_from = budget.healthy_before;
      }
      std::size_t kept = 0;
      for (auto& [name, flow] : budget.flows) {
        for (Waiter& w : flow.waiters) {
          if (w.seq >= budget.failing_from ||
              w.latest_start < now + kOutageRetry + options_.lookahead) {
            answers.push_back({std::move(w.done), answer.status(), false});
            w.done = nullptr;
          } else {
            ++kept;
          }
        }
        flow.waiters.erase(std::remove_if(flow.waiters.begin(), flow.waiters.end(),
                                          [](const Waiter& w) { return w.done == nullptr; }),
                           flow.waiters.end());
      }
      budget.queued = kept;
      DropIdleFlows(budget);
      if (kept > 0) ScheduleWake(key, budget, now + kOutageRetry);
    } else if (answer->granted) {
      budget.failing = false;
      budget.healthy_before = next_seq_;
      budget.next_free = std::max(budget.next_free, answer->start);
      if (answer->start > now + options_.lookahead) budget.held.push_back(answer->start);
      // The slot goes to the first call in fair order that can still use it; a call whose latest
      // start is before it can never start in time.
      while (Flow* head = Head(budget)) {
        Waiter w = std::move(head->waiters.front());
        head->waiters.pop_front();
        --budget.queued;
        if (w.latest_start < answer->start) {
          answers.push_back(Refusal(std::move(w.done), answer->start - now, false));
          continue;
        }
        budget.virtual_time = std::max(budget.virtual_time, w.start_tag);
        answers.push_back({std::move(w.done), *answer, false});
        break;
      }
      DropIdleFlows(budget);
      again = budget.queued > 0;
    } else {
      budget.failing = false;
      budget.healthy_before = next_seq_;
      budget.next_free = now + answer->retry_after;
      Recheck(budget, now, answers);
      if (budget.queued > 0 && HeldAhead(budget, now) < options_.hold_ahead) {
        // The refused ask was for the first call's latest start, and that call is refused now:
        // ask again for the next one.
        again = true;
      } else if (budget.queued > 0) {
        absl::Time wake = budget.next_free - options_.lookahead;
        if (!budget.held.empty()) wake = std::min(wake, budget.held.front() - options_.lookahead);
        ScheduleWake(key, budget, std::max(now + absl::Milliseconds(1), wake));
      }
    }
  }
  Deliver(answers);
  if (again) Pump(key);
}

void FairDispatcher::Core::Stop() {
  std::vector<Callback> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& [key, budget] : budgets_) {
      for (auto& [name, flow] : budget.flows) {
        for (Waiter& w : flow.waiters) dropped.push_back(std::move(w.done));
      }
    }
    budgets_.clear();
  }
  // Destroyed outside the lock: a call dropped here answers itself as shut down.
  dropped.clear();
}

std::size_t FairDispatcher::Core::Queued(const std::string& key, const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = budgets_.find(key);
  if (it == budgets_.end()) return 0;
  auto flow = it->second.flows.find(caller);
  return flow == it->second.flows.end() ? 0 : flow->second.waiters.size();
}

FairDispatcher::FairDispatcher(RateLimiter& backend, Scheduler& scheduler, const Clock& clock,
                               FairDispatcherOptions options)
    : core_(std::make_shared<Core>(backend, scheduler, clock, options)) {}

FairDispatcher::~FairDispatcher() { core_->Stop(); }

void FairDispatcher::Reserve(const std::string& key, const CallerShare& caller,
                             absl::Time latest_start, Callback done) {
  core_->Reserve(key, caller, latest_start, std::move(done));
}

std::size_t FairDispatcher::Queued(const std::string& key, const std::string& caller) const {
  return core_->Queued(key, caller);
}

std::string FairDispatcher::Describe() const {
  const FairDispatcherOptions& options = core_->options();
  return absl::StrCat(
      "fair share between callers (weighted fair queueing per budget), slots "
      "asked for ",
      absl::FormatDuration(options.lookahead), " ahead, at most ", options.default_max_queued,
      " waiting calls per caller by default");
}

}  // namespace ota
