#include "bench/loopback_upstream.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace ota {
namespace {

using ::ota::testing::ChildProcess;
using ::ota::testing::FreeLoopbackPort;

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoopbackUpstream>> LoopbackUpstream::Start(
    const std::string& nginx, const std::string& work_dir) {
  const std::string cert = work_dir + "/upstream-cert.pem";
  const std::string key = work_dir + "/upstream-key.pem";
  // RSA-2048, like the certificates public API endpoints present, so handshakes cost what they
  // would in production.
  const std::string openssl =
      absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 ",
                   "-addext subjectAltName=IP:127.0.0.1 -keyout ", key, " -out ", cert, " >",
                   work_dir, "/openssl.log 2>&1");
  // Start-up of the benchmark, before its load threads exist.
  if (std::system(openssl.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe)
    return absl::InternalError(
        absl::StrCat("openssl could not make a test certificate; see ", work_dir, "/openssl.log"));
  }
  const int http_port = FreeLoopbackPort();
  const int https_port = FreeLoopbackPort();
  const std::string https_log = work_dir + "/nginx-https-access.log";
  const std::string conf = work_dir + "/nginx.conf";
  {
    std::ofstream out(conf);
    // One process (master_process off): the machine under test has 2 cores and the upstream must
    // stay cheap; the fixed `return` costs nginx a few microseconds per request.
    out << absl::StrFormat(R"(daemon off;
master_process off;
pid %1$s/nginx.pid;
error_log %1$s/nginx-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path %1$s/nginx-tmp;
  proxy_temp_path %1$s/nginx-tmp;
  fastcgi_temp_path %1$s/nginx-tmp;
  uwsgi_temp_path %1$s/nginx-tmp;
  scgi_temp_path %1$s/nginx-tmp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/json;
  log_format connections '$connection $connection_requests $ssl_session_reused';
  server {
    listen 127.0.0.1:%2$d;
    location / { return 200 '%4$s'; }
  }
  server {
    listen 127.0.0.1:%3$d ssl;
    ssl_certificate %5$s;
    ssl_certificate_key %6$s;
    access_log %7$s connections;
    location / { return 200 '%4$s'; }
  }
}
)",
                           work_dir, http_port, https_port, kBody, cert, key, https_log);
  }
  absl::StatusOr<ChildProcess> process =
      ChildProcess::Start({nginx, "-p", work_dir, "-c", conf}, work_dir + "/nginx.out");
  if (!process.ok()) return process.status();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!(Accepts(http_port) && Accepts(https_port))) {
    if (absl::Now() > give_up || !process->running()) {
      return absl::UnavailableError(
          absl::StrCat("nginx did not start; see ", work_dir, "/nginx-error.log"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return std::unique_ptr<LoopbackUpstream>(
      new LoopbackUpstream(*std::move(process), http_port, https_port, cert, https_log));
}

std::string LoopbackUpstream::http_url() const {
  return absl::StrCat("http://127.0.0.1:", http_port_, "/");
}

std::string LoopbackUpstream::https_url() const {
  return absl::StrCat("https://127.0.0.1:", https_port_, "/");
}

long long LoopbackUpstream::HttpsLogMark() const {
  std::ifstream in(https_log_, std::ios::ate);
  return in ? static_cast<long long>(in.tellg()) : 0;
}

UpstreamConnections LoopbackUpstream::HttpsConnectionsSince(long long mark) const {
  UpstreamConnections seen;
  std::ifstream in(https_log_);
  in.seekg(mark);
  std::set<long long> connections;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    long long connection = 0;
    long long request_number = 0;
    std::string reused;
    if (!(fields >> connection >> request_number >> reused)) continue;
    ++seen.requests;
    // The first request of a connection says how its handshake went.
    if (connections.insert(connection).second && reused == "r") ++seen.resumed_sessions;
  }
  seen.connections = static_cast<long long>(connections.size());
  return seen;
}

}  // namespace ota
