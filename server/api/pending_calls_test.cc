#include "server/api/pending_calls.h"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::HasSubstr;

CallResult Ok() { return CallResult{}; }

TEST(PendingCallsTest, RefusesBeyondTheLimitAndCountsIt) {
  PendingCalls pending(2);
  std::vector<CallResult> answers;
  auto a = pending.Admit([&](CallResult r) { answers.push_back(r); });
  auto b = pending.Admit([&](CallResult r) { answers.push_back(r); });
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(pending.Admit([](CallResult) {}), nullptr);
  EXPECT_EQ(pending.Admit([](CallResult) {}), nullptr);
  EXPECT_EQ(pending.pending(), 2);
  EXPECT_EQ(pending.rejected(), 2u);

  // An answered call frees its place.
  EXPECT_TRUE(pending.Answer(*a, Ok()));
  EXPECT_EQ(pending.pending(), 1);
  EXPECT_NE(pending.Admit([](CallResult) {}), nullptr);
  EXPECT_EQ(answers.size(), 1u);
}

TEST(PendingCallsTest, EachCallIsAnsweredExactlyOnce) {
  PendingCalls pending(10);
  int replies = 0;
  auto ticket = pending.Admit([&](CallResult) { ++replies; });
  EXPECT_TRUE(pending.Answer(*ticket, Ok()));
  EXPECT_FALSE(pending.Answer(*ticket, Ok()));
  EXPECT_EQ(pending.AnswerAll(CallResult{.outcome = ShuttingDownOutcome()}), 0);
  EXPECT_EQ(replies, 1);
}

TEST(PendingCallsTest, AnswerAllAnswersOpenCallsAndDropsTheirLateAnswers) {
  PendingCalls pending(10);
  std::vector<absl::StatusCode> codes;
  auto open1 = pending.Admit([&](CallResult r) { codes.push_back(r.outcome.code); });
  auto open2 = pending.Admit([&](CallResult r) { codes.push_back(r.outcome.code); });
  auto done = pending.Admit([&](CallResult r) { codes.push_back(r.outcome.code); });
  pending.Answer(*done, Ok());
  EXPECT_EQ(pending.AnswerAll(CallResult{.outcome = ShuttingDownOutcome()}), 2);
  EXPECT_EQ(pending.pending(), 0);
  EXPECT_FALSE(pending.Answer(*open1, Ok())) << "the late answer of an abandoned call is dropped";
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[0], absl::StatusCode::kOk);
  EXPECT_EQ(codes[1], absl::StatusCode::kUnavailable);
  EXPECT_EQ(codes[2], absl::StatusCode::kUnavailable);
}

TEST(PendingCallsTest, GaveUpAsksTheCallerOnlyWhileTheCallIsOpen) {
  PendingCalls pending(10);
  auto ticket = pending.Admit([](CallResult) {});
  int asked = 0;
  auto caller_gone = [&] {
    ++asked;
    return false;
  };
  EXPECT_FALSE(pending.GaveUp(*ticket, caller_gone));
  EXPECT_EQ(asked, 1);
  pending.AnswerAll(CallResult{.outcome = ShuttingDownOutcome()});
  EXPECT_TRUE(pending.GaveUp(*ticket, caller_gone));
  EXPECT_EQ(asked, 1) << "an answered call's context must not be read";
}

TEST(PendingCallsTest, CloseRefusesNewCallsButLetsOpenOnesFinish) {
  PendingCalls pending(10);
  int replies = 0;
  auto open = pending.Admit([&](CallResult) { ++replies; });
  pending.Close();
  EXPECT_TRUE(pending.closed());
  EXPECT_EQ(pending.Admit([](CallResult) {}), nullptr);
  EXPECT_EQ(pending.rejected(), 0u) << "a refusal at shutdown is not an overload";
  EXPECT_TRUE(pending.Answer(*open, Ok()));
  EXPECT_EQ(replies, 1);
}

// Calls finishing on their own race the shutdown's AnswerAll: every call still gets one answer.
TEST(PendingCallsTest, ConcurrentAnswersAndAnswerAllAnswerEachCallOnce) {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 500;
  PendingCalls pending(kThreads * kCallsPerThread);
  std::atomic<int> replies{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<std::shared_ptr<PendingCalls::Ticket>>> tickets(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      tickets[t].push_back(pending.Admit([&](CallResult) { replies.fetch_add(1); }));
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& ticket : tickets[t]) {
        (void)pending.GaveUp(*ticket, [] { return false; });
        pending.Answer(*ticket, Ok());
      }
    });
  }
  pending.AnswerAll(CallResult{.outcome = ShuttingDownOutcome()});
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(replies.load(), kThreads * kCallsPerThread);
  EXPECT_EQ(pending.pending(), 0);
}

TEST(PendingCallsTest, OutcomesSayWhatHappened) {
  const CallOutcome overloaded = OverloadedOutcome(10000);
  EXPECT_EQ(overloaded.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(overloaded.reason, "GATEWAY_OVERLOADED");
  EXPECT_TRUE(overloaded.retryable);
  EXPECT_TRUE(overloaded.retry_after.has_value());
  EXPECT_THAT(overloaded.message, HasSubstr("10000"));
  EXPECT_THAT(overloaded.message, HasSubstr("--max-pending-calls"));
  const CallOutcome shutting_down = ShuttingDownOutcome();
  EXPECT_EQ(shutting_down.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(shutting_down.reason, "GATEWAY_SHUTTING_DOWN");
  EXPECT_EQ(NotAcceptingOutcome().code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(NotAcceptingOutcome().reason, "GATEWAY_SHUTTING_DOWN");
}

}  // namespace
}  // namespace ota
