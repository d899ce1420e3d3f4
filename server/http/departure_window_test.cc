#include "server/http/departure_window.h"

#include "gtest/gtest.h"

namespace ota {
namespace {

constexpr absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
constexpr absl::Duration kWindow = absl::Milliseconds(1025);

absl::Time At(int ms) { return kT0 + absl::Milliseconds(ms); }

// Starts `n` requests at `ms` that have not left yet (still connecting).
void StartAt(DepartureWindow& window, int n, int ms) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(window.MayStart(At(ms))) << "request " << i << " at " << ms << "ms";
    window.Started();
  }
}

// Starts and departs `n` requests at `ms`.
void LeaveAt(DepartureWindow& window, int n, int ms) {
  for (int i = 0; i < n; ++i) {
    StartAt(window, 1, ms);
    window.Departed(At(ms));
  }
}

TEST(DepartureWindowTest, DisabledAllowsEverythingAndRecordsNothing) {
  DepartureWindow window(0, kWindow);
  EXPECT_FALSE(window.enabled());
  StartAt(window, 1000, 0);
  EXPECT_EQ(window.NextOpening(), absl::InfinitePast());
}

TEST(DepartureWindowTest, AllowsLimitDeparturesThenOpensWhenTheOldestAgesOut) {
  DepartureWindow window(10, kWindow);
  LeaveAt(window, 5, 0);
  LeaveAt(window, 5, 500);
  EXPECT_FALSE(window.MayStart(At(1000)));
  // The first five left at 0ms: a start is allowed once they are a whole window old, not before.
  EXPECT_EQ(window.NextOpening(), At(1025));
  EXPECT_FALSE(window.MayStart(At(1024)));
  EXPECT_TRUE(window.MayStart(At(1025)));
}

// The CI failure this exists for: five cold requests scheduled at 0ms left at 90ms, five warm
// ones at 500ms. The slot for the eleventh request is at 1050ms, which is only 960ms after the
// cold ones left; the window holds it until 90ms + 1025ms.
TEST(DepartureWindowTest, ALateColdDepartureDelaysTheRequestTenPlacesLater) {
  DepartureWindow window(10, kWindow);
  StartAt(window, 5, 0);
  LeaveAt(window, 5, 500);  // still allowed: five started (not left) + five left = 10 at most
  for (int i = 0; i < 5; ++i) window.Departed(At(90));
  EXPECT_FALSE(window.MayStart(At(1050)));
  EXPECT_EQ(window.NextOpening(), At(1115));
  EXPECT_TRUE(window.MayStart(At(1115)));
}

TEST(DepartureWindowTest, RequestsNotYetLeftHoldTheirPlaceUntilTheyLeaveOrAreAbandoned) {
  DepartureWindow window(3, kWindow);
  StartAt(window, 3, 0);
  // Connecting for a long time: time alone cannot open the window.
  EXPECT_FALSE(window.MayStart(At(5000)));
  EXPECT_EQ(window.NextOpening(), absl::InfiniteFuture());
  window.Abandoned();  // a connect failure never reached the upstream
  EXPECT_TRUE(window.MayStart(At(5000)));
  window.Started();
  EXPECT_FALSE(window.MayStart(At(5000)));
  window.Departed(At(5100));
  window.Departed(At(5200));
  window.Departed(At(5300));
  EXPECT_FALSE(window.MayStart(At(5300)));
  EXPECT_EQ(window.NextOpening(), At(5100) + kWindow);
}

TEST(DepartureWindowTest, ARequestSentAgainOnANewConnectionCountsTwice) {
  DepartureWindow window(2, kWindow);
  ASSERT_TRUE(window.MayStart(At(0)));
  window.Started();
  window.Departed(At(0));
  window.Departed(At(10), /*first=*/false);
  EXPECT_FALSE(window.MayStart(At(20)));
  EXPECT_EQ(window.NextOpening(), At(1025));
}

TEST(DepartureWindowTest, NeverMoreThanLimitDeparturesInAnyWindow) {
  // Random-ish lags between start and departure; every start obeys MayStart. Afterwards no
  // window of `kWindow` ending at a departure may hold more than the limit.
  DepartureWindow window(10, kWindow);
  std::vector<absl::Time> departures;
  std::vector<absl::Time> leaving;  // started, departure time already decided
  unsigned seed = 12345;
  for (int ms = 0; ms < 20'000; ms += 7) {
    const absl::Time now = At(ms);
    // Report departures that are due, in time order.
    std::sort(leaving.begin(), leaving.end());
    while (!leaving.empty() && leaving.front() <= now) {
      window.Departed(leaving.front());
      departures.push_back(leaving.front());
      leaving.erase(leaving.begin());
    }
    while (window.MayStart(now)) {
      window.Started();
      seed = seed * 1103515245 + 12345;
      leaving.push_back(now + absl::Milliseconds((seed >> 16) % 200));  // 0-199ms to connect
    }
  }
  ASSERT_GT(departures.size(), 150u);
  std::sort(departures.begin(), departures.end());
  for (std::size_t i = 0; i < departures.size(); ++i) {
    int in_window = 0;
    for (std::size_t j = 0; j <= i; ++j) in_window += departures[j] > departures[i] - kWindow;
    ASSERT_LE(in_window, 10) << "window ending at departure " << i;
  }
}

}  // namespace
}  // namespace ota
