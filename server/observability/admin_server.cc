#include "server/observability/admin_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/base/exclusive_port.h"

namespace ota {
namespace {

constexpr char kPlainText[] = "text/plain; charset=utf-8";

// One event loop (libmicrohttpd's epoll thread) serves every connection: an idle, half-open or
// slowly reading client costs a socket and at most kConnectionMemory, never a thread. Beyond
// kMaxConnections new ones are refused until idle ones time out.
constexpr unsigned kMaxConnections = 256;
constexpr unsigned kIdleTimeoutSeconds = 15;
constexpr std::size_t kConnectionMemory =
    std::size_t{16} * 1024;  // request line, headers and buffers

const char* HealthName(bool serving) { return serving ? "SERVING" : "NOT_SERVING"; }

// The Content-Type of Prometheus text exposition format 0.0.4.
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";

struct Answer {
  unsigned status = MHD_HTTP_OK;
  std::string body;
  const char* content_type = kPlainText;
};

// A listening TCP socket on host:port (port 0: any free one), SO_REUSEADDR but not SO_REUSEPORT
// (base/exclusive_port.h), so a second process cannot take half of this port's probes; -1 when it
// cannot bind.
int Listen(const std::string& host, int port, int& bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    SetExclusiveListenOptions(fd);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      sockaddr_storage local{};
      socklen_t length = sizeof(local);
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
      bound_port = ntohs(local.ss_family == AF_INET6
                             ? reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port
                             : reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
      return fd;
    }
    close(fd);
  }
  return -1;
}

}  // namespace

Readiness DescribeReadiness(const ServingState& serving) {
  const ServingState::Status status = serving.Get();
  return Readiness{
      .ready = status.serving,
      .body = absl::StrCat(serving.service_name(), ": ", HealthName(status.serving), "\n",
                           serving.limiter_name(), ": ", HealthName(status.limiter_healthy), "\n")};
}

// libmicrohttpd's request callback, on its event-loop thread.
struct AdminServer::Handler {
  static MHD_Result Request(void* self, MHD_Connection* connection, const char* url,
                            const char* method, const char* /*version*/,
                            const char* /*upload_data*/, std::size_t* upload_data_size,
                            void** request_state) {
    // Called once when the headers are in, then again per body chunk and at the body's end:
    // answer on the second call, after any body (which no admin endpoint wants) is consumed.
    if (*request_state == nullptr) {
      *request_state = self;
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    const Answer answer = Route(*static_cast<AdminServer*>(self), method, url);
    MHD_Response* response = MHD_create_response_from_buffer(
        answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type);
    const MHD_Result queued = MHD_queue_response(connection, answer.status, response);
    MHD_destroy_response(response);
    return queued;
  }

  static Answer Route(AdminServer& server, std::string_view method, std::string_view path) {
    if (method != MHD_HTTP_METHOD_GET && method != MHD_HTTP_METHOD_HEAD) {
      return {.status = MHD_HTTP_METHOD_NOT_ALLOWED, .body = "GET only\n"};
    }
    if (path == "/metrics")
      return {.body = server.render_metrics_(), .content_type = kPrometheusText};
    if (path == "/healthz") return {.body = "ok\n"};
    if (path == "/readyz") {
      Readiness readiness = DescribeReadiness(server.serving_);
      return {.status =
                  readiness.ready ? unsigned{MHD_HTTP_OK} : unsigned{MHD_HTTP_SERVICE_UNAVAILABLE},
              .body = std::move(readiness.body)};
    }
    return {.status = MHD_HTTP_NOT_FOUND, .body = "not found\n"};
  }
};

AdminServer::AdminServer(std::function<std::string()> render_metrics, const ServingState& serving)
    : render_metrics_(std::move(render_metrics)), serving_(serving) {}

AdminServer::~AdminServer() { Stop(); }

absl::StatusOr<int> AdminServer::Start(const std::string& host_port) {
  if (daemon_ != nullptr) return absl::FailedPreconditionError("the admin server is running");
  const std::size_t colon = host_port.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address '", host_port, "' is not HOST:PORT, e.g. 127.0.0.1:9090"));
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int bound = 0;
  const int fd = Listen(host, port, bound);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat(ExplainListenFailure(host_port, "--admin-listen"), " (admin port)"));
  }
  // The daemon owns `fd` from here (MHD_stop_daemon closes it).
  daemon_ = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, nullptr, nullptr, &Handler::Request,
                             this, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                             kMaxConnections, MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, MHD_OPTION_END);
  if (daemon_ == nullptr) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot start the admin server on ", host_port));
  }
  return bound;
}

void AdminServer::Stop() {
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace ota
