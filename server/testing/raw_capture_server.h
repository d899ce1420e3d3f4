// RawCaptureServer: a one-shot HTTP server on 127.0.0.1 that shows a request exactly as it was on
// the wire (header order, empty values, bodies: httplib normalizes those away) and answers with
// canned bytes, so tests can send interim 1xx replies, folded headers or broken answers.
//
//   ota::testing::RawCaptureServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
//   client.Send({.url = absl::StrCat("http://127.0.0.1:", server.port(), "/")});
//   std::string request = server.Request();  // waits for the exchange to end
#pragma once

#include <string>
#include <thread>

namespace ota::testing {

// Accepts one connection, reads one request (head plus Content-Length body), answers with the
// canned reply and closes.
class RawCaptureServer {
 public:
  explicit RawCaptureServer(std::string reply);
  ~RawCaptureServer();
  RawCaptureServer(const RawCaptureServer&) = delete;
  RawCaptureServer& operator=(const RawCaptureServer&) = delete;

  // 0 when no port could be bound.
  [[nodiscard]] int port() const { return port_; }
  // The captured request bytes, or empty if none arrived within 10 s.
  std::string Request();

 private:
  void Serve();

  std::string reply_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;  // written by the server thread, read after joining it
};

}  // namespace ota::testing
