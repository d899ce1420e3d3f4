#include "emulator/emulator_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "emulator/accept_stamping_pool.h"
#include "emulator/open_connections.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/base/exclusive_port.h"

namespace ota {
namespace {

constexpr absl::Duration kNonceRetention = absl::Minutes(15);
// Connections the kernel completes before the listening thread accepts them. cpp-httplib listens
// with a backlog of 5: a burst of new connections overflowed it, and the dropped handshakes were
// retried by the clients' kernels tens of milliseconds to a second later, so the record showed
// arrivals the clients never sent that way.
constexpr int kListenBacklog = 1024;

// When the request the calling worker thread is serving reached the process (set before routing),
// in plain fields: a thread_local must not need a constructor that could throw.
struct CurrentArrival {
  std::int64_t received_us;
  bool new_connection;
};
thread_local CurrentArrival current_arrival{.received_us = 0, .new_connection = false};

// The "arrival_jitter" field of a faults document (FaultInjector knows the others): taken out of
// `doc`, so the rest parses as fault configs. The jitter is the network's, not an action's, so in
// a per-action list it may sit in any one element. Absent: off.
absl::StatusOr<absl::Duration> TakeArrivalJitter(nlohmann::json& doc) {
  absl::Duration jitter = absl::ZeroDuration();
  if (doc.is_array()) {
    for (nlohmann::json& item : doc) {
      absl::StatusOr<absl::Duration> taken = TakeArrivalJitter(item);
      if (!taken.ok()) return taken.status();
      jitter = std::max(jitter, *taken);
    }
    return jitter;
  }
  if (!doc.is_object()) return jitter;
  if (auto it = doc.find("arrival_jitter"); it != doc.end()) {
    if (!it->is_string() || !absl::ParseDuration(it->get<std::string>(), &jitter)) {
      return absl::InvalidArgumentError(
          "\"arrival_jitter\" must be a duration string like \"100ms\"");
    }
    doc.erase(it);
  }
  if (auto it = doc.find("arrival_jitter_ms"); it != doc.end()) {
    if (!it->is_number()) {
      return absl::InvalidArgumentError("\"arrival_jitter_ms\" must be a number");
    }
    jitter = absl::Milliseconds(it->get<double>());
    doc.erase(it);
  }
  if (absl::Status valid = ValidateArrivalJitter(jitter); !valid.ok()) return valid;
  return jitter;
}

// The faults as GET shows them: the configs, with the arrival jitter in the object (or in the
// first element of a per-action list).
std::string FaultsToJson(const std::vector<FaultConfig>& faults, absl::Duration arrival_jitter) {
  nlohmann::json doc = nlohmann::json::parse(FaultConfigsToJson(faults));
  nlohmann::json& holder = doc.is_array() && !doc.empty() ? doc.front() : doc;
  holder["arrival_jitter"] = absl::FormatDuration(arrival_jitter);
  return doc.dump();
}
constexpr char kJson[] = "application/json;charset=utf-8";

IncomingRequest ToIncomingRequest(const httplib::Request& req) {
  HeaderList headers(req.headers.begin(), req.headers.end());
  return MakeIncomingRequest(req.method, req.target, headers, req.body);
}

void ReplyJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
}

void ReplyControlError(httplib::Response& res, absl::string_view message) {
  ReplyJson(res, 400, nlohmann::json{{"error", message}}.dump());
}

std::string JobsToJson(const std::vector<JobSpec>& jobs) {
  nlohmann::json array = nlohmann::json::array();
  for (const JobSpec& job : jobs) {
    array.push_back({{"job_id", job.job_id},
                     {"state", JobStateName(job.state)},
                     {"iot_instance_id", job.iot_instance_id},
                     {"firmware_id", job.firmware_id}});
  }
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ConnectionKey(const std::string& remote_addr, int remote_port) {
  return absl::StrCat(remote_addr, "|", remote_port);
}

// A success answer whose JSON is padded with spaces to `size` bytes: well-formed if read whole.
std::string SuccessBodyPaddedTo(std::size_t size) {
  std::string body = R"({"RequestId":"00000000-0000-0000-0000-00000000FA17","Success":true)";
  if (body.size() + 1 < size) body.append(size - body.size() - 1, ' ');
  body.push_back('}');
  return body;
}

// Sends the headers at once and then `body` kSlowBodyChunk bytes per kSlowBodyInterval; stops
// when the client goes away.
void TrickleBody(httplib::Response& res, std::string body) {
  const std::size_t size = body.size();
  res.set_content_provider(
      size, kJson,
      [body = std::move(body)](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        const std::size_t chunk = std::min(length, kSlowBodyChunk);
        if (!sink.write(body.data() + offset, chunk)) return false;
        absl::SleepFor(kSlowBodyInterval);
        return true;
      });
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmulatorServer>> EmulatorServer::Create(
    const EmulatorOptions& options, const Clock& clock) {
  std::unique_ptr<EmulatorServer> server(new EmulatorServer(options, clock));
  if (options.record_file.empty()) {
    server->recorder_ = std::make_unique<CallRecorder>();
  } else {
    absl::StatusOr<std::unique_ptr<CallRecorder>> recorder =
        CallRecorder::WithFile(options.record_file);
    if (!recorder.ok()) return recorder.status();
    server->recorder_ = *std::move(recorder);
  }
  if (options.tls_cert_file.empty()) {
    server->http_ = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                    options.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot use TLS certificate ", options.tls_cert_file, " with its key"));
    }
    server->http_ = std::move(tls);
  }
  server->http_->new_task_queue = [threads = options.threads, &clock] {
    return new AcceptStampingPool(static_cast<std::size_t>(threads), clock);
  };
  server->http_->set_keep_alive_max_count(10000);
  // httplib sets SO_REUSEPORT by default: a second emulator on a busy port would start and take a
  // share of the calls (and keep a record of its own).
  server->http_->set_socket_options([raw = server.get()](int socket_fd) {
    SetExclusiveListenOptions(socket_fd);
    raw->listen_fd_ = socket_fd;  // only the listening socket comes here
  });
  server->InstallRoutes();
  return server;
}

EmulatorServer::EmulatorServer(const EmulatorOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      nonces_(kNonceRetention, clock),
      authenticator_(options.access_keys, options.max_skew, nonces_, clock),
      quota_(options.qps, clock),
      query_quota_(options.qps, clock),
      list_quota_(options.qps, clock),
      jobs_(options.jobs, options.iot_instances, clock),
      api_(authenticator_, {.cancel = quota_, .query = query_quota_, .list = list_quota_}, jobs_),
      faults_(options.faults),
      jitter_(options.arrival_jitter) {}

EmulatorServer::~EmulatorServer() = default;

void EmulatorServer::MarkBusy(const httplib::Request& req, bool busy) {
  const std::string key = ConnectionKey(req.remote_addr, req.remote_port);
  std::lock_guard<std::mutex> lock(busy_mu_);
  if (busy) {
    busy_connections_.insert(key);
  } else {
    busy_connections_.erase(key);
  }
}

void EmulatorServer::InstallRoutes() {
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
    const RequestArrival arrival = AcceptStampingPool::ArrivalOfCurrentRequest(clock_.Now());
    current_arrival = {.received_us = absl::ToUnixMicros(arrival.received),
                       .new_connection = arrival.new_connection};
    MarkBusy(req, true);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // httplib calls its logger once the answer has been written.
  http_->set_logger(
      [this](const httplib::Request& req, const httplib::Response&) { MarkBusy(req, false); });
  auto api = [this](const httplib::Request& req, httplib::Response& res) {
    HandleApiCall(req, res);
  };
  http_->Get("/", api);
  http_->Post("/", api);

  // What httplib itself refuses (unknown paths, unparseable requests) still gets an Alibaba-shaped
  // JSON body, so clients' error parsing is exercised the same way.
  // httplib runs this for every status >= 400, so answers that already have a body stay as they
  // are.
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const GatewayError error =
        res.status == 404
            ? GatewayError{404, "InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method."}
            : GatewayError{res.status, "BadRequest", "The request could not be processed."};
    const ApiAnswer answer = GatewayErrorAnswer(error, req.get_header_value("Host"));
    res.set_content(answer.body, kJson);
  });
  http_->Get("/_emulator/faults", [this](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, 200, FaultsToJson(faults_.GetAll(), jitter_.Get()));
  });
  http_->Post("/_emulator/faults", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json doc = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    absl::StatusOr<absl::Duration> jitter = TakeArrivalJitter(doc);
    if (!jitter.ok()) return ReplyControlError(res, jitter.status().message());
    absl::StatusOr<std::vector<FaultConfig>> configs =
        FaultConfigsFromJson(doc.is_discarded() ? req.body : doc.dump());
    if (!configs.ok()) return ReplyControlError(res, configs.status().message());
    faults_.Set(*configs);
    jitter_.Set(*jitter);
    ReplyJson(res, 200, FaultsToJson(faults_.GetAll(), *jitter));
  });
  http_->Post("/_emulator/reset", [this](const httplib::Request&, httplib::Response& res) {
    jobs_.Reset();
    faults_.Reset();
    jitter_.Reset();
    quota_.Reset();
    query_quota_.Reset();
    list_quota_.Reset();
    nonces_.Reset();
    recorder_->Clear();
    ReplyJson(res, 200, R"({"reset":true})");
  });
  http_->Get("/_emulator/calls", [this](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, 200, recorder_->ToJsonArray());
  });
  http_->Get("/_emulator/jobs", [this](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, 200, JobsToJson(jobs_.Snapshot()));
  });
  http_->Post("/_emulator/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<JobsFile> added = ParseJobsFile(req.body);
    if (!added.ok()) return ReplyControlError(res, added.status().message());
    for (const std::string& instance : added->iot_instances) jobs_.AddInstance(instance);
    for (const JobSpec& job : added->jobs) jobs_.Upsert(job);
    ReplyJson(res, 200, JobsToJson(jobs_.Snapshot()));
  });
}

void EmulatorServer::HandleApiCall(const httplib::Request& req, httplib::Response& res) {
  // The arrival jitter fault: the request reaches "Alibaba" (is counted and recorded) only after
  // its network delay, measured from when it reached this process.
  const absl::Time received = absl::FromUnixMicros(current_arrival.received_us);
  const absl::Duration jitter = jitter_.Draw(current_arrival.new_connection);
  if (const absl::Duration left = received + jitter - clock_.Now(); left > absl::ZeroDuration()) {
    absl::SleepFor(left);
  }
  CallRecord record;
  record.time_us = absl::ToUnixMicros(clock_.Now());
  record.received_us = current_arrival.received_us;
  record.arrival_jitter_micros = absl::ToInt64Microseconds(jitter);
  const IncomingRequest request = ToIncomingRequest(req);
  // Only who the call claims to be: which Action's faults apply (verified later by the API).
  const Authentication claimed = RequestAuthenticator::Identify(request);
  const FaultDecision fault = faults_.Draw(claimed.action);
  record.latency_micros = absl::ToInt64Microseconds(fault.latency);

  if (fault.answer == FaultAnswer::kNone || fault.after_apply) {
    // Handled by the API: the call counts, a cancel is applied. With after_apply the broken
    // answer below then replaces the API's, and the record keeps what the API answered.
    const ApiAnswer answer = api_.Handle(request, record);
    ReplyJson(res, answer.http_status, answer.body);
  } else {
    // A broken answer stands for a failure in front of the API: nothing is verified or changed.
    record.action = claimed.action;
    record.access_key_id = claimed.access_key_id;
    record.signature_method = claimed.signature_method;
    if (auto it = claimed.params.find("JobId"); it != claimed.params.end()) {
      record.job_id = it->second;
    }
    if (auto it = claimed.params.find("IotInstanceId"); it != claimed.params.end()) {
      record.iot_instance_id = it->second;
    }
    if (auto it = claimed.params.find("FirmwareId"); it != claimed.params.end()) {
      record.firmware_id = it->second;
    }
  }
  const char* const applied = fault.after_apply ? "_after_apply" : "";
  if (fault.answer != FaultAnswer::kNone) {
    switch (fault.answer) {
      case FaultAnswer::kStatus: {
        const ApiAnswer answer =
            GatewayErrorAnswer(InjectedStatusError(fault.status), request.Header("host"));
        record.fault = absl::StrCat("status", applied);
        record.http_status = answer.http_status;
        record.code = answer.code;
        record.request_id = answer.request_id;
        res.body.clear();
        ReplyJson(res, answer.http_status, answer.body);
        break;
      }
      case FaultAnswer::kGarbage:
        record.fault = absl::StrCat("garbage", applied);
        record.http_status = 200;
        res.status = 200;
        res.set_content("<html><body>upstream proxy error: not JSON</body></html>",
                        "text/html;charset=utf-8");
        break;
      case FaultAnswer::kReset:
        record.fault = absl::StrCat("reset", applied);
        break;
      case FaultAnswer::kSlowBody:
        record.fault = absl::StrCat("slow_body", applied);
        record.http_status = 200;
        res.status = 200;
        res.body.clear();
        TrickleBody(
            res, SuccessBodyPaddedTo(kSlowBodyChunk * static_cast<std::size_t>(kSlowBodyDuration /
                                                                               kSlowBodyInterval)));
        break;
      case FaultAnswer::kOversized:
        record.fault = absl::StrCat("oversized", applied);
        record.http_status = 200;
        res.status = 200;
        res.set_content(SuccessBodyPaddedTo(kOversizedBodyBytes), kJson);
        break;
      case FaultAnswer::kClockSkew: {
        const ApiAnswer answer = GatewayErrorAnswer(ClockSkewError(), request.Header("host"));
        record.fault = absl::StrCat("clock_skew", applied);
        record.http_status = answer.http_status;
        record.code = answer.code;
        record.request_id = answer.request_id;
        ReplyJson(res, answer.http_status, answer.body);
        break;
      }
      case FaultAnswer::kNone:
        break;
    }
  }
  // Recorded before the (possibly delayed) answer leaves: a client that got its answer finds its
  // call recorded, and a delayed call is visible while it is in flight.
  recorder_->Add(record);
  if (fault.latency > absl::ZeroDuration()) absl::SleepFor(fault.latency);
  if (fault.answer == FaultAnswer::kReset) {
    ShutdownConnection({req.local_addr, req.local_port, req.remote_addr, req.remote_port},
                       SHUT_RDWR);
    MarkBusy(req, false);  // no answer will be written, so the logger won't run
  }
}

absl::StatusOr<std::string> EmulatorServer::Bind() {
  const ListenAddress& listen = options_.listen;
  int port = listen.port;
  if (port == 0) {
    port = http_->bind_to_any_port(listen.host);
    if (port < 0) port = 0;
  } else if (!http_->bind_to_port(listen.host, port)) {
    port = 0;
  }
  // listen(2) again on the listening socket only raises its backlog.
  if (port != 0 && listen_fd_ >= 0 && ::listen(listen_fd_, kListenBacklog) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot raise the listen backlog to ", kListenBacklog, ": ",
                     std::error_code(errno, std::generic_category()).message()));
  }
  bound_port_ = port;
  const bool ipv6 = absl::StrContains(listen.host, ':');
  const std::string host = absl::StrCat(ipv6 ? "[" : "", listen.host, ipv6 ? "]" : "");
  if (port == 0) {
    return absl::UnavailableError(
        ExplainListenFailure(absl::StrCat(host, ":", listen.port), "--listen"));
  }
  return absl::StrCat(options_.tls_cert_file.empty() ? "http" : "https", "://", host, ":", port);
}

void EmulatorServer::Serve() { http_->listen_after_bind(); }

void EmulatorServer::Stop() {
  http_->stop();
  // Idle keep-alive connections would otherwise hold Serve() for the keep-alive timeout: close
  // them now. Busy ones are left alone so the calls in flight get their answers.
  const int port = bound_port_;
  if (port <= 0) return;
  std::lock_guard<std::mutex> lock(busy_mu_);
  ShutdownConnections(
      [&](const ConnectionEndpoints& c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return c.local_port == port &&
               !busy_connections_.contains(ConnectionKey(c.remote_addr, c.remote_port));
      },
      SHUT_RDWR);
}

}  // namespace ota
