#include "server/security/caller_authorizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

class CallerAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/callers-XXXXXX";
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  static PresentedCredentials CommonName(std::string cn) {
    PresentedCredentials presented;
    presented.certificate = PeerCertificate{.uri_sans = {}, .dns_sans = {}, .common_name = cn};
    return presented;
  }

  std::string path_;
};

TEST_F(CallerAuthorizerTest, ReloadReplacesTheList) {
  Write(R"({"callers":[{"name":"a","identities":[{"mtls_cn":"a"}]}]})");
  absl::StatusOr<std::unique_ptr<CallerAuthorizer>> authorizer = CallerAuthorizer::FromFile(path_);
  ASSERT_THAT(authorizer, IsOk());
  EXPECT_THAT((*authorizer)->Authorize(CommonName("a"), ""), IsOk());
  EXPECT_THAT((*authorizer)->Authorize(CommonName("b"), ""), Not(IsOk()));

  Write(R"({"callers":[{"name":"b","identities":[{"mtls_cn":"b"}]},
                       {"name":"c","identities":[{"mtls_cn":"c"}]}]})");
  ASSERT_THAT((*authorizer)->Reload(), IsOk());
  EXPECT_EQ((*authorizer)->caller_count(), 2u);
  EXPECT_THAT((*authorizer)->Authorize(CommonName("a"), ""), Not(IsOk()));
  EXPECT_THAT((*authorizer)->Authorize(CommonName("b"), ""), IsOk());
}

TEST_F(CallerAuthorizerTest, InvalidFileKeepsThePreviousList) {
  Write(R"({"callers":[{"name":"a","identities":[{"mtls_cn":"a"}]}]})");
  absl::StatusOr<std::unique_ptr<CallerAuthorizer>> authorizer = CallerAuthorizer::FromFile(path_);
  ASSERT_THAT(authorizer, IsOk());
  Write(R"({"callers":[{"name":"a"}]})");
  absl::Status reload = (*authorizer)->Reload();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reload.message(), HasSubstr(path_));
  EXPECT_THAT((*authorizer)->Authorize(CommonName("a"), ""), IsOk());
  std::remove(path_.c_str());
  EXPECT_EQ((*authorizer)->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT((*authorizer)->Authorize(CommonName("a"), ""), IsOk());
}

TEST_F(CallerAuthorizerTest, StartFailsOnAnInvalidFile) {
  Write("{");
  EXPECT_THAT(CallerAuthorizer::FromFile(path_), Not(IsOk()));
  EXPECT_THAT(CallerAuthorizer::FromFile("/nonexistent/callers.json"), Not(IsOk()));
}

TEST_F(CallerAuthorizerTest, CallsDuringAReloadSeeTheOldOrTheNewListWhole) {
  Write(R"({"callers":[{"name":"a","identities":[{"mtls_cn":"a"}]}]})");
  absl::StatusOr<std::unique_ptr<CallerAuthorizer>> authorizer = CallerAuthorizer::FromFile(path_);
  ASSERT_THAT(authorizer, IsOk());
  Write(R"({"callers":[{"name":"a","identities":[{"mtls_cn":"a"}]},
                       {"name":"b","identities":[{"mtls_cn":"b"}]}]})");
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        // "a" is in both lists, so it is allowed throughout.
        EXPECT_THAT((*authorizer)->Authorize(CommonName("a"), ""), IsOk());
      }
    });
  }
  for (int i = 0; i < 50; ++i) ASSERT_THAT((*authorizer)->Reload(), IsOk());
  stop.store(true);
  for (std::thread& thread : callers) thread.join();
  EXPECT_THAT((*authorizer)->Authorize(CommonName("b"), ""), IsOk());
}

TEST_F(CallerAuthorizerTest, AllowAllLetsEveryoneThrough) {
  std::unique_ptr<CallerAuthorizer> authorizer = CallerAuthorizer::AllowAll();
  EXPECT_FALSE(authorizer->checks_callers());
  AuthDecision d = authorizer->Authorize(PresentedCredentials{}, "any");
  EXPECT_THAT(d, IsOk());
  EXPECT_EQ(d.identity, "anonymous");
  EXPECT_THAT(authorizer->Reload(), IsOk());
}

}  // namespace
}  // namespace ota
