#include "server/limiter/redis/redis_rate_limiter.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/base/backoff.h"

namespace ota {
namespace {

// KEYS[1]: the budget, a list of the last `limit` granted starts (Redis microseconds, oldest
// first). KEYS[2]: the budget's pause, the Redis time before which no slot starts (set by mode
// "pause" after Alibaba throttled a replica, expiring by itself when the pause is over).
// ARGV: limit, window_us, margin_us, burst, mode ("reserve", "peek" or "pause"), max_wait_us (for
// "pause": how long from Redis's now to pause), floor_us. Returns {granted (0/1), start_us, now_us,
// newest_us (0: empty)}.
//
// floor_us is the newest start the caller knows was granted (0: none). A stored list older than
// that means Redis lost its state (restart, failover, flush) while those slots are still being
// spent, or that fallbacks granted them. How they were spread is unknown (several replicas' local
// budgets together do not follow the fleet's burst rule), so the script assumes the worst: all
// `limit` slots at floor_us. The next slot then comes one full window (+margin) later, and no
// window holds both those slots and new ones.
constexpr char kScript[] = R"lua(
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local reserve = ARGV[5] == 'reserve'
local max_wait = tonumber(ARGV[6])
local floor = tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[5] == 'pause' then
  local pause = math.floor(tonumber(ARGV[6]))
  if pause > 0 and now + pause > paused then
    redis.call('SET', KEYS[2], string.format('%.0f', now + pause), 'PX', math.ceil(pause / 1000))
  end
  return {0, math.max(paused, now + pause), now, 0}
end
local burst_span = burst * window / limit

local starts = {}
for i, v in ipairs(redis.call('LRANGE', key, 0, -1)) do starts[i] = tonumber(v) end
local n = #starts
local rewrite = false
if floor > 0 and floor + window + margin > now and (n == 0 or starts[n] < floor) then
  local merged = {}
  for j = 1, limit do merged[j] = floor end
  starts = merged
  n = limit
  rewrite = true
end

local start = math.max(now, paused)
if n > 0 and starts[n] > start then start = starts[n] end
if n >= limit then start = math.max(start, starts[n - limit + 1] + window + margin) end
if n >= burst then start = math.max(start, starts[n - burst + 1] + math.ceil(burst_span)) end

local granted = 0
if reserve and start - now <= max_wait then
  granted = 1
  n = n + 1
  starts[n] = start
end
if rewrite or granted == 1 then
  local first = math.max(1, n - limit + 1)
  local keep = {}
  for i = first, n do keep[#keep + 1] = string.format('%.0f', starts[i]) end
  if rewrite then
    redis.call('DEL', key)
    redis.call('RPUSH', key, unpack(keep))
  else
    redis.call('RPUSH', key, keep[#keep])
    redis.call('LTRIM', key, -limit, -1)
  end
  local ttl = math.ceil((starts[n] + window + margin - now) / 1000)
  redis.call('PEXPIRE', key, math.max(ttl, 1))
end
local newest = 0
if n > 0 then newest = starts[n] end
return {granted, start, now, newest}
)lua";

// Remembered keys are probed while idle; a key unused this long is forgotten once nothing of it is
// pending any more.
constexpr absl::Duration kForgetAfter = absl::Minutes(10);
// Keeps wait arguments within what a Lua double holds exactly.
constexpr std::int64_t kMaxWaitMicros = std::int64_t{1} << 50;

std::int64_t ClampedMicros(absl::Duration d) {
  return std::clamp<std::int64_t>(absl::ToInt64Microseconds(d), -kMaxWaitMicros, kMaxWaitMicros);
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisRateLimiterOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  io_thread_ = std::thread([this] { IoLoop(); });
}

RedisRateLimiter::~RedisRateLimiter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  io_thread_.join();
}

const char* RedisRateLimiter::ScriptSource() { return kScript; }

std::string RedisRateLimiter::RedisKey(const std::string& key) const {
  return absl::StrCat(options_.key_prefix, key, ":", options_.action);
}

std::string RedisRateLimiter::PauseKey(const std::string& key) const {
  return absl::StrCat(RedisKey(key), ":paused");
}

std::string RedisRateLimiter::Describe() const {
  return absl::StrCat("shared through Redis ", options_.endpoint.Describe(), " (key prefix '",
                      options_.key_prefix, "', timeout ", absl::FormatDuration(options_.timeout),
                      "): ", options_.rate.limit, " calls per ",
                      absl::FormatDuration(options_.rate.window), " (+",
                      absl::FormatDuration(options_.rate.margin), " margin), burst ",
                      options_.rate.burst, " for the whole fleet");
}

void RedisRateLimiter::PauseUntil(const std::string& key, absl::Time until) {
  std::lock_guard<std::mutex> lock(mu_);
  // While Redis is down the fallback limiter pauses its local budget; the throttle that asked for
  // this pause is over long before any outage is, so it is not replayed on reconnect.
  if (state_ == State::kDown || stopping_) return;
  known_[key].last_used = clock_.Now();
  // Queued in order with the reservations: every reservation asked after it sees the pause.
  queue_.push_back({.key = key, .latest_start = until, .done = nullptr, .pause = true});
  wake_.notify_one();
}

void RedisRateLimiter::Reserve(const std::string& key, absl::Time latest_start, Callback done) {
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kDown && !stopping_) {
      known_[key].last_used = clock_.Now();
      queue_.push_back(
          {.key = key, .latest_start = latest_start, .done = std::move(done), .pause = false});
      wake_.notify_one();
      return;
    }
    error = stopping_ ? "the Redis limiter is shutting down" : last_error_;
  }
  std::move(done)(absl::UnavailableError(error));
}

std::optional<absl::Time> RedisRateLimiter::NewestKnownStart(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = known_.find(key);
  if (it == known_.end() || it->second.newest_shared == absl::InfinitePast()) return std::nullopt;
  return it->second.newest_shared;
}

void RedisRateLimiter::RecordFallbackGrant(const std::string& key, absl::Time start) {
  std::lock_guard<std::mutex> lock(mu_);
  Knowledge& knowledge = known_[key];
  knowledge.newest_fallback = std::max(knowledge.newest_fallback, start);
  knowledge.last_used = std::max(knowledge.last_used, clock_.Now());
}

void RedisRateLimiter::WatchConnection(ConnectionListener listener) {
  std::lock_guard<std::mutex> listener_lock(listener_mu_);
  listener_ = std::move(listener);
  bool up = false;
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(mu_);
    up = state_ != State::kDown;
    detail = state_ == State::kDown ? last_error_ : "connected";
  }
  if (listener_) listener_(up, detail);
}

void RedisRateLimiter::SetState(State state, const std::string& detail) {
  std::deque<Pending> failed;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = (state_ == State::kDown) != (state == State::kDown);
    state_ = state;
    if (state == State::kDown) {
      last_error_ = absl::StrCat("Redis ", options_.endpoint.Describe(), " unreachable: ", detail);
      failed.swap(queue_);
    }
  }
  for (Pending& pending : failed) {
    std::move(pending.done)(absl::UnavailableError(last_error_));
  }
  if (changed) {
    std::lock_guard<std::mutex> listener_lock(listener_mu_);
    if (listener_) listener_(state != State::kDown, state == State::kDown ? detail : "connected");
  }
}

std::vector<std::string> RedisRateLimiter::ScriptCommand(const std::string& key, Mode mode,
                                                         absl::Time latest_start) {
  const absl::Time now = clock_.Now();
  std::int64_t floor_us = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = known_.find(key);
    if (it != known_.end()) {
      floor_us = it->second.newest_shared_us;
      if (it->second.newest_fallback != absl::InfinitePast()) {
        floor_us = std::max(floor_us, absl::ToUnixMicros(it->second.newest_fallback + offset_));
      }
    }
  }
  const RateLimitOptions& rate = options_.rate;
  // For a pause, `latest_start` is its end: sent as a duration, so clock skew between this host
  // and Redis does not stretch or shorten it.
  const char* mode_name = mode == Mode::kReserve ? "reserve"
                          : mode == Mode::kPause ? "pause"
                                                 : "peek";
  return {"EVALSHA",
          script_sha_,
          "2",
          RedisKey(key),
          PauseKey(key),
          absl::StrCat(rate.limit),
          absl::StrCat(absl::ToInt64Microseconds(rate.window)),
          absl::StrCat(absl::ToInt64Microseconds(rate.margin)),
          absl::StrCat(rate.burst),
          mode_name,
          absl::StrCat(mode == Mode::kPeek ? 0 : ClampedMicros(latest_start - now)),
          absl::StrCat(std::max<std::int64_t>(floor_us, 0))};
}

absl::StatusOr<std::vector<RedisReply>> RedisRateLimiter::Evaluate(
    const std::vector<std::vector<std::string>>& commands) {
  absl::StatusOr<std::vector<RedisReply>> replies = connection_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  // After SCRIPT FLUSH or a restart the script is gone; every EVALSHA in the batch then failed
  // without running, so running them again after loading it reserves nothing twice.
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < replies->size(); ++i) {
    if ((*replies)[i].is_error() && absl::StartsWith((*replies)[i].text, "NOSCRIPT")) {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return replies;
  absl::StatusOr<RedisReply> loaded = connection_->Command({"SCRIPT", "LOAD", kScript});
  if (!loaded.ok()) return loaded.status();
  if (loaded->type != RedisReply::Type::kString) {
    return absl::UnavailableError(absl::StrCat("Redis refused SCRIPT LOAD: ", loaded->text));
  }
  script_sha_ = loaded->text;
  std::vector<std::vector<std::string>> again;
  for (std::size_t i : missing) {
    again.push_back(commands[i]);
    again.back()[1] = script_sha_;
  }
  absl::StatusOr<std::vector<RedisReply>> retried = connection_->Pipeline(again);
  if (!retried.ok()) return retried.status();
  for (std::size_t j = 0; j < missing.size(); ++j) (*replies)[missing[j]] = (*retried)[j];
  return replies;
}

absl::StatusOr<RedisRateLimiter::ScriptAnswer> RedisRateLimiter::Interpret(const RedisReply& reply,
                                                                           const std::string& key,
                                                                           absl::Time received_at) {
  if (reply.is_error()) {
    return absl::InternalError(absl::StrCat("the Redis limiter script failed: ", reply.text));
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 4 ||
      std::any_of(reply.elements.begin(), reply.elements.end(),
                  [](const RedisReply& e) { return e.type != RedisReply::Type::kInteger; })) {
    return absl::InternalError("the Redis limiter script answered in an unexpected shape");
  }
  const long long granted = reply.elements[0].integer;
  const long long start_us = reply.elements[1].integer;
  const long long now_us = reply.elements[2].integer;
  const long long newest_us = reply.elements[3].integer;
  // Times come back on Redis's clock; they are carried over as offsets from Redis's `now`, measured
  // against our clock when the reply arrived, so skew between hosts cancels out.
  ScriptAnswer answer;
  answer.reservation.granted = granted == 1;
  const absl::Duration wait = absl::Microseconds(start_us - now_us);
  if (answer.reservation.granted) {
    answer.reservation.start = received_at + wait;
  } else {
    answer.reservation.retry_after = std::max(wait, absl::ZeroDuration());
  }
  answer.newest =
      newest_us == 0 ? absl::InfinitePast() : received_at + absl::Microseconds(newest_us - now_us);
  std::lock_guard<std::mutex> lock(mu_);
  offset_ = absl::FromUnixMicros(now_us) - received_at;
  Knowledge& knowledge = known_[key];
  knowledge.newest_shared = std::max(knowledge.newest_shared, answer.newest);
  knowledge.newest_shared_us = std::max<std::int64_t>(knowledge.newest_shared_us, newest_us);
  return answer;
}

absl::Status RedisRateLimiter::Probe(const std::vector<std::string>& keys) {
  if (keys.empty()) {
    absl::StatusOr<RedisReply> pong = connection_->Command({"PING"});
    return pong.ok() ? absl::OkStatus() : pong.status();
  }
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size());
  for (const std::string& key : keys) {
    commands.push_back(ScriptCommand(key, Mode::kPeek, absl::InfinitePast()));
  }
  absl::StatusOr<std::vector<RedisReply>> replies = Evaluate(commands);
  if (!replies.ok()) return replies.status();
  const absl::Time received_at = clock_.Now();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // A script error on a probe is not an outage; the next reservation reports it.
    (void)Interpret((*replies)[i], keys[i], received_at);
  }
  return absl::OkStatus();
}

absl::Status RedisRateLimiter::RunBatch(std::vector<Pending>& batch) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  for (const Pending& pending : batch) {
    commands.push_back(ScriptCommand(pending.key, pending.pause ? Mode::kPause : Mode::kReserve,
                                     pending.latest_start));
  }
  absl::StatusOr<std::vector<RedisReply>> replies = Evaluate(commands);
  if (!replies.ok()) {
    // A reservation may have been recorded without its answer reaching us: that slot goes unused,
    // which errs on the safe side.
    for (Pending& pending : batch) {
      if (pending.pause) continue;
      std::move(pending.done)(absl::UnavailableError(
          absl::StrCat("Redis ", options_.endpoint.Describe(), ": ", replies.status().message())));
    }
    return replies.status();
  }
  const absl::Time received_at = clock_.Now();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // A pause answers nobody; a failed one leaves the budget to the window rules.
    if (batch[i].pause) continue;
    absl::StatusOr<ScriptAnswer> answer = Interpret((*replies)[i], batch[i].key, received_at);
    if (!answer.ok()) {
      std::move(batch[i].done)(answer.status());
    } else {
      std::move(batch[i].done)(answer->reservation);
    }
  }
  return absl::OkStatus();
}

absl::Status RedisRateLimiter::Connect() {
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(options_.endpoint, options_.timeout);
  if (!connection.ok()) return connection.status();
  connection_ = *std::move(connection);
  absl::StatusOr<RedisReply> loaded = connection_->Command({"SCRIPT", "LOAD", kScript});
  if (!loaded.ok()) return loaded.status();
  if (loaded->type != RedisReply::Type::kString) {
    return absl::UnavailableError(absl::StrCat("Redis refused SCRIPT LOAD: ", loaded->text));
  }
  script_sha_ = loaded->text;
  // Floors are kept on our clock and sent on Redis's: re-measure the offset first, since the Redis
  // we reached may be another host (failover) with another clock.
  absl::StatusOr<RedisReply> time = connection_->Command({"TIME"});
  if (!time.ok()) return time.status();
  std::int64_t seconds = 0;
  std::int64_t micros = 0;
  if (time->type != RedisReply::Type::kArray || time->elements.size() != 2 ||
      !absl::SimpleAtoi(time->elements[0].text, &seconds) ||
      !absl::SimpleAtoi(time->elements[1].text, &micros)) {
    return absl::UnavailableError("Redis answered TIME in an unexpected shape");
  }
  // A different server (restart, failover) may run another clock: what we know is carried over
  // through our own clock. The same server keeps its clock, and the exact values avoid mistaking
  // a latency change for lost state.
  absl::StatusOr<RedisReply> info = connection_->Command({"INFO", "server"});
  if (!info.ok()) return info.status();
  std::string run_id;
  if (const std::size_t at = info->text.find("run_id:"); at != std::string::npos) {
    run_id = info->text.substr(at + 7, info->text.find_first_of("\r\n", at) - at - 7);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    offset_ = absl::FromUnixMicros(seconds * 1000000 + micros) - clock_.Now();
    if (run_id.empty() || run_id != redis_run_id_) {
      for (auto& [key, knowledge] : known_) {
        if (knowledge.newest_shared != absl::InfinitePast()) {
          knowledge.newest_shared_us = absl::ToUnixMicros(knowledge.newest_shared + offset_);
        }
      }
    }
  }
  redis_run_id_ = run_id;
  {
    // After an outage the fallbacks of other replicas may go on granting until they notice Redis
    // is back: at most a reconnect delay, a connect and a heartbeat from now. Their grants reach
    // Redis only when they reconnect, too late for the slots this replica places meanwhile, so
    // they are counted as made then: the fleet's next shared slot comes a window (+margin) after.
    // That costs a few seconds of quota after an outage with fallbacks, never a throttle.
    // Only budgets this replica itself served from its fallback (fail-local) need it.
    const absl::Time others_back =
        clock_.Now() + options_.reconnect_max + options_.timeout + options_.heartbeat;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, knowledge] : known_) {
      if (knowledge.newest_fallback != absl::InfinitePast()) {
        knowledge.newest_fallback = std::max(knowledge.newest_fallback, others_back);
      }
    }
  }
  // Before serving anything, tell Redis what this replica knows is still pending: after a restart
  // its budgets are empty and must not grant a fresh burst on top of those slots.
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, knowledge] : known_) keys.push_back(key);
  }
  return Probe(keys);
}

void RedisRateLimiter::IoLoop() {
  // Half jitter, so replicas that lost Redis together do not all come back in the same instant.
  const Backoff backoff(
      {.initial = options_.reconnect_min, .max = options_.reconnect_max, .jitter = 0.5});
  int failures = 0;
  while (true) {
    if (connection_ == nullptr) {
      const absl::Status connected = Connect();
      if (!connected.ok()) {
        connection_.reset();
        SetState(State::kDown, std::string(connected.message()));
        const absl::Time retry_at = absl::Now() + backoff.Delay(++failures);
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait_until(lock, absl::ToChronoTime(retry_at), [this] { return stopping_; });
        if (stopping_) break;
        continue;
      }
      failures = 0;
      SetState(State::kUp, "");
    }

    std::vector<Pending> batch;
    std::vector<std::string> probe_keys;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const absl::Time probe_at = absl::Now() + options_.heartbeat;
      wake_.wait_until(lock, absl::ToChronoTime(probe_at),
                       [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (batch.empty()) {
        const absl::Time now = clock_.Now();
        const absl::Duration span = options_.rate.window + options_.rate.margin;
        absl::erase_if(known_, [&](const auto& entry) {
          const Knowledge& k = entry.second;
          return k.last_used + kForgetAfter < now &&
                 std::max(k.newest_shared, k.newest_fallback) + span < now;
        });
        for (const auto& [key, knowledge] : known_) probe_keys.push_back(key);
      }
    }
    const absl::Status status = batch.empty() ? Probe(probe_keys) : RunBatch(batch);
    if (!status.ok()) {
      connection_.reset();
      SetState(State::kDown, std::string(status.message()));
    }
  }
  connection_.reset();
  std::deque<Pending> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (Pending& pending : left) {
    if (pending.pause) continue;
    std::move(pending.done)(absl::UnavailableError("the Redis limiter is shutting down"));
  }
}

}  // namespace ota
