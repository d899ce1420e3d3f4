// ProcessProbe: reads another process's CPU time, memory and thread count from /proc, so a
// benchmark can charge costs to the process under test and not to the load generator.
//
//   ota::ProcessSample before = ota::SampleProcess(pid);
//   ... run load ...
//   ota::ProcessSample after = ota::SampleProcess(pid);
//   double cpu = after.cpu_seconds - before.cpu_seconds;
#pragma once

#include <sys/types.h>

namespace ota {

struct ProcessSample {
  bool ok = false;          // false once the process is gone
  double cpu_seconds = 0;   // user + system, all threads, since the process started
  double rss_mib = 0;       // resident set now (VmRSS)
  double peak_rss_mib = 0;  // high-water mark of the resident set (VmHWM)
  int threads = 0;
  // Voluntary + involuntary context switches of all its live threads: each hand-off of a call
  // between threads costs one, so switches per call show how many hand-offs a call takes.
  long long context_switches = 0;
};

[[nodiscard]] ProcessSample SampleProcess(pid_t pid);

}  // namespace ota
