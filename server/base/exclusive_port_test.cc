#include "server/base/exclusive_port.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

using ::testing::HasSubstr;

// A socket listening on a free loopback port with the given options; closes on destruction.
class Listener {
 public:
  explicit Listener(bool exclusive, int port = 0) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    if (exclusive) {
      SetExclusiveListenOptions(fd_);
    } else {
      const int yes = 1;
      setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
             listen(fd_, 1) == 0;
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  [[nodiscard]] bool bound() const { return bound_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_;
  bool bound_ = false;
  int port_ = 0;
};

TEST(ExclusivePortTest, ASecondListenerOnTheSamePortIsRefused) {
  const Listener first(/*exclusive=*/true);
  ASSERT_TRUE(first.bound());
  const Listener second(/*exclusive=*/true, first.port());
  EXPECT_FALSE(second.bound());
}

TEST(ExclusivePortTest, EvenAReusePortPeerCannotShareItsPort) {
  // The busy-port case of issue 18: gRPC and httplib set SO_REUSEPORT by default.
  const Listener greedy(/*exclusive=*/false);
  ASSERT_TRUE(greedy.bound());
  const Listener exclusive(/*exclusive=*/true, greedy.port());
  EXPECT_FALSE(exclusive.bound());
}

TEST(ExclusivePortTest, ExplainsABusyPort) {
  const Listener busy(/*exclusive=*/true);
  ASSERT_TRUE(busy.bound());
  const std::string message =
      ExplainListenFailure(absl::StrCat("127.0.0.1:", busy.port()), "--listen");
  EXPECT_THAT(message, HasSubstr(absl::StrCat("cannot listen on 127.0.0.1:", busy.port())));
  EXPECT_THAT(message, HasSubstr("already in use by another process"));
  EXPECT_THAT(message, HasSubstr("--listen HOST:PORT"));
}

TEST(ExclusivePortTest, CheckFindsABusyPortBeforeAnyoneBinds) {
  const Listener busy(/*exclusive=*/true);
  ASSERT_TRUE(busy.bound());
  const absl::Status status =
      CheckListenAddressFree(absl::StrCat("127.0.0.1:", busy.port()), "--listen");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("already in use by another process"));
  // A free port, and addresses the probe cannot judge, are left to whoever binds them.
  EXPECT_TRUE(CheckListenAddressFree("127.0.0.1:0", "--listen").ok());
  EXPECT_TRUE(CheckListenAddressFree("localhost", "--listen").ok());
}

TEST(ExclusivePortTest, ExplainsAnAddressThatIsNotLocal) {
  // 192.0.2.0/24 (TEST-NET-1) is never an address of this machine.
  EXPECT_THAT(ExplainListenFailure("192.0.2.1:50051", "--listen"),
              HasSubstr("not an address of this machine"));
}

TEST(ExclusivePortTest, ExplainsAnAddressWithoutAPort) {
  EXPECT_THAT(ExplainListenFailure("localhost", "--admin-listen"),
              HasSubstr("not HOST:PORT (choose another address with --admin-listen HOST:PORT)"));
}

}  // namespace
}  // namespace ota
