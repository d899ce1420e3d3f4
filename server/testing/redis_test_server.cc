#include "server/testing/redis_test_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace ota::testing {
namespace {

// The kernel picks a free port; it is released at once for redis-server to take.
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*.
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (bind(fd, generic, length) != 0 || getsockname(fd, generic, &length) != 0) {
    close(fd);
    return absl::InternalError("cannot find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

// Runs a command from PATH to completion, its output discarded; OK when it exits 0.
absl::Status RunTool(std::vector<std::string> args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return absl::UnavailableError(absl::StrCat("cannot run ", args[0]));
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(args[0], " ", args[1], " failed"));
  }
  return absl::OkStatus();
}

// A self-signed CA certificate and its key (P-256: quick to generate).
absl::Status MakeCa(const std::string& dir, const std::string& name) {
  return RunTool({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-days", "2", "-subj", absl::StrCat("/CN=", name), "-keyout",
                  absl::StrCat(dir, "/", name, ".key"), "-out",
                  absl::StrCat(dir, "/", name, ".pem")});
}

}  // namespace

absl::Status RedisTestServer::MakeCertificates() const {
  if (absl::Status made = MakeCa(dir_, "ca"); !made.ok()) return made;
  if (absl::Status made = MakeCa(dir_, "other-ca"); !made.ok()) return made;
  if (absl::Status made =
          RunTool({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-nodes", "-subj", "/CN=ota-test-redis", "-keyout", dir_ + "/server.key", "-out",
                   dir_ + "/server.csr"});
      !made.ok()) {
    return made;
  }
  const std::string extensions = dir_ + "/server.ext";
  std::ofstream(extensions) << "subjectAltName=IP:127.0.0.1\n";
  return RunTool({"openssl", "x509", "-req", "-in", dir_ + "/server.csr", "-CA", dir_ + "/ca.pem",
                  "-CAkey", dir_ + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile",
                  extensions, "-out", dir_ + "/server.pem"});
}

absl::StatusOr<std::unique_ptr<RedisTestServer>> RedisTestServer::Start(Security security) {
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  std::string pattern = (std::filesystem::temp_directory_path() / "ota-redis-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<RedisTestServer> server(new RedisTestServer(pattern, *port, security));
  if (security == Security::kTls) {
    if (absl::Status made = server->MakeCertificates(); !made.ok()) return made;
  }
  if (absl::Status launched = server->Launch(); !launched.ok()) return launched;
  return server;
}

RedisTestServer::~RedisTestServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

RedisEndpoint RedisTestServer::endpoint() const {
  RedisEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = port_;
  if (security_ == Security::kTls) {
    endpoint.tls = true;
    endpoint.tls_options.ca_file = ca_file();
  }
  return endpoint;
}

void RedisTestServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status RedisTestServer::Restart() {
  Kill();
  return Launch();
}

absl::Status RedisTestServer::Launch() {
  const std::string port = absl::StrCat(port_);
  const std::string log = absl::StrCat(dir_, "/redis.log");
  std::vector<std::string> args = {
      "redis-server", "--bind", "127.0.0.1", "--save",    "", "--appendonly",
      "no",           "--dir",  dir_,        "--logfile", log};
  if (security_ == Security::kTls) {
    // TLS only: a plain-TCP client cannot reach this Redis by mistake.
    args.insert(args.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file",
                             dir_ + "/server.pem", "--tls-key-file", dir_ + "/server.key",
                             "--tls-ca-cert-file", ca_file(), "--tls-auth-clients", "no"});
  } else {
    args.insert(args.end(), {"--port", port});
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int spawned = posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    pid_ = -1;
    return absl::UnavailableError("cannot start redis-server (is it installed and on PATH?)");
  }
  // A restart on the same port can race the old socket's release: poll until PING answers.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
        RedisConnection::Open(endpoint(), absl::Milliseconds(200));
    if (connection.ok()) {
      absl::StatusOr<RedisReply> pong = (*connection)->Command({"PING"});
      if (pong.ok() && pong->text == "PONG") return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("redis-server did not answer on port ", port_, "; see ", log));
}

}  // namespace ota::testing
