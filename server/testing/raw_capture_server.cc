#include "server/testing/raw_capture_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"

namespace ota::testing {

RawCaptureServer::RawCaptureServer(std::string reply) : reply_(std::move(reply)) {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener_, 1) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return;
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

RawCaptureServer::~RawCaptureServer() {
  if (thread_.joinable()) thread_.join();
  close(listener_);
}

std::string RawCaptureServer::Request() {
  if (thread_.joinable()) thread_.join();
  return request_;
}

void RawCaptureServer::Serve() {
  pollfd waiting{listener_, POLLIN, 0};
  if (poll(&waiting, 1, 10000) != 1) return;
  const int connection = accept(listener_, nullptr, nullptr);
  if (connection < 0) return;
  std::string received;
  std::size_t wanted = std::string::npos;  // total bytes, known once the head is in
  char buffer[4096];
  while (received.size() < wanted) {
    pollfd readable{connection, POLLIN, 0};
    if (poll(&readable, 1, 10000) != 1) break;
    const ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
    const std::size_t head_end = received.find("\r\n\r\n");
    if (wanted == std::string::npos && head_end != std::string::npos) {
      const std::string head = absl::AsciiStrToLower(received.substr(0, head_end));
      const std::size_t at = head.find("\r\ncontent-length:");
      const std::size_t body = at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
      wanted = head_end + 4 + body;
    }
  }
  request_ = received;
  send(connection, reply_.data(), reply_.size(), MSG_NOSIGNAL);
  close(connection);
}

}  // namespace ota::testing
