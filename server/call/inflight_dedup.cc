#include "server/call/inflight_dedup.h"

#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

// The parts are joined with a byte no JobId, IotInstanceId or AccessKeyId may contain (the
// validator and Alibaba allow none of them), so two different triples never make the same key.
std::string CallKey(const std::string& account, const CancelByJobParams& params) {
  return absl::StrCat(account, "\x1f", params.job_id, "\x1f", params.iot_instance_id);
}

}  // namespace

struct InflightDedup::State : std::enable_shared_from_this<State> {
  struct Member {
    absl::Time deadline;
    std::function<bool()> is_cancelled;
    Done done;
    bool joiner = false;
    bool answered = false;  // guarded by State::mu
  };

  struct Group {
    std::string key;  // `groups` is keyed by views of it
    CancelByJobParams params;
    absl::Time deadline;  // the shared call's: its leader's
    // Most calls have nobody to share with: room for the leader without an allocation of its own.
    absl::InlinedVector<std::shared_ptr<Member>, 1> members;  // guarded by State::mu
  };

  State(const CancelByJobCaller& inner_caller, Scheduler& task_scheduler, const Clock& wall_clock,
        std::function<std::string()> account, InflightDedupOptions opts)
      : inner(inner_caller),
        scheduler(task_scheduler),
        clock(wall_clock),
        account_key(std::move(account)),
        options(opts) {}

  void Run(CancelByJobParams params, absl::Time deadline, std::function<bool()> is_cancelled,
           Done done) {
    auto member = std::make_shared<Member>();
    member->deadline = deadline;
    member->is_cancelled = std::move(is_cancelled);
    member->done = std::move(done);
    std::string key = CallKey(account_key ? account_key() : std::string(), params);

    std::shared_ptr<Group> group;
    bool needs_timer = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = groups.find(key);
      if (it != groups.end()) {
        group = it->second;
        member->joiner = true;
        group->members.push_back(member);
        ++stats.joined;
        needs_timer = deadline < group->deadline;
      } else {
        group = std::make_shared<Group>();
        group->key = std::move(key);
        group->params = params;
        group->deadline = deadline;
        group->members.push_back(member);
        groups.emplace(group->key, group);
        ++stats.upstream_calls;
      }
    }
    if (member->joiner) {
      if (needs_timer) {
        scheduler.RunAt(
            deadline, [self = shared_from_this(), group, member] { self->Expire(*group, member); });
      }
      return;
    }
    // Outside the lock: the inner caller may answer synchronously (a deadline too short, no
    // credentials), and Complete takes the lock.
    inner.Run(
        std::move(params), deadline,
        [self = shared_from_this(), group] { return self->NobodyWaits(*group); },
        [self = shared_from_this(), group](const CallResult& result) {
          self->Complete(group, result);
        });
  }

  // Whether every caller attached to the group has given up or already been answered.
  bool NobodyWaits(const Group& group) {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::shared_ptr<Member>& member : group.members) {
      if (member->answered) continue;
      if (!member->is_cancelled || !member->is_cancelled()) return false;
    }
    return true;
  }

  // A joiner's own deadline came before the shared call finished.
  void Expire(const Group& group, const std::shared_ptr<Member>& member) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (member->answered) return;
      member->answered = true;
    }
    CallResult result;
    result.shared_with_inflight = true;
    result.outcome = GatewayError(
        absl::StatusCode::kDeadlineExceeded, "SHARED_CALL_TIMEOUT",
        absl::StrCat("the deadline passed while waiting for an identical CancelByJob call (job ",
                     group.params.job_id.substr(0, 128),
                     ") that was already in flight; its outcome is not known yet: calling again "
                     "is safe (a batch already cancelled answers FAILED_PRECONDITION)"));
    Done done = std::move(member->done);
    done(std::move(result));
  }

  void Complete(const std::shared_ptr<Group>& group, const CallResult& result) {
    std::vector<std::shared_ptr<Member>> to_answer;
    std::vector<std::shared_ptr<Member>> to_rerun;
    const absl::Time now = clock.Now();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = groups.find(group->key); it != groups.end() && it->second == group) {
        groups.erase(it);
      }
      for (std::shared_ptr<Member>& member : group->members) {
        if (member->answered) continue;
        member->answered = true;
        const bool deadline_was_not_its_own =
            member->joiner && result.outcome.code == absl::StatusCode::kDeadlineExceeded &&
            member->deadline - now >= options.min_rerun_time &&
            !(member->is_cancelled && member->is_cancelled());
        if (deadline_was_not_its_own) {
          ++stats.reruns;
          to_rerun.push_back(std::move(member));
        } else {
          to_answer.push_back(std::move(member));
        }
      }
      group->members.clear();
    }
    for (const std::shared_ptr<Member>& member : to_answer) {
      CallResult copy = result;
      copy.shared_with_inflight = member->joiner;
      Done done = std::move(member->done);
      done(std::move(copy));
    }
    for (const std::shared_ptr<Member>& member : to_rerun) {
      Run(group->params, member->deadline, std::move(member->is_cancelled),
          std::move(member->done));
    }
  }

  const CancelByJobCaller& inner;
  Scheduler& scheduler;
  const Clock& clock;
  const std::function<std::string()> account_key;
  const InflightDedupOptions options;

  std::mutex mu;
  // Keyed by a view of the group's own key: one copy of it per call in flight.
  absl::flat_hash_map<absl::string_view, std::shared_ptr<Group>> groups;  // guarded by mu
  Stats stats;                                                            // guarded by mu
};

InflightDedup::InflightDedup(const CancelByJobCaller& inner, Scheduler& scheduler,
                             const Clock& clock, std::function<std::string()> account_key,
                             InflightDedupOptions options)
    : state_(std::make_shared<State>(inner, scheduler, clock, std::move(account_key), options)) {}

void InflightDedup::Run(CancelByJobParams params, absl::Time deadline,
                        std::function<bool()> is_cancelled, Done done) const {
  state_->Run(std::move(params), deadline, std::move(is_cancelled), std::move(done));
}

InflightDedup::Stats InflightDedup::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

std::size_t InflightDedup::in_flight() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->groups.size();
}

}  // namespace ota
