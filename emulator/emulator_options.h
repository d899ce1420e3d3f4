// EmulatorOptions: iot-emulator's configuration, and how its command-line flags turn into it.
//
// The flags themselves are defined in emulator_options.cc (see `iot-emulator --help`); the parsers
// for their value syntaxes are exposed for tests:
//   --listen HOST:PORT                          ParseListenAddress
//   --access-key ID:SECRET[:ACCOUNT[:TOKEN]]    ParseAccessKeySpec   (repeatable)
//   --job ID=STATE[@INSTANCE][#FIRMWARE]        ParseJobSpec         (repeatable)
//   --jobs-file FILE                            ParseJobsFile
//
//   std::vector<std::string> storage;
//   std::vector<char*> args = ota::JoinRepeatedFlags(argc, argv, {"access_key", "job"}, storage);
//   absl::ParseCommandLine(...);
//   absl::StatusOr<ota::EmulatorOptions> options = ota::EmulatorOptionsFromFlags();
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "emulator/arrival_jitter.h"
#include "emulator/fault_injector.h"
#include "emulator/job_table.h"
#include "emulator/request_authenticator.h"

namespace ota {

struct ListenAddress {
  std::string host;  // without brackets for IPv6
  int port = 0;      // 0: pick a free port
};

struct EmulatorOptions {
  ListenAddress listen{.host = "127.0.0.1", .port = 18080};
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  std::vector<AccessKey> access_keys;
  int qps = 10;  // per account; 0 = unlimited
  std::vector<JobSpec> jobs;
  std::vector<std::string> iot_instances;
  absl::Duration max_skew = absl::Minutes(15);
  FaultConfig faults;
  absl::Duration arrival_jitter = absl::ZeroDuration();  // see ArrivalJitter
  std::string record_file;
  int threads = 128;  // HTTP worker threads (each keep-alive connection holds one while open)
};

// How many dynamic demo jobs there are: demo-dynamic-0001 .. demo-dynamic-0020.
inline constexpr int kDemoDynamicJobs = 20;
// The firmware every demo job pushes, so ListOTAJobByFirmware has something to list out of the box.
inline constexpr absl::string_view kDemoFirmwareId = "demo-firmware-0001";
// The demo jobs, always served (--job and --jobs-file add to them): kDemoDynamicJobs dynamic ones,
// demo-static-0001 and demo-finished-0001, none in an instance, all of kDemoFirmwareId.
[[nodiscard]] std::vector<JobSpec> DefaultDemoJobs();
// The demo AccessKey (demo_credentials/demo_credentials.h) served when no --access-key is given.
[[nodiscard]] AccessKey DemoAccessKey();

// "127.0.0.1:18080", "[::1]:18080", "localhost:0".
[[nodiscard]] absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);
// "ID:SECRET", "ID:SECRET:ACCOUNT" or "ID:SECRET:ACCOUNT:STS_TOKEN"; the account defaults to the
// id, so keys without an account each get their own quota. Errors never echo the secret.
[[nodiscard]] absl::StatusOr<AccessKey> ParseAccessKeySpec(absl::string_view text);
// "ID=STATE", "ID=STATE@INSTANCE", either followed by "#FIRMWARE".
[[nodiscard]] absl::StatusOr<JobSpec> ParseJobSpec(absl::string_view text);

struct JobsFile {
  std::vector<JobSpec> jobs;
  std::vector<std::string> iot_instances;
};
// {"jobs": [{"job_id": "j1", "state": "dynamic", "iot_instance_id": "iot-1",
//            "firmware_id": "fw-1"}, ...],
//  "iot_instances": ["iot-2"]}; "iot_instance_id", "firmware_id" and "iot_instances" are optional.
[[nodiscard]] absl::StatusOr<JobsFile> ParseJobsFile(absl::string_view json);

// Abseil keeps only the last value of a flag given several times. For each flag in `names`
// (underscore spelling, after NormalizeFlagNames), this folds every occurrence, "--name=v" or
// "--name v", into one "--name=v1,v2" placed at the first occurrence. Nothing after "--" is
// touched.
[[nodiscard]] std::vector<char*> JoinRepeatedFlags(int argc, char** argv,
                                                   const std::vector<std::string>& names,
                                                   std::vector<std::string>& storage);

// Reads the parsed flags (and the jobs file they name) into options, validating everything.
[[nodiscard]] absl::StatusOr<EmulatorOptions> EmulatorOptionsFromFlags();

}  // namespace ota
