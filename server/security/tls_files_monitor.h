// TlsFilesMonitor: keeps an eye on the gRPC port's TLS files between gRPC's own reloads.
//
// gRPC 1.51's file watcher (grpc_tls_credentials.h) loads whatever is on disk every
// --tls-reload-interval, without checking it: a key that does not belong to the certificate makes
// every new handshake fail until the files are fixed (connections already open keep working). It
// cannot be told to reload now, nor to refuse a bad set. This monitor checks the same files on the
// same interval (and on SIGHUP, through CheckNow) and logs each change of state once: a new valid
// certificate noticed, or the files turning invalid (an error naming the problem), or valid again.
//
//   ota::TlsFilesMonitor monitor(files, absl::Seconds(10));  // starts its thread
//   monitor.CheckNow("SIGHUP");                               // logs the result whatever it is
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "server/security/grpc_tls_credentials.h"

namespace ota {

class TlsFilesMonitor {
 public:
  // `last_summary` is the start-up check's result, so an unchanged set is not logged again.
  TlsFilesMonitor(GrpcTlsFiles files, absl::Duration interval, std::string last_summary);
  ~TlsFilesMonitor();
  TlsFilesMonitor(const TlsFilesMonitor&) = delete;
  TlsFilesMonitor& operator=(const TlsFilesMonitor&) = delete;

  // Checks the files now and logs the result even if nothing changed; `why` names the trigger.
  void CheckNow(const std::string& why);

 private:
  void Check(bool always_log, const std::string& why);

  const GrpcTlsFiles files_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;   // guarded by mu_
  std::string last_state_;  // guarded by mu_: the last summary, or "invalid: <error>"
  std::thread thread_;
};

}  // namespace ota
