#include "server/limiter/redis/redis_connection.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ota {
namespace {

constexpr absl::string_view kScheme = "redis://";
constexpr absl::string_view kTlsScheme = "rediss://";
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;  // one TLS record's worth

// The RESP bytes of `commands`, one after another: what a pipeline writes, over TLS or not.
absl::StatusOr<std::string> EncodeCommands(const std::vector<std::vector<std::string>>& commands) {
  std::string wire;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::vector<std::string>& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    char* encoded = nullptr;
    const int length = redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), argv.data(),
                                              lengths.data());
    if (length < 0) return absl::ResourceExhaustedError("cannot encode a Redis command");
    wire.append(encoded, static_cast<std::size_t>(length));
    redisFreeCommand(encoded);
  }
  return wire;
}

// Passwords may hold '@', ':' or '/', which a URL carries percent-encoded.
absl::StatusOr<std::string> PercentDecode(absl::string_view text, absl::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size() || !absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      return absl::InvalidArgumentError(absl::StrCat("--redis-url: bad %-escape in the ", what));
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

RedisReply Convert(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        out.elements.push_back(Convert(*reply.element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  return absl::StrCat(tls ? kTlsScheme : kScheme, host, ":", port, "/", db,
                      password.empty() ? "" : " (password set)");
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  RedisEndpoint endpoint;
  absl::string_view rest;
  if (absl::StartsWith(url, kTlsScheme)) {
    endpoint.tls = true;
    rest = url.substr(kTlsScheme.size());
  } else if (absl::StartsWith(url, kScheme)) {
    rest = url.substr(kScheme.size());
  } else {
    return absl::InvalidArgumentError(
        "--redis-url: must look like redis[s]://[:PASSWORD@]HOST:PORT/DB, e.g. "
        "redis://127.0.0.1:6379/0 (rediss:// for TLS)");
  }
  if (const std::size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    const absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "--redis-url: credentials must be written USER:PASSWORD@ or :PASSWORD@");
    }
    absl::StatusOr<std::string> user = PercentDecode(userinfo.substr(0, colon), "user");
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> password = PercentDecode(userinfo.substr(colon + 1), "password");
    if (!password.ok()) return password.status();
    endpoint.user = *std::move(user);
    endpoint.password = *std::move(password);
  }
  absl::string_view hostport = rest;
  if (const std::size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    const absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &endpoint.db) || endpoint.db < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-url: the database must be a number >= 0, got '", db, "'"));
    }
  }
  if (const std::size_t colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    const absl::string_view port = hostport.substr(colon + 1);
    if (!absl::SimpleAtoi(port, &endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-url: the port must be 1..65535, got '", port, "'"));
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return absl::InvalidArgumentError("--redis-url: the host is missing");
  endpoint.host = std::string(hostport);
  return endpoint;
}

namespace {

std::string ErrnoText(int error) { return std::generic_category().message(error); }

// The first queued OpenSSL error as text (the root cause); clears the queue.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFor(int fd, short events, absl::Time deadline, absl::string_view doing) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat("Redis ", doing, " timed out"));
    }
    pollfd wanted{.fd = fd, .events = events, .revents = 0};
    const int ready = poll(&wanted, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("Redis ", doing, " failed: ", ErrnoText(errno)));
    }
  }
}

// Same options hiredis sets on its own sockets: no Nagle delay for small pipelined writes, and
// keepalive so a silently vanished peer is noticed even when no command is in flight.
void TuneSocket(int fd) {
  const int on = 1;
  const int idle_seconds = 15;
  const int probe_seconds = 5;
  const int probes = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_seconds, sizeof(idle_seconds));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &probe_seconds, sizeof(probe_seconds));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
}

// A non-blocking TCP connection to the first address of `host` that answers before `deadline`.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, absl::Time deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (const int error = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); error != 0) {
    return absl::UnavailableError(
        absl::StrCat("Redis connect failed: cannot resolve ", host, ": ", gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  std::string last_error = "no address";
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address->ai_protocol);
    if (fd < 0) {
      last_error = ErrnoText(errno);
      continue;
    }
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) return fd;
    if (errno == EINPROGRESS) {
      if (absl::Status ready = WaitFor(fd, POLLOUT, deadline, "connect"); !ready.ok()) {
        close(fd);
        return ready;
      }
      int error = 0;
      socklen_t length = sizeof(error);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0) return fd;
      last_error = ErrnoText(error);
    } else {
      last_error = ErrnoText(errno);
    }
    close(fd);
  }
  return absl::UnavailableError(absl::StrCat("Redis connect failed: ", last_error));
}

// OpenSSL's own socket BIO writes with write(): a write to a Redis that just went away would
// raise SIGPIPE and kill the process. This one sends with MSG_NOSIGNAL so it fails with EPIPE.
int SocketBioWrite(BIO* bio, const char* data, int length) {
  const int fd = *static_cast<const int*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t sent = send(fd, data, static_cast<std::size_t>(length), MSG_NOSIGNAL);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(sent);
}

int SocketBioRead(BIO* bio, char* data, int length) {
  const int fd = *static_cast<const int*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t received = recv(fd, data, static_cast<std::size_t>(length), 0);
  if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_read(bio);
  }
  return static_cast<int>(received);
}

long SocketBioControl(BIO* /*bio*/, int command, long /*number*/,  // NOLINT(google-runtime-int)
                      void* /*pointer*/) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* SocketBioMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* created =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ota redis socket");
    BIO_meth_set_write(created, &SocketBioWrite);
    BIO_meth_set_read(created, &SocketBioRead);
    BIO_meth_set_ctrl(created, &SocketBioControl);
    return created;
  }();
  return method;
}

bool IsIpLiteral(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> ignored{};
  return inet_pton(AF_INET, name.c_str(), ignored.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), ignored.data()) == 1;
}

struct SslContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct ReaderFree {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};

// Verification against `options`: the CA file or the system store, TLS 1.2 at least, and our
// client certificate when mutual TLS is configured.
absl::StatusOr<std::unique_ptr<SSL_CTX, SslContextFree>> MakeTlsContext(
    const RedisTlsOptions& options) {
  std::unique_ptr<SSL_CTX, SslContextFree> context(SSL_CTX_new(TLS_client_method()));
  if (context == nullptr) return absl::InternalError("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = options.ca_file.empty() ? SSL_CTX_set_default_verify_paths(context.get())
                                             : SSL_CTX_load_verify_locations(
                                                   context.get(), options.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot load the Redis CA certificates from ",
        options.ca_file.empty() ? "the system store" : options.ca_file, ": ", OpenSslError()));
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context.get(), options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(context.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(context.get()) != 1) {
      return absl::FailedPreconditionError(absl::StrCat("cannot load the Redis client certificate ",
                                                        options.cert_file, " / key ",
                                                        options.key_file, ": ", OpenSslError()));
    }
  }
  return context;
}

}  // namespace

// rediss://: our own non-blocking socket and OpenSSL session, every operation bounded by a
// deadline; hiredis only encodes commands and decodes replies.
class RedisConnection::TlsSession {
 public:
  static absl::StatusOr<std::unique_ptr<TlsSession>> Connect(const RedisEndpoint& endpoint,
                                                             absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<std::unique_ptr<SSL_CTX, SslContextFree>> context =
        MakeTlsContext(endpoint.tls_options);
    if (!context.ok()) return context.status();
    absl::StatusOr<int> fd = ConnectTcp(endpoint.host, endpoint.port, deadline);
    if (!fd.ok()) return fd.status();
    std::unique_ptr<TlsSession> session(new TlsSession(*fd, timeout));
    TuneSocket(session->fd_);
    session->context_ = *std::move(context);
    session->ssl_.reset(SSL_new(session->context_.get()));
    session->reader_.reset(redisReaderCreate());
    if (session->ssl_ == nullptr || session->reader_ == nullptr) {
      return absl::ResourceExhaustedError("cannot allocate a Redis TLS session");
    }
    BIO* bio = BIO_new(SocketBioMethod());
    if (bio == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis TLS socket");
    BIO_set_data(bio, &session->fd_);
    BIO_set_init(bio, 1);
    SSL_set_bio(session->ssl_.get(), bio, bio);  // the session owns the BIO from here

    const std::string& name =
        endpoint.tls_options.server_name.empty() ? endpoint.host : endpoint.tls_options.server_name;
    SSL* ssl = session->ssl_.get();
    bool named = false;
    if (IsIpLiteral(name)) {
      // An IP must be among the certificate's IP SANs; SNI never carries IPs (RFC 6066).
      named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion. OpenSSL copies
      // the name.
      std::string sni = name;
      named =
          SSL_set1_host(ssl, name.c_str()) == 1 &&
          SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni.data()) == 1;
    }
    if (!named) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot use '", name, "' as the Redis TLS server name"));
    }
    absl::StatusOr<int> handshake =
        session->Drive([ssl] { return SSL_connect(ssl); }, "TLS handshake", deadline);
    if (!handshake.ok()) return handshake.status();
    return session;
  }

  ~TlsSession() {
    // Best effort close_notify: the socket is non-blocking, so this never waits.
    if (ssl_ != nullptr && SSL_is_init_finished(ssl_.get()) == 1) SSL_shutdown(ssl_.get());
    ERR_clear_error();
    ssl_.reset();
    close(fd_);
  }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) {
    const absl::Time deadline = absl::Now() + timeout_;
    absl::StatusOr<std::string> encoded = EncodeCommands(commands);
    if (!encoded.ok()) return encoded.status();
    const std::string& wire = *encoded;
    SSL* ssl = ssl_.get();
    for (std::size_t written = 0; written < wire.size();) {
      const int chunk = static_cast<int>(std::min<std::size_t>(wire.size() - written, INT_MAX));
      const char* from = wire.data() + written;
      absl::StatusOr<int> sent =
          Drive([ssl, from, chunk] { return SSL_write(ssl, from, chunk); }, "write", deadline);
      if (!sent.ok()) return sent.status();
      written += static_cast<std::size_t>(*sent);
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    std::array<char, kReadChunk> buffer{};
    while (replies.size() < commands.size()) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
        return absl::UnavailableError(
            absl::StrCat("Redis read failed: protocol error: ", reader_->errstr));
      }
      if (raw != nullptr) {
        replies.push_back(Convert(*static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
        continue;
      }
      char* into = buffer.data();
      absl::StatusOr<int> received =
          Drive([ssl, into] { return SSL_read(ssl, into, static_cast<int>(kReadChunk)); }, "read",
                deadline);
      if (!received.ok()) return received.status();
      if (redisReaderFeed(reader_.get(), buffer.data(), static_cast<std::size_t>(*received)) !=
          REDIS_OK) {
        return absl::UnavailableError(
            absl::StrCat("Redis read failed: protocol error: ", reader_->errstr));
      }
    }
    return replies;
  }

 private:
  TlsSession(int fd, absl::Duration timeout) : fd_(fd), timeout_(timeout) {}

  // Repeats one OpenSSL call, waiting on the socket as it asks, until it succeeds, fails or
  // `deadline` passes.
  template <typename Call>
  absl::StatusOr<int> Drive(Call call, absl::string_view doing, absl::Time deadline) {
    while (true) {
      ERR_clear_error();
      const int result = call();
      if (result > 0) return result;
      const int error = SSL_get_error(ssl_.get(), result);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        const short events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        if (absl::Status ready = WaitFor(fd_, events, deadline, doing); !ready.ok()) return ready;
        continue;
      }
      return Failure(doing, error);
    }
  }

  absl::Status Failure(absl::string_view doing, int error) {
    const long verified = SSL_get_verify_result(ssl_.get());  // NOLINT(google-runtime-int)
    if (verified != X509_V_OK) {
      const bool wrong_name =
          verified == X509_V_ERR_HOSTNAME_MISMATCH || verified == X509_V_ERR_IP_ADDRESS_MISMATCH;
      ERR_clear_error();
      return absl::UnavailableError(absl::StrCat(
          "Redis TLS certificate rejected: ", X509_verify_cert_error_string(verified),
          wrong_name ? " (the certificate does not name the host connected to; see "
                       "--redis-tls-server-name)"
                     : " (is it signed by the CA of --redis-ca-file, or the system store?)"));
    }
    std::string detail;
    if (error == SSL_ERROR_ZERO_RETURN) {
      detail = "Redis closed the connection";
    } else if (error == SSL_ERROR_SYSCALL) {
      detail = errno != 0 ? ErrnoText(errno) : "connection closed";
      ERR_clear_error();
    } else {
      detail = OpenSslError();
    }
    return absl::UnavailableError(absl::StrCat("Redis ", doing, " failed: ", detail));
  }

  int fd_;
  absl::Duration timeout_;
  std::unique_ptr<SSL_CTX, SslContextFree> context_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::unique_ptr<redisReader, ReaderFree> reader_;
};

RedisConnection::RedisConnection(redisContext* context) : context_(context) {}

RedisConnection::RedisConnection(std::unique_ptr<TlsSession> tls) : tls_(std::move(tls)) {}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Open(
    const RedisEndpoint& endpoint, absl::Duration timeout) {
  std::unique_ptr<RedisConnection> connection;
  if (endpoint.tls) {
    absl::StatusOr<std::unique_ptr<TlsSession>> session = TlsSession::Connect(endpoint, timeout);
    if (!session.ok()) return session.status();
    connection.reset(new RedisConnection(*std::move(session)));
  } else {
    redisContext* context =
        redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, absl::ToTimeval(timeout));
    if (context == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis context");
    connection.reset(new RedisConnection(context));
    if (context->err != 0) return connection->IoError("connect");
    if (redisSetTimeout(context, absl::ToTimeval(timeout)) != REDIS_OK) {
      return connection->IoError("set timeout");
    }
    // Keepalive notices a silently vanished peer even when no command is in flight.
    redisEnableKeepAlive(context);
  }
  if (absl::Status ready = connection->AuthenticateAndSelect(endpoint); !ready.ok()) return ready;
  return connection;
}

absl::Status RedisConnection::AuthenticateAndSelect(const RedisEndpoint& endpoint) {
  if (!endpoint.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    absl::StatusOr<RedisReply> reply = Command(auth);
    if (!reply.ok()) return reply.status();
    // Redis's own message names neither the user nor the password.
    if (reply->is_error()) {
      return absl::PermissionDeniedError(absl::StrCat("Redis refused AUTH: ", reply->text));
    }
  }
  if (endpoint.db != 0) {
    absl::StatusOr<RedisReply> reply = Command({"SELECT", absl::StrCat(endpoint.db)});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Redis refused SELECT ", endpoint.db, ": ", reply->text));
    }
  }
  return absl::OkStatus();
}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

absl::Status RedisConnection::IoError(absl::string_view doing) const {
  const std::string detail = context_->errstr[0] != '\0' ? context_->errstr : "unknown error";
  return absl::UnavailableError(absl::StrCat("Redis ", doing, " failed: ", detail));
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (tls_ != nullptr) return tls_->Pipeline(commands);
  absl::StatusOr<std::string> wire = EncodeCommands(commands);
  if (!wire.ok()) return wire.status();
  if (redisAppendFormattedCommand(context_, wire->data(), wire->size()) != REDIS_OK) {
    return IoError("write");
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return IoError("read");
    replies.push_back(Convert(*static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<RedisReply>> replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

}  // namespace ota
