#include "bench/process_probe.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ota {
namespace {

double KibLineToMib(const std::string& line) {
  std::istringstream in(line.substr(line.find(':') + 1));
  double kib = 0;
  in >> kib;
  return kib / 1024.0;
}

}  // namespace

ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return sample;
  // The command name (field 2) may contain spaces and parentheses: fields are counted from the
  // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after the state.
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return sample;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long long utime = 0;
  long long stime = 0;
  for (int i = 1; fields >> field; ++i) {
    if (i == 12) utime = std::stoll(field);
    if (i == 13) {
      stime = std::stoll(field);
      break;
    }
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = static_cast<double>(utime + stime) / ticks;

  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_mib = KibLineToMib(line);
    if (line.rfind("VmHWM:", 0) == 0) sample.peak_rss_mib = KibLineToMib(line);
    if (line.rfind("Threads:", 0) == 0) sample.threads = std::stoi(line.substr(8));
  }
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(dir + "/task", error)) {
    std::ifstream task_status(task.path() / "status");
    for (std::string line; std::getline(task_status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        sample.context_switches += std::stoll(line.substr(line.find(':') + 1));
      }
    }
  }
  sample.ok = true;
  return sample;
}

}  // namespace ota
