#include "emulator/emulator_options.h"

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "demo_credentials/demo_credentials.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, listen, "127.0.0.1:18080",
          "HOST:PORT to serve on (PORT 0 picks a free port; the ready line names it).");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate file; with --tls-key, serve HTTPS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key file for --tls-cert.");
ABSL_FLAG(std::vector<std::string>, access_key, {},
          "Accepted AccessKey as ID:SECRET[:ACCOUNT[:STS_TOKEN]]; repeatable. The quota is "
          "counted per ACCOUNT (default: the key id). Default: the demo key "
          "EMULATORDEMOKEYID0001 (see demo_credentials/demo_credentials.h).");
ABSL_FLAG(int, qps, 10,
          "Calls admitted per account within any sliding 1-second window (0 = unlimited); more "
          "are answered Throttling.User.");
ABSL_FLAG(std::vector<std::string>, job, {},
          "An OTA batch as ID=STATE[@INSTANCE][#FIRMWARE], STATE one of "
          "dynamic|static|finished|cancelled, FIRMWARE the FirmwareId ListOTAJobByFirmware lists "
          "it under; repeatable. Added to the demo jobs (demo-dynamic-0001..0020, "
          "demo-static-0001, demo-finished-0001, all of firmware demo-firmware-0001); a job with "
          "a demo job's id replaces it.");
ABSL_FLAG(std::string, jobs_file, "",
          "JSON file of jobs: {\"jobs\":[{\"job_id\":..,\"state\":..}],\"iot_instances\":[..]}, a "
          "job optionally with \"iot_instance_id\" and \"firmware_id\". Added to the demo jobs, "
          "like --job.");
ABSL_FLAG(std::vector<std::string>, iot_instance, {},
          "A known IotInstanceId (instances named by jobs are known too); repeatable.");
ABSL_FLAG(absl::Duration, max_skew, absl::Minutes(15),
          "Largest accepted difference between a request's timestamp and the emulator's clock.");
ABSL_FLAG(absl::Duration, fault_latency, absl::ZeroDuration(),
          "Fault: delay answers by this long (e.g. 300ms).");
ABSL_FLAG(int, fault_status, 0,
          "Fault: answer with this HTTP status (e.g. 500, 503) and an Alibaba-shaped error body.");
ABSL_FLAG(bool, fault_reset, false, "Fault: close the connection without answering.");
ABSL_FLAG(bool, fault_garbage, false, "Fault: answer HTTP 200 with a body that is not JSON.");
ABSL_FLAG(bool, fault_slow_body, false,
          "Fault: answer HTTP 200 headers at once, then trickle the body a few bytes at a time "
          "for about 30 s.");
ABSL_FLAG(bool, fault_oversized, false, "Fault: answer HTTP 200 with a 2 MiB JSON body.");
ABSL_FLAG(
    bool, fault_clock_skew, false,
    "Fault: answer InvalidTimeStamp.Expired, as Alibaba does when the caller's clock is off.");
ABSL_FLAG(double, fault_rate, 1.0, "Probability 0..1 that a call is hit by the configured faults.");
ABSL_FLAG(absl::Duration, fault_arrival_jitter, absl::ZeroDuration(),
          "Fault: delay each call's arrival (before it is counted against the quota) by a random "
          "0..D, plus another 0..D for the first call of a new connection, as network paths and "
          "Alibaba's front ends do; applies to every call, whatever --fault-rate says.");
ABSL_FLAG(bool, fault_after_apply, false,
          "Fault: let the API handle the call first (a cancel is applied), then give the broken "
          "answer instead of Alibaba's: the answer is lost after the cancel took effect.");
ABSL_FLAG(std::string, fault_action, "",
          "Fault: hit only calls of this Action (CancelOTAStrategyByJob or QueryOTAJob); empty: "
          "every call.");
ABSL_FLAG(std::string, record_file, "",
          "Append every API call received to this file, one JSON object per line.");
ABSL_FLAG(int, threads, 128,
          "HTTP worker threads; each open keep-alive connection occupies one (a connection beyond "
          "them waits for a worker, though its arrival is still recorded when it came).");

namespace ota {

std::vector<JobSpec> DefaultDemoJobs() {
  std::vector<JobSpec> jobs;
  for (int n = 1; n <= kDemoDynamicJobs; ++n) {
    jobs.push_back({.job_id = absl::StrFormat("demo-dynamic-%04d", n),
                    .state = JobState::kDynamic,
                    .iot_instance_id = "",
                    .firmware_id = std::string(kDemoFirmwareId)});
  }
  jobs.push_back({.job_id = "demo-static-0001",
                  .state = JobState::kStatic,
                  .iot_instance_id = "",
                  .firmware_id = std::string(kDemoFirmwareId)});
  jobs.push_back({.job_id = "demo-finished-0001",
                  .state = JobState::kFinished,
                  .iot_instance_id = "",
                  .firmware_id = std::string(kDemoFirmwareId)});
  return jobs;
}

AccessKey DemoAccessKey() {
  return {.id = std::string(kDemoAccessKeyId),
          .secret = std::string(kDemoAccessKeySecret),
          .account = std::string(kDemoAccount),
          .security_token = ""};
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be HOST:PORT, got \"", text, "\""));
  }
  ListenAddress out;
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.host = std::string(host);
  if (!absl::SimpleAtoi(text.substr(colon + 1), &out.port) || out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen port must be 0..65535, got \"", text.substr(colon + 1), "\""));
  }
  return out;
}

absl::StatusOr<AccessKey> ParseAccessKeySpec(absl::string_view text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() < 2 || parts.size() > 4 || parts[0].empty() || parts[1].empty()) {
    // Nothing of the value is echoed: any part of it may be a secret.
    return absl::InvalidArgumentError("--access-key must be ID:SECRET[:ACCOUNT[:STS_TOKEN]]");
  }
  AccessKey key{.id = parts[0], .secret = parts[1], .account = parts[0], .security_token = ""};
  if (parts.size() >= 3 && !parts[2].empty()) key.account = parts[2];
  if (parts.size() == 4) key.security_token = parts[3];
  return key;
}

absl::StatusOr<JobSpec> ParseJobSpec(absl::string_view text) {
  const std::pair<absl::string_view, absl::string_view> id_rest =
      absl::StrSplit(text, absl::MaxSplits('=', 1));
  // The firmware comes last ("#FIRMWARE"), so an instance id never has to be told from it.
  const std::pair<absl::string_view, absl::string_view> placement_firmware =
      absl::StrSplit(id_rest.second, absl::MaxSplits('#', 1));
  const bool has_firmware = absl::StrContains(id_rest.second, '#');
  if (id_rest.first.empty() || id_rest.second.empty() ||
      (has_firmware && placement_firmware.second.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--job must be ID=STATE[@INSTANCE][#FIRMWARE], got \"", text, "\""));
  }
  const std::pair<absl::string_view, absl::string_view> state_instance =
      absl::StrSplit(placement_firmware.first, absl::MaxSplits('@', 1));
  absl::StatusOr<JobState> state = ParseJobState(state_instance.first);
  if (!state.ok()) return state.status();
  return JobSpec{.job_id = std::string(id_rest.first),
                 .state = *state,
                 .iot_instance_id = std::string(state_instance.second),
                 .firmware_id = std::string(placement_firmware.second)};
}

absl::StatusOr<JobsFile> ParseJobsFile(absl::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("jobs file must hold a JSON object");
  JobsFile out;
  auto string_field = [](const nlohmann::json& object, const char* name) -> std::string {
    auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto jobs = doc.find("jobs"); jobs != doc.end()) {
    if (!jobs->is_array()) return absl::InvalidArgumentError("\"jobs\" must be an array");
    for (const nlohmann::json& entry : *jobs) {
      if (!entry.is_object()) return absl::InvalidArgumentError("each job must be an object");
      JobSpec job{.job_id = string_field(entry, "job_id"),
                  .state = JobState::kDynamic,
                  .iot_instance_id = string_field(entry, "iot_instance_id"),
                  .firmware_id = string_field(entry, "firmware_id")};
      if (job.job_id.empty()) return absl::InvalidArgumentError("a job lacks \"job_id\"");
      absl::StatusOr<JobState> state = ParseJobState(string_field(entry, "state"));
      if (!state.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("job \"", job.job_id, "\": ", state.status().message()));
      }
      job.state = *state;
      out.jobs.push_back(std::move(job));
    }
  }
  if (auto instances = doc.find("iot_instances"); instances != doc.end()) {
    if (!instances->is_array()) {
      return absl::InvalidArgumentError("\"iot_instances\" must be an array");
    }
    for (const nlohmann::json& id : *instances) {
      if (!id.is_string()) return absl::InvalidArgumentError("iot_instances must be strings");
      out.iot_instances.push_back(id.get<std::string>());
    }
  }
  return out;
}

std::vector<char*> JoinRepeatedFlags(int argc, char** argv, const std::vector<std::string>& names,
                                     std::vector<std::string>& storage) {
  // name -> (index in `storage` of its first occurrence, values in order)
  std::map<std::string, std::pair<std::size_t, std::vector<std::string>>> seen;
  storage.clear();
  bool after_terminator = false;
  for (int i = 0; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (i == 0 || after_terminator || arg.size() < 2 || arg[0] != '-') {
      storage.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      after_terminator = true;
      storage.emplace_back(arg);
      continue;
    }
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    const std::size_t eq = body.find('=');
    const std::string name(body.substr(0, eq));
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      storage.emplace_back(arg);
      continue;
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    auto [it, inserted] = seen.try_emplace(name, storage.size(), std::vector<std::string>{});
    it->second.second.push_back(std::move(value));
    if (inserted) storage.emplace_back();  // filled in below
  }
  for (const auto& [name, where_values] : seen) {
    storage[where_values.first] =
        absl::StrCat("--", name, "=", absl::StrJoin(where_values.second, ","));
  }
  std::vector<char*> pointers;
  pointers.reserve(storage.size());
  for (std::string& s : storage) pointers.push_back(s.data());
  return pointers;
}

absl::StatusOr<EmulatorOptions> EmulatorOptionsFromFlags() {
  EmulatorOptions options;
  absl::StatusOr<ListenAddress> listen = ParseListenAddress(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) return listen.status();
  options.listen = *listen;

  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }

  for (const std::string& spec : absl::GetFlag(FLAGS_access_key)) {
    absl::StatusOr<AccessKey> key = ParseAccessKeySpec(spec);
    if (!key.ok()) return key.status();
    options.access_keys.push_back(*std::move(key));
  }
  if (options.access_keys.empty()) options.access_keys.push_back(DemoAccessKey());

  options.qps = absl::GetFlag(FLAGS_qps);
  if (options.qps < 0) return absl::InvalidArgumentError("--qps must be >= 0");

  // The demo jobs first: a --job or jobs-file entry with the same id comes later and wins.
  options.jobs = DefaultDemoJobs();
  for (const std::string& spec : absl::GetFlag(FLAGS_job)) {
    absl::StatusOr<JobSpec> job = ParseJobSpec(spec);
    if (!job.ok()) return job.status();
    options.jobs.push_back(*std::move(job));
  }
  options.iot_instances = absl::GetFlag(FLAGS_iot_instance);
  if (const std::string path = absl::GetFlag(FLAGS_jobs_file); !path.empty()) {
    std::ifstream in(path);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read --jobs-file ", path));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<JobsFile> file = ParseJobsFile(text.str());
    if (!file.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", file.status().message()));
    }
    options.jobs.insert(options.jobs.end(), file->jobs.begin(), file->jobs.end());
    options.iot_instances.insert(options.iot_instances.end(), file->iot_instances.begin(),
                                 file->iot_instances.end());
  }

  options.max_skew = absl::GetFlag(FLAGS_max_skew);
  if (options.max_skew <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max-skew must be positive");
  }

  options.faults = FaultConfig{.latency = absl::GetFlag(FLAGS_fault_latency),
                               .status = absl::GetFlag(FLAGS_fault_status),
                               .reset = absl::GetFlag(FLAGS_fault_reset),
                               .garbage = absl::GetFlag(FLAGS_fault_garbage),
                               .slow_body = absl::GetFlag(FLAGS_fault_slow_body),
                               .oversized = absl::GetFlag(FLAGS_fault_oversized),
                               .clock_skew = absl::GetFlag(FLAGS_fault_clock_skew),
                               .rate = absl::GetFlag(FLAGS_fault_rate),
                               .after_apply = absl::GetFlag(FLAGS_fault_after_apply),
                               .action = absl::GetFlag(FLAGS_fault_action)};
  if (absl::Status valid = ValidateFaultConfig(options.faults); !valid.ok()) return valid;
  options.arrival_jitter = absl::GetFlag(FLAGS_fault_arrival_jitter);
  if (absl::Status valid = ValidateArrivalJitter(options.arrival_jitter); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--fault-arrival-jitter: ", valid.message()));
  }

  options.record_file = absl::GetFlag(FLAGS_record_file);
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  return options;
}

}  // namespace ota
