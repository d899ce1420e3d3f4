#include "server/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

constexpr absl::string_view kScheme = "redis://";

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
  return absl::StrCat("redis://", host, ":", port, "/", db,
                      password.empty() ? "" : " (password set)");
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  if (absl::StartsWith(url, "rediss://")) {
    return absl::InvalidArgumentError(
        "--redis-url: rediss:// (TLS) is not supported by the packaged hiredis 0.14; reach a TLS "
        "Redis through a local TLS tunnel (e.g. stunnel) and point --redis-url at it");
  }
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(
        "--redis-url: must look like redis://[:PASSWORD@]HOST:PORT/DB, e.g. "
        "redis://127.0.0.1:6379/0");
  }
  absl::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
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

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Open(
    const RedisEndpoint& endpoint, absl::Duration timeout) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, absl::ToTimeval(timeout));
  if (context == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis context");
  std::unique_ptr<RedisConnection> connection(new RedisConnection(context));
  if (context->err != 0) return connection->IoError("connect");
  if (redisSetTimeout(context, absl::ToTimeval(timeout)) != REDIS_OK) {
    return connection->IoError("set timeout");
  }
  // Keepalive notices a silently vanished peer even when no command is in flight.
  redisEnableKeepAlive(context);

  if (!endpoint.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    absl::StatusOr<RedisReply> reply = connection->Command(auth);
    if (!reply.ok()) return reply.status();
    // Redis's own message names neither the user nor the password.
    if (reply->is_error()) {
      return absl::PermissionDeniedError(absl::StrCat("Redis refused AUTH: ", reply->text));
    }
  }
  if (endpoint.db != 0) {
    absl::StatusOr<RedisReply> reply = connection->Command({"SELECT", absl::StrCat(endpoint.db)});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Redis refused SELECT ", endpoint.db, ": ", reply->text));
    }
  }
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

absl::Status RedisConnection::IoError(absl::string_view doing) const {
  const std::string detail = context_->errstr[0] != '\0' ? context_->errstr : "unknown error";
  return absl::UnavailableError(absl::StrCat("Redis ", doing, " failed: ", detail));
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::vector<std::string>& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return IoError("write");
    }
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
