#include "server/observability/admin_server.h"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/base/exclusive_port.h"
#include "server/observability/prometheus_text.h"

namespace ota {
namespace {

// Scrapes and probes come one or two at a time; two workers keep a slow scrape from delaying a
// probe without spending threads on an idle port.
constexpr std::size_t kAdminThreads = 2;

constexpr char kPlainText[] = "text/plain; charset=utf-8";

const char* HealthName(bool serving) { return serving ? "SERVING" : "NOT_SERVING"; }

}  // namespace

Readiness DescribeReadiness(const ServingState& serving) {
  const ServingState::Status status = serving.Get();
  return Readiness{
      .ready = status.serving,
      .body = absl::StrCat(serving.service_name(), ": ", HealthName(status.serving), "\n",
                           serving.limiter_name(), ": ", HealthName(status.limiter_healthy), "\n")};
}

AdminServer::AdminServer(std::function<std::string()> render_metrics, const ServingState& serving)
    : render_metrics_(std::move(render_metrics)), serving_(serving) {}

AdminServer::~AdminServer() { Stop(); }

absl::StatusOr<int> AdminServer::Start(const std::string& host_port) {
  if (server_ != nullptr) return absl::FailedPreconditionError("the admin server is running");
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

  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kAdminThreads); };
  // httplib's default sets SO_REUSEPORT, which lets a second process bind the same port and take
  // half the scrapes and probes meant for this one.
  server->set_socket_options(SetExclusiveListenOptions);
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(render_metrics_(), kPrometheusTextContentType);
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", kPlainText);
  });
  server->Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    const Readiness readiness = DescribeReadiness(serving_);
    response.status = readiness.ready ? 200 : 503;
    response.set_content(readiness.body, kPlainText);
  });

  const int bound =
      port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat(ExplainListenFailure(host_port, "--admin-listen"), " (admin port)"));
  }
  server_ = std::move(server);
  thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so Stop() always stops.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void AdminServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace ota
