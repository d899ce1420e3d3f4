#include "server/api/page_token.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PageTokenTest, RoundTripsThePage) {
  const std::string fingerprint = PagingFingerprint("fw-1", "", 200);
  for (int page : {2, 3, 17, kMaxTokenPage}) {
    const std::string token = EncodePageToken(page, fingerprint);
    absl::StatusOr<int> decoded = DecodePageToken(token, fingerprint);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, page);
    // base64url without padding: safe in JSON, URLs and metadata as it is.
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
  }
}

TEST(PageTokenTest, FingerprintTellsEveryFieldApart) {
  const std::string base = PagingFingerprint("fw-1", "", 200);
  EXPECT_NE(base, PagingFingerprint("fw-2", "", 200));
  EXPECT_NE(base, PagingFingerprint("fw-1", "iot-1", 200));
  EXPECT_NE(base, PagingFingerprint("fw-1", "", 50));
  // The separator keeps fields from running into each other.
  EXPECT_NE(PagingFingerprint("ab", "c", 1), PagingFingerprint("a", "bc", 1));
}

TEST(PageTokenTest, ATokenReusedWithOtherFieldsIsRefused) {
  const std::string token = EncodePageToken(2, PagingFingerprint("fw-1", "", 200));
  for (const std::string& other :
       {PagingFingerprint("fw-2", "", 200), PagingFingerprint("fw-1", "iot-1", 200),
        PagingFingerprint("fw-1", "", 100)}) {
    absl::StatusOr<int> decoded = DecodePageToken(token, other);
    EXPECT_THAT(decoded, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("same fields"));
  }
}

TEST(PageTokenTest, TamperedAndForeignTokensAreRefused) {
  const std::string fingerprint = PagingFingerprint("fw-1", "", 200);
  const std::string good = EncodePageToken(2, fingerprint);
  std::string flipped = good;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {std::string("x"), std::string("!!!!"), std::string(1000, 'A'), flipped,
        std::string("\0\xff", 2), absl::WebSafeBase64Escape("1|2"),
        absl::WebSafeBase64Escape(absl::StrCat("2|2|", fingerprint)),
        absl::WebSafeBase64Escape(absl::StrCat("1|1|", fingerprint)),
        absl::WebSafeBase64Escape(absl::StrCat("1|0|", fingerprint)),
        absl::WebSafeBase64Escape(absl::StrCat("1|-5|", fingerprint)),
        absl::WebSafeBase64Escape(absl::StrCat("1|99999999999|", fingerprint)),
        absl::WebSafeBase64Escape(absl::StrCat("1|2|", fingerprint, "|x")),
        absl::WebSafeBase64Escape(absl::StrCat("1|2|", fingerprint.substr(1)))}) {
    EXPECT_THAT(DecodePageToken(bad, fingerprint), Not(IsOk())) << bad;
  }
}

TEST(PageTokenTest, ARecordForAnotherPageWithTheRightFingerprintIsHonoured) {
  // A caller may forge a token for any page: it only reaches what it could list anyway.
  const std::string fingerprint = PagingFingerprint("fw-1", "", 200);
  const std::string forged = absl::WebSafeBase64Escape(absl::StrCat("1|5|", fingerprint));
  EXPECT_EQ(*DecodePageToken(forged, fingerprint), 5);
}

}  // namespace
}  // namespace ota
